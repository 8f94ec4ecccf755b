"""The `steer` provider through inspect: validation before generation, batching, weight sharing,
cache isolation and what lands in the log."""

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.hooks import active_hook_count
from persona_evals.steering.loading import load_shared
from persona_evals.steering.vectors import save_vectors

QUESTIONS = [f"Question number {i}: what is the capital of France?" for i in range(8)]


def _task(n=6, **config):
    samples = [Sample(id=f"q{i}", input=q, target="Paris") for i, q in enumerate(QUESTIONS[:n])]
    return Task(
        dataset=MemoryDataset(samples),
        solver=generate(),
        scorer=includes(),
        config=GenerateConfig(temperature=0, max_tokens=6, **config),
    )


@pytest.fixture
def vec(tiny_llama, tmp_path):
    torch.manual_seed(3)
    return str(save_vectors(tmp_path / "v.safetensors", {"vector": torch.randn(5, 64) * 4}, {"trait": "test"}))


def _outputs(log):
    return {s.id: s.output.completion for s in log.samples}


def test_two_coefs_in_one_eval_equal_each_run_alone_and_share_weights(tiny_llama, vec, full_batches_only):
    args = [dict(vector=vec, layer=2, coef=0.0), dict(vector=vec, layer=2, coef=4.0)]
    # batches start only when full: 12 rows, the 6 samples of both evals, together; 6 alone
    full_batches_only(load_shared(tiny_llama, dtype="float32"))
    models = [get_model(f"steer/{tiny_llama}", memoize=False, dtype="float32", batch_size=12, **a) for a in args]
    assert models[0].api.shared is models[1].api.shared  # one copy of the weights
    together = eval(_task(), model=models, max_tasks=2, display="none")
    alone = [eval(_task(), model=get_model(f"steer/{tiny_llama}", memoize=False, dtype="float32", batch_size=6, **a), display="none")[0] for a in args]
    assert all(log.status == "success" for log in together + alone)
    by_coef = {log.eval.model_args["coef"]: _outputs(log) for log in together}
    assert by_coef[0.0] == _outputs(alone[0])
    assert by_coef[4.0] == _outputs(alone[1])
    assert by_coef[0.0] != by_coef[4.0]  # the steering did something
    # one eval: rows of both configurations share a batch, each output keeps its own signature,
    # and the signatures differ, so do the base URLs inspect's cache keys on
    assert {s.output.metadata["batch_size"] for log in together for s in log.samples} == {12}
    for log in together:
        model = models[[a["coef"] for a in args].index(log.eval.model_args["coef"])]
        assert {s.output.metadata["steering"] for s in log.samples} == {model.api.signature}
    assert models[0].api.signature != models[1].api.signature and models[0].api.base_url != models[1].api.base_url
    assert active_hook_count(models[0].api.shared.model) == 0


def test_steering_config_is_recorded_in_the_log(tiny_llama, vec):
    model = get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=1.5, positions="all")
    log = eval(_task(n=2), model=model, display="none")[0]
    expected = {"vector": vec, "layer": 2, "coef": 1.5, "positions": "all", "signature": model.api.signature}
    assert log.eval.model_args == expected  # the signature: see test_steer_reruns
    sample = log.samples[0]
    assert sample.output.metadata["steering"] == model.api.signature
    call = next(e for e in sample.events if e.event == "model").call
    assert call.request["steering"]["vectors"][0]["coef"] == 1.5
    assert call.request["vector_files"][0]["metadata"]["trait"] == "test"
    assert sample.output.usage.input_tokens > 0


def test_concurrent_samples_are_batched(tiny_llama, full_batches_only):
    model = get_model(f"steer/{tiny_llama}", memoize=False, batch_size=4)
    full_batches_only(model.api.shared)
    log = eval(_task(n=8), model=model, display="none")[0]
    assert [s.output.metadata["batch_size"] for s in log.samples] == [4] * 8


def test_cache_never_returns_another_configs_answer(tiny_llama, vec, tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))
    plain = get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=0.0)
    steered = get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=4.0)
    first = eval(_task(cache=True), model=plain, display="none")[0]
    second = eval(_task(cache=True), model=steered, display="none")[0]
    uncached = eval(_task(), model=get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=4.0), display="none")[0]
    assert _outputs(second) == _outputs(uncached) != _outputs(first)
    assert plain.api.base_url != steered.api.base_url


def test_temperature_zero_is_greedy_and_logprobs_are_returned(tiny_llama):
    model = get_model(f"steer/{tiny_llama}", memoize=False)
    log = eval(_task(n=2, logprobs=True, top_logprobs=5), model=model, display="none")[0]
    lp = log.samples[0].output.choices[0].logprobs.content
    assert len(lp) == log.samples[0].output.usage.output_tokens
    assert len(lp[0].top_logprobs) == 5 and lp[0].token == lp[0].top_logprobs[0].token


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(vector="missing.safetensors", layer=2), ["vector:", "does not exist"]),
        (dict(vector="{vec}", layer=5), ["layer=5", "outside 1..4"]),
        (dict(vector="{vec}", layer=0), ["layer=0", "outside 1..4"]),
        (dict(vector="{wide}", layer=2), ["hidden size 32", "model's is 64"]),
        (dict(vector=["{vec}", "{vec}"], layer=[1, 2], coef=[1, 2, 3]), ["do not match"]),
        (dict(positions="prefix"), ["positions must be one of"]),
    ],
)
def test_bad_args_fail_before_any_generation(tiny_llama, vec, tmp_path, args, words):
    wide = str(save_vectors(tmp_path / "wide.safetensors", {"vector": torch.ones(32)}))
    args = {k: ([x.format(vec=vec, wide=wide) for x in v] if isinstance(v, list) and isinstance(v[0], str) else v.format(vec=vec, wide=wide) if isinstance(v, str) else v) for k, v in args.items()}
    with pytest.raises(SteeringConfigError) as info:
        get_model(f"steer/{tiny_llama}", memoize=False, **args)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    "name, words",
    [("smollm3", ["unknown embedded model 'smollm3'", "smollm2"]), ("./nowhere", ["does not exist"])],
)
def test_unknown_model_names(name, words):
    with pytest.raises(SteeringConfigError) as info:
        get_model(f"steer/{name}", memoize=False)
    for word in words:
        assert word in str(info.value)


def test_tools_are_refused_not_dropped(tiny_llama):
    from inspect_ai.tool import ToolInfo, ToolParams

    model = get_model(f"steer/{tiny_llama}", memoize=False)
    tool = ToolInfo(name="f", description="d", parameters=ToolParams())
    import asyncio

    with pytest.raises(ValueError, match="does not support tool"):
        asyncio.run(model.api.generate([], [tool], "auto", GenerateConfig()))


async def test_two_configurations_share_batches_yet_keep_their_signatures(tiny_llama, vec, full_batches_only):
    """Requests of two steer instances of one base model run in one batch, each row with its own
    steering: the same answers as each instance alone, its own signature and cache key."""
    import asyncio

    config = GenerateConfig(temperature=0, max_tokens=6)
    args = [dict(vector=vec, layer=2, coef=0.0), dict(vector=vec, layer=2, coef=4.0, monitor=vec, monitor_layer=3)]
    full_batches_only(load_shared(tiny_llama, dtype="float32"))  # batches of 8 together, of 4 alone
    models = [get_model(f"steer/{tiny_llama}", memoize=False, batch_size=8, dtype="float32", **a) for a in args]
    alone_models = [get_model(f"steer/{tiny_llama}", memoize=False, batch_size=4, dtype="float32", **a) for a in args]

    async def ask(model):
        return await asyncio.gather(*[model.generate(q, config=config) for q in QUESTIONS[:4]])

    plain, steered = await asyncio.gather(ask(models[0]), ask(models[1]))
    assert {o.metadata["batch_size"] for o in plain + steered} == {8}  # one batch of both
    assert {o.metadata["steering"] for o in plain} == {models[0].api.signature}
    assert {o.metadata["steering"] for o in steered} == {models[1].api.signature}
    assert models[0].api.base_url != models[1].api.base_url  # inspect's cache keys on it
    assert "monitor" in steered[0].metadata and "monitor" not in plain[0].metadata
    alone = [await ask(m) for m in alone_models]
    assert [o.completion for o in plain] == [o.completion for o in alone[0]]
    assert [o.completion for o in steered] == [o.completion for o in alone[1]]
    assert [o.completion for o in plain] != [o.completion for o in steered]
    assert {o.metadata["batch_size"] for o in alone[0]} == {4}
    assert active_hook_count(models[0].api.shared.model) == 0


def test_a_sharded_model_steers_and_monitors_like_one_on_a_single_device(tiny_llama, vec):
    """`-M device_map=auto` (accelerate places the blocks; here every block on the one device)."""
    import asyncio

    args = dict(vector=vec, layer=2, coef=4.0, monitor=vec, monitor_layer=3, dtype="float32", compile="false")
    sharded = get_model(f"steer/{tiny_llama}", memoize=False, device_map="auto", **args)
    single = get_model(f"steer/{tiny_llama}", memoize=False, **args)
    assert sharded.api.shared is not single.api.shared  # its own copy, loaded through accelerate
    config = GenerateConfig(temperature=0, max_tokens=6)

    async def ask(model):
        return await asyncio.gather(*[model.generate(q, config=config) for q in QUESTIONS[:3]])

    got, want = asyncio.run(ask(sharded)), asyncio.run(ask(single))
    assert [o.completion for o in got] == [o.completion for o in want]
    for g, w in zip(got, want):
        reading, expected = g.metadata["monitor"], w.metadata["monitor"]
        assert reading.keys() == expected.keys()
        for name in reading:
            assert reading[name]["proj"] == pytest.approx(expected[name]["proj"], abs=1e-4)
    assert active_hook_count(sharded.api.shared.model) == 0


def test_a_vector_file_with_a_comma_is_logged_as_one_file(tiny_llama, tmp_path, monkeypatch):
    """`-M vector=v/my,file.safetensors` reaches the provider split at the comma; the log records
    the one file, so the identity (label, viz steering-effect's CSV and plot) names one vector even
    where the file is not (another folder, another machine)."""
    from persona_evals.identity import labels_by_log

    torch.manual_seed(3)
    save_vectors(tmp_path / "v" / "my,file.safetensors", {"vector": torch.randn(5, 64)})
    monkeypatch.chdir(tmp_path)
    model = get_model(f"steer/{tiny_llama}", memoize=False, vector=["v/my", "file.safetensors"], layer=2)
    assert len(model.api.spec.vectors) == 1
    log = eval(_task(n=1), model=model, log_dir=str(tmp_path / "logs"), display="none")[0]
    assert log.eval.model_args["vector"] == "v/my,file.safetensors"
    monkeypatch.chdir(tmp_path / "logs")  # v/my,file.safetensors does not exist from here
    [(identity, label)] = labels_by_log([log.location]).values()
    assert len(identity.terms) == 1 and label == f"steer/{tiny_llama} + my,file@L2×1"
