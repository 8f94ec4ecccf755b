"""The static-cache decoder (the path `-M compile` takes on CUDA) equals the dynamic one: same
tokens, logprobs to float rounding, with and without steering, every positions mode; traced by
dynamo without graph breaks or recompiles; a compile failure falls back to eager decoding once,
any other failure (out of memory) reaches the caller."""

import logging

import pytest
import torch
from inspect_ai.model import GenerateConfig, get_model

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.generation import GenRequest, Sampling, generate_batch
from persona_evals.steering.hooks import active_hook_count
from persona_evals.steering.loading import load_shared, pick_device
from persona_evals.steering.rows import RowSteering
from persona_evals.steering.static import StaticDecoding, bucket, compile_reason

PROMPTS = ["What is the capital of France?", "Hi", "Tell me about the lazy dog and the quick brown fox."]


def _requests(shared, steering=RowSteering(), max_tokens=(10, 4, 7)):
    out = []
    for p, m in zip(PROMPTS, max_tokens):
        chat = shared.tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        out.append(GenRequest(tuple(shared.tokenizer(chat, add_special_tokens=False)["input_ids"]), m, steering=steering))
    return out


def _steerings(shared):
    torch.manual_seed(0)
    v = torch.randn(shared.hidden_size) * 4
    return [RowSteering()] + [RowSteering({2: v, shared.num_layers: -v}, p) for p in ("response", "prompt", "all")]


# other attention shapes (a full-length masked cache vs a growing one) round differently in the
# last bits; GPU attention kernels more so than the CPU's
TOL = 1e-5 if pick_device("auto").type == "cpu" else 1e-4


def assert_same(a, b, tol=TOL):
    assert [r.token_ids for r in a] == [r.token_ids for r in b]
    assert [r.stop_reason for r in a] == [r.stop_reason for r in b]
    for x, y in zip(a, b):
        assert [t.logprob for t in x.logprobs] == pytest.approx([t.logprob for t in y.logprobs], abs=tol)


@pytest.mark.parametrize("mixed", [False, True])
def test_static_cache_equals_dynamic_cache(tiny_model, mixed):
    shared = load_shared(tiny_model, dtype="float32")
    sampling = Sampling(logprobs=True, top_logprobs=2)
    static = StaticDecoding(backend=None)
    steerings = _steerings(shared)
    batches = [[r for s in steerings for r in _requests(shared, s)]] if mixed else [_requests(shared, s) for s in steerings]
    for requests in batches:  # 3 rows pad to a bucket of 4; 12 rows to 16
        assert_same(generate_batch(shared, requests, sampling, static=static), generate_batch(shared, requests, sampling))
    assert static.usable and active_hook_count(shared.model) == 0


def test_a_dynamo_traced_step_equals_eager_and_is_traced_once_per_shape(tiny_llama):
    from torch._dynamo.utils import counters

    shared = load_shared(tiny_llama, dtype="float32")
    torch._dynamo.reset()
    counters.clear()
    static = StaticDecoding(backend="eager")  # dynamo tracing (fullgraph) without code generation
    sampling = Sampling(logprobs=True, top_logprobs=2)
    for steering in _steerings(shared):  # other vectors, layers and positions: the same graph
        requests = _requests(shared, steering)
        assert_same(generate_batch(shared, requests, sampling, static=static), generate_batch(shared, requests, sampling))
    assert static.usable, static.error
    assert counters["stats"]["unique_graphs"] == 1
    assert active_hook_count(shared.model) == 0


def test_a_failing_compile_falls_back_to_eager_with_one_warning(tiny_llama):
    def broken_backend(gm, example_inputs):
        raise RuntimeError("no compiler here")

    shared = load_shared(tiny_llama, dtype="float32")
    torch._dynamo.reset()
    static = StaticDecoding(backend=broken_backend)
    requests = _requests(shared, _steerings(shared)[1])
    # a handler on the logger itself: inspect may have stopped persona_evals' loggers propagating
    # to the root (its own handler then writes the warning into the eval log); and re-enabled:
    # import-linter's dictConfig (tests/test_layers.py) disables every logger existing by then
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("persona_evals.steering.static")
    logger.addHandler(handler)
    disabled, logger.disabled = logger.disabled, False
    try:
        first = generate_batch(shared, requests, Sampling(), static=static)
        second = generate_batch(shared, requests, Sampling(), static=static)
    finally:
        logger.removeHandler(handler)
        logger.disabled = disabled
    assert [r.token_ids for r in first] == [r.token_ids for r in second] == [r.token_ids for r in generate_batch(shared, requests, Sampling())]
    assert not static.usable and "no compiler here" in static.error
    assert len([r for r in records if "decoding eagerly" in r.getMessage()]) == 1
    assert active_hook_count(shared.model) == 0


def _out_of_memory(*args):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def _oom_compiling(gm, example_inputs):
    _out_of_memory()


def _oom_running(gm, example_inputs):
    return _out_of_memory


def _bug_running(gm, example_inputs):
    def run(*args):
        raise ValueError("a bug in the step")

    return run


@pytest.mark.parametrize(
    "backend, error, words",
    [
        (_oom_compiling, torch.OutOfMemoryError, "out of memory"),  # dynamo wraps it: unwrapped
        (_oom_running, torch.OutOfMemoryError, "out of memory"),
        (_bug_running, ValueError, "a bug in the step"),
    ],
)
def test_only_compile_failures_fall_back_out_of_memory_reaches_the_caller(tiny_llama, backend, error, words):
    shared = load_shared(tiny_llama, dtype="float32")
    torch._dynamo.reset()
    static = StaticDecoding(backend=backend)
    with pytest.raises(error, match=words) as raised:
        generate_batch(shared, _requests(shared, _steerings(shared)[1]), Sampling(), static=static)
    assert type(raised.value) is error  # the error itself, not dynamo's wrapper
    assert static.usable  # not switched to eager decoding for good
    assert active_hook_count(shared.model) == 0


def test_the_provider_routes_compiled_batches_to_the_static_decoder(tiny_llama, tmp_path):
    """On CUDA `compile=auto` sets this up; here a dynamo-traced decoder stands in for it."""
    import asyncio

    from persona_evals.steering.vectors import save_vectors

    torch.manual_seed(3)
    vec = str(save_vectors(tmp_path / "v.safetensors", {"vector": torch.randn(5, 64) * 4}))
    eager = get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=2.0, dtype="float32", compile="false")
    model = get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=2.0, dtype="float32")
    shared = model.api.shared
    assert (model.api.static is not None) == (compile_reason(shared, None) is None)  # compile=auto: on for CUDA only
    assert eager.api.static is None
    shared.static = model.api.static = StaticDecoding(backend="eager")
    config = GenerateConfig(temperature=0, max_tokens=5)

    async def ask(m):
        return [o.completion for o in await asyncio.gather(*[m.generate(p, config=config) for p in PROMPTS])]

    try:
        assert asyncio.run(ask(model)) == asyncio.run(ask(eager))
        assert shared.static.usable and shared.static._step is not None  # it did run the static path
    finally:
        shared.static = None


def test_a_monitored_instance_shares_batches_with_compiled_ones_and_decodes_them_eagerly(tiny_llama, tmp_path):
    import asyncio

    from persona_evals.steering.vectors import save_vectors

    torch.manual_seed(3)
    vec = str(save_vectors(tmp_path / "v.safetensors", {"vector": torch.randn(5, 64) * 4}))
    plain = get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=2.0, dtype="float32", batch_size=8)
    watched = get_model(f"steer/{tiny_llama}", memoize=False, monitor=vec, monitor_layer=2, dtype="float32", batch_size=8)
    shared, saved = plain.api.shared, plain.api.shared.static
    static = StaticDecoding(backend=None)  # the static-cache path, uncompiled: it says whether it ran
    shared.static = plain.api.static = watched.api.static = static
    config = GenerateConfig(temperature=0, max_tokens=4)

    async def ask(*models):
        return await asyncio.gather(*[m.generate(p, config=config) for m in models for p in PROMPTS[:2] * 2])

    try:
        together = asyncio.run(ask(plain, watched))
        assert {o.metadata["batch_size"] for o in together} == {8}  # one batch, not split by the monitor
        assert static._step is None  # a batch holding a monitored row decodes eagerly
        assert all("monitor" in o.metadata for o in together[4:]) and "monitor" not in together[0].metadata
        alone = asyncio.run(ask(plain))
        assert static._step is not None  # without one, the static path runs
        assert [o.completion for o in together[:4]] == [o.completion for o in alone]
    finally:
        shared.static = saved
        plain.api.static = watched.api.static = saved


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(compile="true"), ["compile=true cannot work here", "cpu"]),
        (dict(compile="true", device_map="auto"), ["compile=true cannot work here", "device_map"]),
        (dict(compile="maybe"), ["compile must be one of"]),
    ],
)
def test_compile_arg_errors_name_the_argument(tiny_llama, args, words):
    if args == dict(compile="true") and torch.cuda.is_available():
        pytest.skip("compile=true works on this machine")
    with pytest.raises(SteeringConfigError) as info:
        get_model(f"steer/{tiny_llama}", memoize=False, **args)
    assert all(w in str(info.value) for w in words)


def test_buckets():
    assert [bucket(n) for n in (1, 2, 3, 4, 5, 32, 33)] == [1, 2, 4, 4, 8, 32, 64]
