"""A clock that moves only when told, for code that takes one (`steering.batching.Batcher`).

On it, a rule such as "start a partial batch after a 20 ms quiet window" fires when the test
advances the clock past the window, never because the machine was slow: which requests share a
batch is decided by the test, not by the load. Left alone, it stands still, so a batcher on it
starts only full batches.
"""

from __future__ import annotations

import threading


class ManualClock:
    """`now()` is `start` plus whatever `advance` added; `wait` returns only when notified or
    once `advance` has reached its time."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = start
        self._lock = threading.Lock()
        self._conds: list[threading.Condition] = []

    def now(self) -> float:
        with self._lock:
            return self._t

    def wait(self, cond: threading.Condition, until: float) -> None:
        with self._lock:
            if cond not in self._conds:
                self._conds.append(cond)
            if self._t >= until:
                return
        cond.wait()  # `advance` notifies under `cond`, which we hold until this releases it

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter to re-read it."""
        with self._lock:
            self._t += seconds
            conds = list(self._conds)
        for cond in conds:
            with cond:
                cond.notify_all()
