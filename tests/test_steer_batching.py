"""The batcher on its own: batches by key, sizes, no idle waits, errors reach every caller."""

import threading
import time

import anyio

from persona_evals.steering.batching import Batcher


def _runner(log, delay=0.01):
    def run(key, items, info):
        log.append((key, list(items)))
        time.sleep(delay)
        return [f"{key}:{x}" for x in items]

    return run


async def test_batches_never_mix_keys_and_respect_batch_size():
    log = []
    b = Batcher(lock=threading.Lock())
    results = {}

    async def call(key, x):
        results[(key, x)] = await b.submit(key, x, _runner(log), batch_size=4)

    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(call, "A", i)
            tg.start_soon(call, "B", i)
    assert all(results[(k, i)] == f"{k}:{i}" for k in "AB" for i in range(10))
    for key, items in log:
        assert len(items) <= 4
    assert sorted(x for k, items in log if k == "A" for x in items) == list(range(10))
    assert sorted(x for k, items in log if k == "B" for x in items) == list(range(10))
    assert len(log) == 6  # 4 + 4 + 2 per key: batches were filled, not run one by one


async def test_requests_arriving_during_a_batch_join_the_next_one_without_idling():
    log = []
    b = Batcher(lock=threading.Lock(), window_s=0.02)
    start = time.monotonic()

    async def late(x, delay):
        await anyio.sleep(delay)
        await b.submit("k", x, _runner(log, delay=0.2), batch_size=8)

    async with anyio.create_task_group() as tg:
        tg.start_soon(late, 0, 0)
        for i in range(1, 6):
            tg.start_soon(late, i, 0.05)  # arrive while batch [0] is running
    elapsed = time.monotonic() - start
    assert [items for _, items in log] == [[0], [1, 2, 3, 4, 5]]
    assert elapsed < 0.2 * 2 + 0.25  # two batches of 0.2 s plus small windows, no multi-second idling


async def test_an_error_reaches_every_request_of_its_batch_and_the_next_batch_still_runs():
    calls = []

    def run(key, items, info):
        calls.append(list(items))
        if 0 in items:
            raise RuntimeError("forward failed")
        return [x * 10 for x in items]

    b = Batcher(lock=threading.Lock())
    outcomes = {}

    async def call(x):
        try:
            outcomes[x] = await b.submit("k", x, run, batch_size=3)
        except RuntimeError as ex:
            outcomes[x] = str(ex)

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(call, i)
    assert outcomes == {0: "forward failed", 1: "forward failed", 2: "forward failed", 3: 30, 4: 40}


async def test_a_cancelled_leader_hands_over():
    b = Batcher(lock=threading.Lock(), window_s=0.5)
    got = []

    async def leader():
        with anyio.move_on_after(0.05):
            await b.submit("k", "first", _runner([]), batch_size=10)

    async def follower():
        await anyio.sleep(0.01)
        got.append(await b.submit("k", "second", _runner([]), batch_size=10))

    async with anyio.create_task_group() as tg:
        tg.start_soon(leader)
        tg.start_soon(follower)
    assert got == ["k:second"]


async def test_a_wave_as_large_as_the_last_batch_is_awaited_across_short_gaps():
    """After a batch of 4, the next 4 requests trickle in 40 ms apart (> the 20 ms quiet window):
    they still form one batch, because the leader expects the wave the last batch released."""
    log = []
    b = Batcher(lock=threading.Lock(), window_s=0.02, max_wait_s=0.5)

    async def call(x, delay):
        await anyio.sleep(delay)
        await b.submit("k", x, _runner(log, delay=0.0), batch_size=8)

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(call, i, 0)
    async with anyio.create_task_group() as tg:
        for i in range(4, 8):
            tg.start_soon(call, i, 0.04 * (i - 4))
    assert [items for _, items in log] == [[0, 1, 2, 3], [4, 5, 6, 7]]


async def test_a_wave_that_keeps_the_event_loop_busy_past_the_window_is_one_batch():
    """Samples whose start-up blocks the event loop arrive 30 ms apart (> the 20 ms window), yet
    form one batch: the decode thread starts a partial batch only after the loop has had a turn."""
    log = []
    b = Batcher(lock=threading.Lock(), window_s=0.02, max_wait_s=1.0)

    async def call(x):
        time.sleep(0.03)  # e.g. a solver's synchronous work before it generates
        await b.submit("k", x, _runner(log, delay=0.0), batch_size=8)

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(call, i)
    assert [items for _, items in log] == [[0, 1, 2, 3]]
