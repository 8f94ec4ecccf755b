"""The batcher on its own: batches by key, sizes, no idle waits, errors reach every caller.

Every batcher here runs on a `ManualClock`: time moves only when a test advances it, so a partial
batch starts exactly when the test says its window has passed, never because the machine was slow
(the batches asserted are the same on a quiet or a loaded machine). A clock left alone means a
batcher that starts only full batches.
"""

import threading

import anyio
import pytest

from persona_evals.steering.batching import Batcher
from persona_evals.testing.clock import ManualClock

WINDOW, MAX_WAIT = 0.02, 0.25


def _batcher(max_wait=MAX_WAIT):
    clock = ManualClock()
    return Batcher(lock=threading.Lock(), window_s=WINDOW, max_wait_s=max_wait, clock=clock), clock


def _runner(log):
    def run(key, items, info):
        log.append((key, list(items)))
        return [f"{key}:{x}" for x in items]

    return run


async def _until(condition):
    """Let the event loop run until `condition()` holds (a state, never a duration)."""
    with anyio.fail_after(60):  # only a broken batcher gets here: it hangs instead of failing
        while not condition():
            await anyio.sleep(0)


async def test_batches_never_mix_keys_and_respect_batch_size():
    log, results = [], {}
    b, clock = _batcher()

    async def call(key, x):
        results[(key, x)] = await b.submit(key, x, _runner(log), batch_size=4)

    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(call, "A", i)
            tg.start_soon(call, "B", i)
        await _until(lambda: len(results) == 16)  # full batches start at once: 4 + 4 per key
        assert len(log) == 4
        clock.advance(MAX_WAIT)  # the 2 left of each key wait for a wave as large as their last batch
    assert all(results[(k, i)] == f"{k}:{i}" for k in "AB" for i in range(10))
    assert all(len(items) <= 4 for _, items in log)
    assert sorted(x for k, items in log if k == "A" for x in items) == list(range(10))
    assert sorted(x for k, items in log if k == "B" for x in items) == list(range(10))
    assert len(log) == 6  # 4 + 4 + 2 per key: batches were filled, not run one by one


async def test_requests_arriving_during_a_batch_join_the_next_one_without_idling():
    """Requests queued while a batch runs start the moment it ends: no further window, no deadline."""
    log, starts, submitted = [], [], []
    b, clock = _batcher()
    release = threading.Event()

    def run(key, items, info):
        starts.append(clock.now())
        log.append(list(items))
        if items == [0]:
            assert release.wait(timeout=60)  # the test queues 1..5 meanwhile
            clock.advance(0.2)  # the batch's own work
        return items

    async def call(x):
        submitted.append(x)
        await b.submit("k", x, run, batch_size=8)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, 0)
        await _until(lambda: submitted == [0])
        clock.advance(WINDOW)  # a lone request starts after the quiet window
        await _until(lambda: log == [[0]])
        for i in range(1, 6):
            tg.start_soon(call, i)
        await _until(lambda: len(submitted) == 6)
        release.set()
    assert log == [[0], [1, 2, 3, 4, 5]]
    assert starts == [pytest.approx(WINDOW), pytest.approx(WINDOW + 0.2)]  # no idling in between


async def test_an_error_reaches_every_request_of_its_batch_and_the_next_batch_still_runs():
    calls = []

    def run(key, items, info):
        calls.append(list(items))
        if 0 in items:
            raise RuntimeError("forward failed")
        return [x * 10 for x in items]

    b, clock = _batcher()
    outcomes = {}

    async def call(x):
        try:
            outcomes[x] = await b.submit("k", x, run, batch_size=3)
        except RuntimeError as ex:
            outcomes[x] = str(ex)

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(call, i)
        await _until(lambda: len(outcomes) == 3)
        clock.advance(MAX_WAIT)
    assert outcomes == {0: "forward failed", 1: "forward failed", 2: "forward failed", 3: 30, 4: 40}
    assert calls == [[0, 1, 2], [3, 4]]


async def test_a_cancelled_request_leaves_the_queue_and_the_next_one_still_runs():
    log, got, submitted, left = [], [], [], []
    b, clock = _batcher()
    scope = anyio.CancelScope()

    async def first():
        with scope:
            submitted.append("first")
            await b.submit("k", "first", _runner(log), batch_size=10)
        left.append("first")

    async def second():
        submitted.append("second")
        got.append(await b.submit("k", "second", _runner(log), batch_size=10))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await _until(lambda: submitted == ["first"])
        tg.start_soon(second)
        await _until(lambda: len(submitted) == 2)
        scope.cancel()
        await _until(lambda: left)
        clock.advance(WINDOW)
    assert got == ["k:second"]
    assert log == [("k", ["second"])]


async def test_a_wave_as_large_as_the_last_batch_is_awaited_across_short_gaps():
    """After a batch of 4, the next 4 requests trickle in 40 ms apart (> the 20 ms quiet window):
    they still form one batch, because the batcher expects the wave the last batch released."""
    log, submitted = [], []
    b, clock = _batcher(max_wait=0.5)

    async def call(x):
        submitted.append(x)
        await b.submit("k", x, _runner(log), batch_size=8)

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(call, i)
        await _until(lambda: len(submitted) == 4)
        clock.advance(WINDOW)
        await _until(lambda: len(log) == 1)
        for i in range(4, 8):
            tg.start_soon(call, i)
            await _until(lambda: len(submitted) == i + 1)
            if i < 7:
                clock.advance(0.04)
        clock.advance(WINDOW)
    assert [items for _, items in log] == [[0, 1, 2, 3], [4, 5, 6, 7]]


async def test_a_wave_that_keeps_the_event_loop_busy_past_the_window_is_one_batch():
    """Samples whose start-up blocks the event loop arrive 30 ms apart (> the 20 ms window), yet
    form one batch: the decode thread starts a partial batch only after the loop has had a turn."""
    log, submitted = [], []
    b, clock = _batcher(max_wait=1.0)

    async def call(x):
        clock.advance(0.03)  # a solver's synchronous work before it generates, holding the loop
        submitted.append(x)
        await b.submit("k", x, _runner(log), batch_size=8)

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(call, i)
        await _until(lambda: len(submitted) == 4)
        clock.advance(WINDOW)
    assert [items for _, items in log] == [[0, 1, 2, 3]]


async def test_a_batcher_on_a_clock_that_stands_still_starts_only_full_batches():
    log, results = [], []
    b, clock = _batcher()

    async def call(x):
        results.append(await b.submit("k", x, _runner(log), batch_size=3))

    async with anyio.create_task_group() as tg:
        for i in range(7):
            tg.start_soon(call, i)
        await _until(lambda: len(results) == 6)
        assert [items for _, items in log] == [[0, 1, 2], [3, 4, 5]]
        clock.advance(MAX_WAIT)
    assert [items for _, items in log] == [[0, 1, 2], [3, 4, 5], [6]]


async def test_close_stops_the_running_batch_fails_queued_requests_and_joins_the_thread():
    """At exit every batcher closes (atexit): no decode thread is left inside a torch call."""
    from persona_evals.steering.batching import BatcherClosed

    b, clock = _batcher()
    steps, outcomes, submitted, threads = [], {}, [], []

    def run(key, items, info):  # long work that checks between steps, as generate_batch does
        threads.append(threading.current_thread())
        while True:
            info.interrupt()
            steps.append(1)
            threading.Event().wait(0.001)

    async def call(x):
        submitted.append(x)
        try:
            outcomes[x] = await b.submit("k", x, run, batch_size=1)
        except BatcherClosed as ex:
            outcomes[x] = str(ex)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, 0)  # a full batch: runs at once
        await _until(lambda: steps)
        tg.start_soon(call, 1)  # queued behind it
        await _until(lambda: len(submitted) == 2)
        await anyio.to_thread.run_sync(b.close)
    assert outcomes == {0: "the model is shutting down", 1: "the model is shutting down"}
    assert len(threads) == 1 and not threads[0].is_alive()  # joined; the queued request never ran
    with pytest.raises(BatcherClosed):
        await b.submit("k", 2, run, batch_size=1)
