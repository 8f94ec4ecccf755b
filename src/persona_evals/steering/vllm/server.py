"""A running ``vllm serve`` with our plugin (``-M server=http://host:port/v1``, or inspect's
``--model-base-url``), used like the
in-process engine: the same `calls.Call` sent as a ``/v1/completions`` request (prompt token ids,
the steering payload in ``vllm_xargs``), records taken through the plugin's route.

Before any generation the client calls the plugin's install route: a server without our plugin
(or whose engine cannot run the hooks: compiled, CUDA graphs) is refused there with how to start
it, so no request is ever answered unsteered under a steered label. ``VLLM_API_KEY``, when set, is
sent as the bearer token (never ``HF_TOKEN``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.vllm import wire
from persona_evals.steering.vllm.calls import Call, Completion, Lora
from persona_evals.steering.vllm.engine import Client, Taker, check_install
from persona_evals.steering.vllm.loop import LoopThread
from persona_evals.steering.vllm.plugin import INSTALL_ROUTE, TAKE_ROUTE

START_HINT = "start it with: VLLM_PLUGINS=persona_evals VLLM_USE_V2_MODEL_RUNNER=0 vllm serve MODEL --enforce-eager"
TOKEN_PREFIX = "token_id:"  # return_tokens_as_token_ids: logprob tokens as "token_id:123"


class ServerEngine(Client):
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.root = self.base.removesuffix("/v1")
        self.where = f"the vLLM server at {self.base}"
        self.thread = LoopThread("persona-evals-vllm-http")
        self._loras: set[str] = set()
        try:
            self.client = self.thread.run_sync(self._client())
            self.served = self.thread.run_sync(self._served())
            self.info = check_install(self.thread.run_sync(self._post(INSTALL_ROUTE, {}, install=True)), self.where)
        except BaseException:
            self.close()
            raise
        self._taker = Taker(self._fetch)

    async def _fetch(self, keys: list[str]) -> dict[str, wire.Record]:
        return await self._post(TAKE_ROUTE, {"keys": keys})

    async def _client(self) -> Any:
        import httpx

        key = os.environ.get("VLLM_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(None, connect=30.0))

    async def _served(self) -> str:
        import httpx

        try:
            reply = await self.client.get(f"{self.root}/v1/models")
        except httpx.HTTPError as ex:
            raise SteeringConfigError(f"server: cannot reach {self.base} ({type(ex).__name__}: {ex})") from None
        if reply.status_code != 200:
            raise SteeringConfigError(f"server: {self.base}/models answered {reply.status_code}: {reply.text[:300]}")
        return str(reply.json()["data"][0]["id"])

    async def _post(self, route: str, body: dict[str, Any], install: bool = False) -> Any:
        reply = await self.client.post(f"{self.root}{route}", json=body)
        if reply.status_code == 404 and install:
            raise SteeringConfigError(f"server: {self.where} does not run the persona-evals plugin; {START_HINT}")
        if reply.status_code != 200:
            raise RuntimeError(f"{self.where}: {route} answered {reply.status_code}: {reply.text[:500]}")
        return reply.json()

    async def _generate(self, call: Call) -> Completion:
        model = self.served if call.lora is None else await self._lora(call.lora)
        data = await self._post("/v1/completions", completion_body(call, model))
        return from_completion(data["choices"][0], call.logprobs or 0)

    async def _lora(self, lora: Lora) -> str:
        """Load the adapter into the server once (it must see the folder, and allow runtime loading)."""
        if lora.name not in self._loras:
            reply = await self.client.post(f"{self.root}/v1/load_lora_adapter", json={"lora_name": lora.name, "lora_path": lora.path})
            if reply.status_code != 200 and "already" not in reply.text:
                raise RuntimeError(
                    f"{self.where} did not load the adapter {lora.path} ({reply.status_code}: {reply.text[:300]}): the server "
                    "must see that folder and run with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or be "
                    f"started with --lora-modules {lora.name}=<the folder>"
                )
            self._loras.add(lora.name)
        return lora.name

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            try:
                self.thread.run_sync(client.aclose(), timeout=10)
            except Exception:
                pass
        self.thread.stop()


def completion_body(call: Call, model: str) -> dict[str, Any]:
    """The ``/v1/completions`` request of a `Call` (vLLM's extra fields included)."""
    import json

    body: dict[str, Any] = {
        "model": model,
        "prompt": list(call.prompt_ids),
        "max_tokens": call.max_tokens,
        "temperature": call.temperature,
        "return_token_ids": True,
        "return_tokens_as_token_ids": True,
    }
    if call.ignore_eos:
        body["ignore_eos"] = True
    if call.top_p is not None:
        body["top_p"] = call.top_p
    if call.top_k is not None:
        body["top_k"] = call.top_k
    if call.seed is not None:
        body["seed"] = call.seed
    if call.stop:
        body["stop"] = list(call.stop)
    if call.stop_token_ids:
        body["stop_token_ids"] = list(call.stop_token_ids)
    if call.logprobs is not None:
        body["logprobs"] = call.logprobs
    if call.json_schema is not None:
        body["structured_outputs"] = {"json": json.loads(call.json_schema)}
    if call.payload is not None:
        body["vllm_xargs"] = {wire.PAYLOAD_KEY: call.payload}
    if call.salt is not None:
        body["cache_salt"] = call.salt
    return body


def from_completion(choice: dict[str, Any], top: int) -> Completion:
    ids = [int(t) for t in choice["token_ids"]]
    logprobs = None
    lp = choice.get("logprobs")
    if lp is not None:
        logprobs = []
        for token, value, alts in zip(ids, lp["token_logprobs"], lp["top_logprobs"]):
            ranked = sorted(((v, int(k.removeprefix(TOKEN_PREFIX))) for k, v in (alts or {}).items()), reverse=True)[:top]
            logprobs.append((token, float(value), [(t, float(v)) for v, t in ranked]))
    return Completion(token_ids=ids, finish_reason=str(choice.get("finish_reason")), logprobs=logprobs)


_SERVERS: dict[str, ServerEngine] = {}
_LOCK = threading.Lock()


def server_engine(base_url: str) -> ServerEngine:
    """The process-wide client of the server at `base_url`."""
    with _LOCK:
        engine = _SERVERS.get(base_url)
        if engine is None:
            engine = _SERVERS[base_url] = ServerEngine(base_url)
        return engine
