"""An event loop on a thread of its own, which the provider's coroutines (on inspect's loop,
asyncio or trio, one per eval) hand their vLLM work to.

vLLM's `AsyncLLM` (and an HTTP client) belong to the loop they were started on; inspect starts a
new loop per eval, and the engine outlives an eval (a sweep, an eval_set, several evals in one
process share it). So the engine lives on this loop and callers await its results through
`batching.wakeup`, which works from either async library.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from persona_evals.steering.batching import wakeup

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run_sync(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the thread's loop and wait for it here (not from a coroutine of this loop)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the thread's loop; await it from any event loop. Cancelling the caller
        cancels `coro` (an engine request is then aborted)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        wait, wake, _ = wakeup()
        future.add_done_callback(lambda _f: wake())
        try:
            await wait()
        except BaseException:
            future.cancel()
            raise
        return future.result()

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
