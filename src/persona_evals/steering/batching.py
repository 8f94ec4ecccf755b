"""Gather concurrent generate calls into batches, run them on one decode thread per set of weights.

Requests wait in one queue per batch key (what every row of a batch must share: the sampling
mode, a JSON-schema constraint; never the steering, which is per row). One long-lived thread
per `Batcher` takes a key's requests as a batch when the batch is full; or when no request of
that key has arrived for a quiet window (20 ms), the event loop has since had a turn (so a wave
of samples it is still starting joins), and the queue holds as many requests as the key's
previous batch (the samples a batch releases come back as a wave, a few ms apart); or 250 ms
after its oldest request arrived. It runs the batch holding the model's lock and hands each
result to its caller's event loop without waiting for that loop.

Why a thread of its own rather than a leader coroutine that awaits a worker thread per batch
(the first design, 1.2-2.9x slower than the bare decode loop on small models): a batch starts
the moment the request that fills it arrives, with no turn of the event loop (which may be
busy starting the other samples); the next queued batch starts as soon as the previous ends,
while the event loop is still handing out its results; and nothing polls between steps.

At exit (Ctrl-C during an eval included: inspect cancels the samples and returns, but a batch may
still be decoding) every batcher is closed before the interpreter finalises: the running batch
stops at its next decode step (`BatchInfo.interrupt`), queued requests fail, and the thread is
joined. A daemon thread left inside a torch forward while the process tore down its C++ state
aborted it ("terminate called without an active exception", exit 134).
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

DEFAULT_WINDOW_S = 0.02
MAX_WAIT_S = 0.25
# The thread ends after this long without requests (and restarts on demand). Long, because on a
# GPU CUDA library state is per thread (handles, per-shape plans): on an H200 a new decode
# thread's batches took 5-6 s instead of 1.3 s (random SmolLM2-1.7B shape, bf16, batch 32) until
# it had seen their shapes, and an eval pauses longer than seconds (judges, other tasks).
IDLE_EXIT_S = 600.0


class Clock(Protocol):
    """The time every batching rule reads (injected: tests use a clock that moves only when told,
    so which requests share a batch never depends on the machine's load)."""

    def now(self) -> float: ...

    def wait(self, cond: threading.Condition, until: float) -> None:
        """Wait on `cond` (held) until it is notified or the clock reaches `until`."""


class MonotonicClock:
    """Real time (`time.monotonic`)."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, cond: threading.Condition, until: float) -> None:
        cond.wait(timeout=max(until - time.monotonic(), 0.0005))


@dataclass(frozen=True)
class BatchInfo:
    """What the runner is told about its batch (for logging), and how to stop it early."""

    key: Hashable
    size: int
    interrupt: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Call between steps of long work: raises `BatcherClosed` once the batcher is closing."""


class BatcherClosed(BaseException):
    """The batcher closed (at exit): its running batch is abandoned, its queued requests fail.

    A BaseException, like cancellation: no error handler of a batch (a compile fallback) takes it
    for a failure of the work itself."""


RunBatch = Callable[[Hashable, Sequence[Any], BatchInfo], Sequence[Any]]


@dataclass(eq=False)
class _Waiter:
    item: Any
    key: Hashable
    run: RunBatch
    batch_size: int
    arrived: float
    wake: Callable[[], None]
    soon: Callable[[Callable[[], None]], None]  # run a callback on the caller's event loop
    result: Any = None
    error: BaseException | None = None


@dataclass(eq=False)
class Batcher:
    """Batches for one set of weights; `lock` is held while a batch runs. Every rule reads time
    from `clock` (`persona_evals.testing.clock.ManualClock` in tests: batches they assert do not
    depend on the machine's load)."""

    lock: threading.Lock
    window_s: float = DEFAULT_WINDOW_S
    max_wait_s: float = MAX_WAIT_S
    clock: Clock = field(default_factory=MonotonicClock)
    _queues: dict[Hashable, list[_Waiter]] = field(default_factory=dict)
    _last_arrival: dict[Hashable, float] = field(default_factory=dict)
    _last_size: dict[Hashable, int] = field(default_factory=dict)
    _turned: dict[Hashable, float] = field(default_factory=dict)  # arrival stamp the event loop has passed
    _asked: dict[Hashable, float] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _closing: bool = False

    def close(self, timeout: float | None = None) -> None:
        """Stop the decode thread and wait for it: the running batch stops at its next step (its
        requests fail with `BatcherClosed`), queued requests fail, later ones are refused."""
        with self._cond:
            self._closing = True
            thread = self._thread
            for queue in self._queues.values():
                for w in queue:
                    w.error = BatcherClosed("the model is shutting down")
                    w.wake()
            self._queues.clear()
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _interrupt(self) -> None:
        if self._closing:
            raise BatcherClosed("the model is shutting down")

    async def submit(self, key: Hashable, item: Any, run: RunBatch, batch_size: int) -> Any:
        """Queue `item` under `key`; returns its output once its batch has run (or raises).

        Requests of one key are run by the `run` of the batch's oldest request, so every caller
        of a key must pass an equivalent runner. A batch holds at most the smallest
        `batch_size` among its requests.
        """
        wait, wake, soon = wakeup()
        me = _Waiter(item, key, run, max(1, batch_size), self.clock.now(), wake, soon)
        with self._cond:
            if self._closing:
                raise BatcherClosed("the model is shutting down")
            self._queues.setdefault(key, []).append(me)
            self._last_arrival[key] = me.arrived
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="persona-evals-decode", daemon=True)
                _LIVE.add(self)
                self._thread.start()
            self._cond.notify()
        try:
            await wait()
        except BaseException:  # cancelled: a request still queued leaves; a running one is dropped
            with self._cond:
                queue = self._queues.get(key)
                if queue and me in queue:
                    queue.remove(me)
                    if not queue:
                        del self._queues[key]
            raise
        if me.error is not None:
            raise me.error
        return me.result

    def _serve(self) -> None:
        while True:
            with self._cond:
                taken = self._next_batch()
                if taken is None:
                    self._thread = None
                    return
            self._run(*taken)

    def _next_batch(self) -> tuple[Hashable, list[_Waiter]] | None:
        """Wait (holding `_cond`) until some key's batch is due; take it. None: idle too long."""
        idle_since = self.clock.now()
        while True:
            if self._closing:
                return None
            now = self.clock.now()
            due, wake_at = None, now + IDLE_EXIT_S
            for key, queue in self._queues.items():
                if not queue:
                    continue
                ready_at = self._ready_at(key, queue, now)
                if ready_at <= now and (due is None or queue[0].arrived < self._queues[due][0].arrived):
                    due = key
                wake_at = min(wake_at, ready_at)
            if due is not None:
                queue = self._queues[due]
                batch = _take(queue)
                if not queue:
                    del self._queues[due]
                self._turned.pop(due, None)
                self._asked.pop(due, None)
                return due, batch
            if not self._queues and now - idle_since >= IDLE_EXIT_S:
                return None
            self.clock.wait(self._cond, wake_at)

    def _ready_at(self, key: Hashable, queue: list[_Waiter], now: float) -> float:
        """When `key`'s batch is due: now when full; after the quiet window once the queue holds
        the previous batch's size; at the latest `max_wait_s` after its oldest request."""
        limit = queue[0].batch_size
        for w in queue:
            limit = min(limit, w.batch_size)
            if len(queue) >= limit:
                return now
        deadline = queue[0].arrived + self.max_wait_s
        if len(queue) < min(self._last_size.get(key, 0), limit):
            return deadline  # waiting for the wave (an arrival wakes the thread and re-checks)
        quiet = self._last_arrival[key] + self.window_s
        if quiet > now or self._turned.get(key) == self._last_arrival[key]:
            return min(deadline, quiet)
        # quiet for the window, but has the event loop had its turn? Tasks it has ready (a wave of
        # samples being started) run before this callback: only then is the queue complete.
        stamp = self._last_arrival[key]
        if self._asked.get(key) != stamp:
            self._asked[key] = stamp
            queue[-1].soon(functools.partial(self._loop_turned, key, stamp))
        return deadline

    def _loop_turned(self, key: Hashable, stamp: float) -> None:
        with self._cond:
            self._turned[key] = stamp
            self._cond.notify()

    def _run(self, key: Hashable, batch: list[_Waiter]) -> None:
        try:
            with self.lock:
                info = BatchInfo(key, len(batch), self._interrupt)
                outputs = batch[0].run(key, [w.item for w in batch], info)
            if len(outputs) != len(batch):
                raise RuntimeError(f"batch runner returned {len(outputs)} outputs for {len(batch)} inputs")
            for w, out in zip(batch, outputs):
                w.result = out
        except (Exception, BatcherClosed) as ex:  # every request of the batch gets the error
            for w in batch:
                w.error = ex
        finally:
            self._last_size[key] = len(batch)
            for w in batch:
                w.wake()


_LIVE: weakref.WeakSet[Batcher] = weakref.WeakSet()  # batchers whose thread has started


@atexit.register
def _close_all() -> None:
    """Before the interpreter finalises: no decode thread may still be inside a torch call."""
    for batcher in list(_LIVE):
        batcher.close()


def _take(queue: list[_Waiter]) -> list[_Waiter]:
    """The oldest requests, up to the smallest batch_size among them; removed from `queue`."""
    batch: list[_Waiter] = []
    limit = queue[0].batch_size
    for w in queue:
        limit = min(limit, w.batch_size)
        if len(batch) >= limit:
            break
        batch.append(w)
    del queue[: len(batch)]
    return batch


def wakeup() -> tuple[Callable[[], Any], Callable[[], None], Callable[[Callable[[], None]], None]]:
    """(wait, wake, soon): an awaitable for the current event loop, a thread-safe, non-blocking
    function that completes it, and one that runs a callback on that loop (asyncio, or trio when
    inspect runs on trio). On a closed loop nobody waits: `wake` does nothing, `soon` calls at once."""
    import sniffio

    if sniffio.current_async_library() == "trio":
        import trio

        token, event = trio.lowlevel.current_trio_token(), trio.Event()

        def soon_trio(fn: Callable[[], None], fallback: bool = True) -> None:
            try:
                token.run_sync_soon(fn)
            except trio.RunFinishedError:
                if fallback:
                    fn()

        return event.wait, lambda: soon_trio(event.set, fallback=False), soon_trio
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def done() -> None:
        if not future.done():
            future.set_result(None)

    def soon(fn: Callable[[], None], fallback: bool = True) -> None:
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the caller's loop is closed
            if fallback:
                fn()

    return lambda: future, lambda: soon(done, fallback=False), soon
