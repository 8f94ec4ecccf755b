"""Gather concurrent generate calls into batches, without idle seconds.

The first request of a batch key becomes the batch's *leader*: it waits until the batch is full,
or until no new request has arrived for a short quiet window (20 ms; at most 250 ms in all), then
hands the key's queue to a worker thread. The quiet window, rather than a fixed one, lets a
wave of samples that inspect starts one after another (each a few ms apart) join one batch. The thread takes the model's
lock and only then drains up to `batch_size` requests, so requests that arrive while another
batch runs join the next one. Requests of different keys (steering configurations, sampling
settings) never share a batch. When a batch ends with requests still queued, the oldest becomes
the next leader.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

DEFAULT_WINDOW_S = 0.02
MAX_WAIT_S = 0.25


@dataclass(eq=False)
class _Waiter:
    item: Any
    event: anyio.Event
    result: Any = None
    error: BaseException | None = None
    done: bool = False
    lead: bool = False


@dataclass(frozen=True)
class BatchInfo:
    """What the runner is told about its batch (for logging)."""

    key: Hashable
    size: int
    queued_after: int


RunBatch = Callable[[Hashable, Sequence[Any], BatchInfo], Sequence[Any]]


@dataclass(eq=False)
class Batcher:
    """Batches for one set of weights; `run` executes one batch in a worker thread."""

    lock: threading.Lock
    window_s: float = DEFAULT_WINDOW_S
    max_wait_s: float = MAX_WAIT_S
    _queues: dict[Hashable, list[_Waiter]] = field(default_factory=dict)
    _leaders: set[Hashable] = field(default_factory=set)
    _arrival: dict[Hashable, anyio.Event] = field(default_factory=dict)
    _last_size: dict[Hashable, int] = field(default_factory=dict)
    _qlock: threading.Lock = field(default_factory=threading.Lock)
    batches_run: int = 0

    async def submit(self, key: Hashable, item: Any, run: RunBatch, batch_size: int) -> Any:
        """Queue `item` under `key`; returns its output once its batch has run (or raises)."""
        me = _Waiter(item=item, event=anyio.Event())
        with self._qlock:
            queue = self._queues.setdefault(key, [])
            queue.append(me)
            lead = key not in self._leaders
            if lead:
                self._leaders.add(key)
            elif key in self._arrival:
                self._arrival[key].set()
        if not lead:
            await me.event.wait()
            if me.done:
                return self._unwrap(me)
        await self._lead(key, run, batch_size, me)
        return self._unwrap(me)

    async def _lead(self, key: Hashable, run: RunBatch, batch_size: int, me: _Waiter) -> None:
        try:
            await self._gather(key, batch_size)
        except BaseException:  # cancelled while gathering: leave the queue to the next request
            with self._qlock:
                if me in self._queues.get(key, []):
                    self._queues[key].remove(me)
            self._promote(key)
            raise
        batch: list[_Waiter] = []
        try:
            batch, outputs, error = await anyio.to_thread.run_sync(self._run_locked, key, run, batch_size)
            self._last_size[key] = len(batch)
            for i, w in enumerate(batch):
                if error is not None:
                    w.error = error
                else:
                    w.result = outputs[i]
                w.done = True
        finally:
            for w in batch:
                w.event.set()
            self._promote(key)

    async def _gather(self, key: Hashable, batch_size: int) -> None:
        """Wait until the batch is full; or the queue has been quiet for `window_s` and holds as
        many requests as the key's previous batch (the samples it released come back as a wave);
        or `max_wait_s` has passed."""
        deadline = anyio.current_time() + self.max_wait_s
        expected = min(self._last_size.get(key, 0), batch_size)
        while True:
            with self._qlock:
                queued = len(self._queues[key])
                if queued >= batch_size:
                    return
                arrival = self._arrival[key] = anyio.Event()
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                return
            with anyio.move_on_after(min(self.window_s, remaining)) as quiet:
                await arrival.wait()
            if quiet.cancelled_caught and queued >= expected:
                return

    def _run_locked(
        self, key: Hashable, run: RunBatch, batch_size: int
    ) -> tuple[list[_Waiter], Sequence[Any], Exception | None]:
        with self.lock:
            batch = self._take(key, batch_size)
            with self._qlock:
                left = len(self._queues.get(key, []))
            try:
                outputs = run(key, [w.item for w in batch], BatchInfo(key, len(batch), left))
                if len(outputs) != len(batch):
                    raise RuntimeError(f"batch runner returned {len(outputs)} outputs for {len(batch)} inputs")
                return batch, outputs, None
            except Exception as ex:  # every request of the batch gets the error
                return batch, [], ex
            finally:
                self.batches_run += 1

    def _take(self, key: Hashable, batch_size: int) -> list[_Waiter]:
        with self._qlock:
            queue = self._queues.get(key, [])
            batch, self._queues[key] = queue[:batch_size], queue[batch_size:]
            return batch

    def _promote(self, key: Hashable) -> None:
        with self._qlock:
            queue = self._queues.get(key)
            if queue:
                nxt = queue[0]
                nxt.lead = True
                nxt.event.set()
            else:
                self._leaders.discard(key)
                self._arrival.pop(key, None)
                self._queues.pop(key, None)

    @staticmethod
    def _unwrap(waiter: _Waiter) -> Any:
        if waiter.error is not None:
            raise waiter.error
        return waiter.result
