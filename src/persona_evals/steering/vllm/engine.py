"""vLLM's engine in this process (`AsyncLLM`: its engine core and workers are processes it spawns),
shared by every `steer` instance with the same engine arguments, like `loading.load_shared`.

Each engine lives on its own loop thread (`loop.LoopThread`); `generate` and `take` are awaited
from the provider's loop. After the engine starts, one RPC installs our steering hooks in every
worker (`worker.install`); an engine that cannot run them (compiled, CUDA graphs, V2 model runner)
is refused with vLLM's setting to change, before any generation.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.vllm import wire
from persona_evals.steering.vllm.calls import Call, Completion, from_request_output, sampling_params
from persona_evals.steering.vllm.loop import LoopThread

# Set for the engines this process starts (a user's own value wins): our hooks read the V1 model
# runner's batch, and vLLM's INFO lines would bury inspect's display.
ENGINE_ENV = {"VLLM_USE_V2_MODEL_RUNNER": "0", "VLLM_LOGGING_LEVEL": "WARNING"}


class Taker:
    """Records of finished requests, fetched for many keys at once: a request that finishes while
    a fetch runs joins the next one (one RPC or HTTP call per wave, not per request)."""

    def __init__(self, fetch: Callable[[list[str]], Awaitable[dict[str, wire.Record]]]) -> None:
        self._fetch = fetch
        self._pending: dict[str, asyncio.Future[wire.Record | None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def take(self, key: str) -> wire.Record | None:
        future: asyncio.Future[wire.Record | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                records = await self._fetch(list(batch))
            except Exception as ex:  # every waiter of this wave gets the error
                for f in batch.values():
                    if not f.done():
                        f.set_exception(ex)
                continue
            for key, f in batch.items():
                if not f.done():
                    f.set_result(records.get(key))


def check_install(replies: Sequence[dict[str, Any]] | dict[str, Any], where: str) -> dict[str, Any]:
    """The install RPC's replies (one per worker): every worker must run the hooks."""
    replies = [replies] if isinstance(replies, dict) else list(replies)
    for reply in replies:
        if not reply.get("ok"):
            raise SteeringConfigError(f"engine: {where} cannot steer: {reply.get('reason')}")
        if reply.get("version") != wire.VERSION:
            raise SteeringConfigError(
                f"engine: {where} runs persona-evals steering version {reply.get('version')}, this client "
                f"writes version {wire.VERSION}: install the same persona-evals on both sides"
            )
    return replies[0]


class Client:
    """What the backend calls on an engine or a server: `generate` and `take` (awaited from any
    event loop), `run_calls` (blocking). Subclasses run `_generate` and `_fetch` on `thread`."""

    where: str
    thread: LoopThread
    info: dict[str, Any]
    _taker: Taker

    async def _generate(self, call: Call) -> Completion:
        raise NotImplementedError

    async def _fetch(self, keys: list[str]) -> dict[str, wire.Record]:
        raise NotImplementedError

    async def generate(self, call: Call) -> Completion:
        return await self.thread.run(self._generate(call))

    async def take(self, key: str) -> wire.Record | None:
        return await self.thread.run(self._taker.take(key))

    def run_calls(self, calls: Sequence[Call]) -> list[tuple[Completion, wire.Record | None]]:
        """Run `calls` concurrently and take each one's record, blocking (not from the engine's loop)."""

        async def one(call: Call) -> tuple[Completion, wire.Record | None]:
            done = await self._generate(call)
            key = wire.decode_request(call.payload).key if call.payload else None
            return done, (await self._taker.take(key) if key else None)

        async def every() -> list[tuple[Completion, wire.Record | None]]:
            return list(await asyncio.gather(*[one(c) for c in calls]))

        return self.thread.run_sync(every())


class InProcessEngine(Client):
    """One `AsyncLLM` on its own loop thread, with our hooks installed."""

    where = "the vLLM engine"

    def __init__(self, args: dict[str, Any]) -> None:
        for k, v in ENGINE_ENV.items():
            os.environ.setdefault(k, v)
        self.args = dict(args)
        self.thread = LoopThread("persona-evals-vllm")
        print(f"persona-evals: starting vLLM for {args.get('model')} (30-75 s on a CPU) ...", file=sys.stderr, flush=True)
        try:
            self.llm = self.thread.run_sync(self._start())
            replies = self.thread.run_sync(self.llm.collective_rpc(wire.INSTALL_RPC))
            self.info = check_install(replies, self.where)
        except BaseException:
            self.close()
            raise
        self._taker = Taker(self._fetch)

    async def _start(self) -> Any:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        try:
            engine_args = AsyncEngineArgs(**self.args)
            config = engine_args.create_engine_config()  # vLLM's checks of the model and args, here
        except (ValueError, TypeError, OSError) as ex:
            errors = getattr(ex, "errors", None)  # pydantic: its messages, without the echo of every argument
            reason = "; ".join(str(e.get("msg")) for e in errors()) if callable(errors) else str(ex)
            raise SteeringConfigError(f"engine=vllm: vLLM cannot run {self.args.get('model')}: {reason}") from None
        from vllm.v1.executor import Executor

        try:
            return AsyncLLM(
                vllm_config=config,
                executor_class=Executor.get_class(config),
                log_requests=False,
                log_stats=False,
            )
        except RuntimeError as ex:
            raise RuntimeError(
                f"engine=vllm: vLLM's engine did not start for {self.args.get('model')} ({ex}); "
                "its own reason is in the log lines above"
            ) from None

    async def _generate(self, call: Call) -> Completion:
        from vllm.inputs.engine import tokens_input
        from vllm.lora.request import LoRARequest

        prompt = tokens_input(list(call.prompt_ids), cache_salt=call.salt)
        lora = None if call.lora is None else LoRARequest(call.lora.name, call.lora.int_id, call.lora.path)
        final = None
        async for out in self.llm.generate(prompt, sampling_params(call), request_id=uuid.uuid4().hex, lora_request=lora):
            final = out
        assert final is not None
        return from_request_output(final, call.logprobs or 0)

    async def _fetch(self, keys: list[str]) -> dict[str, wire.Record]:
        return wire.merge_records(await self.llm.collective_rpc(wire.TAKE_RPC, args=(keys,)))

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:

            async def shutdown() -> None:
                llm.shutdown()

            try:
                self.thread.run_sync(shutdown(), timeout=60)
            except Exception:  # already gone
                pass
            self.llm = None
        self.thread.stop()


_ENGINES: dict[tuple[Any, ...], InProcessEngine] = {}
_LOCK = threading.Lock()


def shared_engine(args: dict[str, Any]) -> InProcessEngine:
    """The process-wide engine for these engine arguments, started once."""
    key = tuple(sorted((k, repr(v)) for k, v in args.items()))
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = InProcessEngine(args)
        return engine


def shutdown_engines() -> None:
    """Stop every engine this process started (their processes exit with them)."""
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.close()


atexit.register(shutdown_engines)
