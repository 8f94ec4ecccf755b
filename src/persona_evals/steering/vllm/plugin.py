"""Our vLLM plugin: the entry points vLLM loads (pyproject.toml), in every process it starts.

``vllm.general_plugins`` -> `register`: adds two RPC methods to vLLM's workers (`wire.INSTALL_RPC`
installs the steering hooks, `wire.TAKE_RPC` hands over records). Nothing else changes: an
engine runs exactly as without the plugin until a client calls the install RPC, so installing
persona-evals never slows or alters anyone's other vLLM engines.

``vllm.endpoint_plugins`` -> `endpoint`: routes on ``vllm serve`` (loaded only when
``VLLM_PLUGINS`` names ``persona_evals``, vLLM's rule for plugins that add HTTP routes) through
which the `steer` provider installs the hooks and takes records (`server.ROUTES`).
"""

from __future__ import annotations

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
