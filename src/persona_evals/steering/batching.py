"""Gather concurrent generate calls into batches, without idle seconds.

The first request of a batch key becomes the batch's *leader*: it waits a short window (or until
the batch is full), then hands the key's queue to a worker thread. The thread takes the model's
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
    _queues: dict[Hashable, list[_Waiter]] = field(default_factory=dict)
    _leaders: set[Hashable] = field(default_factory=set)
    _full: dict[Hashable, anyio.Event] = field(default_factory=dict)
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
                self._full[key] = anyio.Event()
            elif len(queue) >= batch_size and key in self._full:
                self._full[key].set()
        if not lead:
            await me.event.wait()
            if me.done:
                return self._unwrap(me)
        await self._lead(key, run, batch_size, me)
        return self._unwrap(me)

    async def _lead(self, key: Hashable, run: RunBatch, batch_size: int, me: _Waiter) -> None:
        try:
            with self._qlock:
                full = self._full.setdefault(key, anyio.Event())
                ready = len(self._queues[key]) >= batch_size
            if not ready:
                with anyio.move_on_after(self.window_s):
                    await full.wait()
        except BaseException:  # cancelled while gathering: leave the queue to the next request
            with self._qlock:
                if me in self._queues.get(key, []):
                    self._queues[key].remove(me)
            self._promote(key)
            raise
        batch: list[_Waiter] = []
        try:
            batch, outputs, error = await anyio.to_thread.run_sync(self._run_locked, key, run, batch_size)
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
                self._full[key] = anyio.Event()
                nxt.event.set()
            else:
                self._leaders.discard(key)
                self._full.pop(key, None)
                self._queues.pop(key, None)

    @staticmethod
    def _unwrap(waiter: _Waiter) -> Any:
        if waiter.error is not None:
            raise waiter.error
        return waiter.result
