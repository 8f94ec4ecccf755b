"""Our vLLM plugin: the entry points vLLM loads (pyproject.toml), in every process it starts.

(No ``from __future__ import annotations`` here: FastAPI reads the route handlers' annotations.)

``vllm.general_plugins`` -> `register`: adds two RPC methods to vLLM's workers (`wire.INSTALL_RPC`
installs the steering hooks, `wire.TAKE_RPC` hands over records). Nothing else changes: an
engine runs exactly as without the plugin until a client calls the install RPC, so installing
persona-evals never slows or alters anyone's other vLLM engines.

``vllm.endpoint_plugins`` -> `endpoint`: routes on ``vllm serve`` (loaded only when
``VLLM_PLUGINS`` names ``persona_evals``, vLLM's rule for plugins that add HTTP routes) through
which the `steer` provider installs the hooks and takes records (`server.ROUTES`).
"""


from typing import Any

from persona_evals.steering.vllm import wire


def _install(self: Any) -> dict[str, Any]:
    from persona_evals.steering.vllm.worker import install

    return install(self)


def _take(self: Any, keys: list[str]) -> dict[str, wire.Record]:
    from persona_evals.steering.vllm.worker import take

    return take(self, keys)


def register() -> None:
    """vLLM's general-plugin hook (run in the API process, the engine core and each worker)."""
    from vllm.v1.worker.worker_base import WorkerBase

    for name, method in ((wire.INSTALL_RPC, _install), (wire.TAKE_RPC, _take)):
        if not hasattr(WorkerBase, name):
            setattr(WorkerBase, name, method)


INSTALL_ROUTE = "/v1/persona_evals/install"
TAKE_ROUTE = "/v1/persona_evals/take"
"""Under /v1, so a server started with --api-key guards them like its other routes."""


class SteeringEndpoints:
    """vLLM's endpoint-plugin contract (`vllm.plugins.endpoint_plugins.interface.EndpointPlugin`):
    two routes that reach the workers through the engine client's RPC, as vLLM's own routes do."""

    name = "persona_evals"
    required_tasks = ("generate",)

    def attach_router(self, app: Any) -> None:
        from fastapi import Request

        async def install(request: Request) -> Any:
            return await request.app.state.persona_evals_engine.collective_rpc(wire.INSTALL_RPC)

        async def take(request: Request) -> Any:
            keys = (await request.json()).get("keys", [])
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                from fastapi import HTTPException

                raise HTTPException(status_code=400, detail="keys must be a list of strings")
            replies = await request.app.state.persona_evals_engine.collective_rpc(wire.TAKE_RPC, args=(keys,))
            return wire.merge_records(replies)

        app.add_api_route(INSTALL_ROUTE, install, methods=["POST"])
        app.add_api_route(TAKE_ROUTE, take, methods=["POST"])

    async def init_state(self, engine_client: Any, state: Any, args: Any) -> None:
        state.persona_evals_engine = engine_client


def endpoint() -> SteeringEndpoints:
    """vLLM's endpoint-plugin hook (the API server process, when VLLM_PLUGINS names persona_evals)."""
    return SteeringEndpoints()
