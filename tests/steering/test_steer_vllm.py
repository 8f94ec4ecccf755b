"""`steer` with -M engine=vllm on a tiny random Llama: one vLLM engine (CPU) for the module.

The residual stream after block L (read back through the plugin's capture terms) moves by exactly
the request's delta at its own positions, and not at all for unsteered requests of the same
forwards, across chunked prefills and decode steps; ablation leaves no component along the
ablated directions; text, monitors and adapters equal the HF engine's.
"""

from __future__ import annotations

import json

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.solver import generate

from persona_evals.steering.vectors import save_vectors
from persona_evals.steering.vllm import wire
from vllm_support import ENGINE, capture_call, run_calls, stream, tiny_vllm_model

LAYER = 2
QUESTIONS = [
    "What is the capital of France?",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 25 50 75 100. Scores range from zero to one hundred, and personas, vectors, layers.",
    "The quick brown fox jumps over the lazy dog.",
    "I feel anxious about tomorrow.",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from persona_evals.steering.vllm.engine import shutdown_engines

    root = tmp_path_factory.mktemp("vllm-tiny")
    model = tiny_vllm_model(root / "model")
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 64, generator=gen), torch.randn(5, 64, generator=gen)
    paths = (str(save_vectors(root / "a.safetensors", {"vector": a})), str(save_vectors(root / "b.safetensors", {"vector": b})))
    yield model, a, b, paths, root
    shutdown_engines()


def _task(n: int = len(QUESTIONS), max_tokens: int = 8) -> Task:
    return Task(
        dataset=MemoryDataset([Sample(id=f"q{i}", input=q) for i, q in enumerate(QUESTIONS[:n])]),
        solver=generate(),
        config=GenerateConfig(temperature=0, max_tokens=max_tokens),
    )


def _both(model: str, **args):
    """The same steer model on the HF engine and on vLLM (float32 both)."""
    hf = get_model(f"steer/{model}", memoize=False, dtype="float32", **args)
    vl = get_model(f"steer/{model}", memoize=False, dtype="float32", **ENGINE, **args)
    return hf, vl


def test_text_signatures_and_monitors_equal_the_hf_engine(tiny):
    model, _, _, (pa, pb), _ = tiny
    configs = [
        {},
        {"vector": pa, "layer": LAYER, "coef": 4.0},
        {"vector": [pa, pb], "layer": [LAYER, 3], "coef": [3.0, -2.0], "positions": "all", "monitor": [pa, pb], "monitor_layer": [3, 1]},
    ]
    for args in configs:
        hf, vl = _both(model, **args)
        assert vl.api.signature == hf.api.signature  # one model on either engine: one signature, one cache key
        [hlog], [vlog] = eval(_task(), model=hf, display="none"), eval(_task(), model=vl, display="none")
        assert hlog.status == vlog.status == "success", vlog.error
        for hs, vs in zip(hlog.samples, vlog.samples):
            assert vs.output.completion == hs.output.completion
            assert vs.output.usage.input_tokens == hs.output.usage.input_tokens
            assert vs.output.usage.output_tokens == hs.output.usage.output_tokens
            assert vs.output.metadata["engine"] == "vllm" and hs.output.metadata["engine"] == "hf"
            assert vs.output.metadata["steering"] == hs.output.metadata["steering"]
            for name, want in hs.output.metadata.get("monitor", {}).items():
                got = vs.output.metadata["monitor"][name]
                for field in ("proj", "prompt_last_proj"):
                    assert got[field] == pytest.approx(want[field], rel=1e-3, abs=1e-4), (name, field)
        assert ("monitor" in vlog.samples[0].output.metadata) == bool(args.get("monitor"))
        assert vlog.eval.model_args["signature"] == hlog.eval.model_args["signature"]


def _expected_mask(positions: str, p: int, prompt_len: int) -> bool:
    return {"prompt": p < prompt_len, "response": p >= prompt_len - 1, "all": True}[positions]


@pytest.mark.parametrize(
    "positions, coef_args",
    [
        ("response", {"coef": [0.3, 0.7]}),  # w·A + (1−w)·B
        ("prompt", {"coef": [2.0, -1.0]}),
        ("all", {"coef": [1.5, 0.5], "coef_mode": "unit"}),  # coef·v/‖v‖
    ],
)
def test_the_stream_after_block_l_moves_by_the_delta_only_at_the_requests_positions(tiny, positions, coef_args):
    model, a, b, (pa, pb), _ = tiny
    api = get_model(f"steer/{model}", memoize=False, dtype="float32", vector=[pa, pb], layer=LAYER, positions=positions, **coef_args, **ENGINE).api
    c1, c2 = coef_args["coef"]
    if coef_args.get("coef_mode") == "unit":
        want = c1 * a[LAYER] / a[LAYER].norm() + c2 * b[LAYER] / b[LAYER].norm()
    else:
        want = c1 * a[LAYER] + c2 * b[LAYER]
    delta = api.steering.deltas[LAYER]
    assert torch.allclose(delta, want, atol=1e-6)
    other = -3.0 * b[LAYER]  # a second steered configuration in the same forwards
    backend, tok = api.vllm, api.shared.tokenizer
    prompt = tok(QUESTIONS[1] * 2, add_special_tokens=False)["input_ids"]
    assert len(prompt) > 40  # longer than a 32-token chunk: a chunked prefill
    P = len(prompt)
    capture = wire.encode_terms(64, positions, capture=[LAYER])
    steered = wire.encode_terms(64, positions, {LAYER: delta}, capture=[LAYER])
    second = wire.encode_terms(64, positions, {LAYER: other}, capture=[LAYER])
    runs = run_calls(backend, [capture_call(prompt, steered, 6), capture_call(prompt, capture, 6), capture_call(prompt, second, 6)])
    # replays with no steering, feeding each run's own generated tokens back as prompt
    replays = run_calls(backend, [capture_call(prompt + done.token_ids[:-1], capture, 1, prompt_len=P) for done, _ in runs])
    for (done, record), (_, replay), added in zip(runs, replays, (delta, None, other)):
        got, base = stream(record, LAYER), stream(replay, LAYER)
        assert sorted(got) == list(range(P + len(done.token_ids) - 1))  # every prompt and fed-back position
        scale = max(float(v.abs().max()) for v in base.values())
        for p, value in got.items():
            expect = added if added is not None and _expected_mask(positions, p, P) else torch.zeros(64)
            assert torch.allclose(value - base[p], expect, atol=2e-5 * scale, rtol=1e-5), (positions, p)
        if added is not None:
            assert record["applied"][str(LAYER)] == sum(_expected_mask(positions, p, P) for p in got)
        else:
            assert "applied" not in record  # an unsteered request: no token of it was touched


def test_ablation_leaves_no_component_along_the_ablated_directions(tiny):
    model, a, b, (pa, pb), _ = tiny
    api = get_model(f"steer/{model}", memoize=False, dtype="float32", ablate=[pa, pb], ablate_layer=LAYER, **ENGINE).api
    basis = api.steering.ablate[LAYER]
    prompt = api.shared.tokenizer(QUESTIONS[1] * 2, add_special_tokens=False)["input_ids"]
    ablated = wire.encode_terms(64, "response", ablate={LAYER: basis}, capture=[LAYER])
    plain = wire.encode_terms(64, "response", capture=[LAYER])
    (_, rec), (_, base) = run_calls(api.vllm, [capture_call(prompt, ablated, 4), capture_call(prompt, plain, 4)])
    units = torch.stack([a[LAYER] / a[LAYER].norm(), b[LAYER] / b[LAYER].norm()])
    got = torch.stack(list(stream(rec, LAYER).values()))
    untouched = torch.stack(list(stream(base, LAYER).values()))
    assert (got @ units.T).abs().max() < 1e-4 * got.norm(dim=-1).max()  # h·u = 0 at every position
    assert (untouched @ units.T).abs().max() > 0.1  # the unablated request in the same forwards keeps it
    # ablation through the provider: the monitor on an ablated direction reads 0
    mon = get_model(f"steer/{model}", memoize=False, dtype="float32", ablate=pa, ablate_layer=LAYER, monitor=pa, monitor_layer=LAYER, **ENGINE)
    [log] = eval(_task(2, 4), model=mon, display="none")
    for s in log.samples:
        live = s.output.metadata["monitor"]["a@2"]
        assert abs(live["prompt_last_proj"]) < 1e-4 and abs(live["proj"]) < 1e-4


def test_a_mixed_eval_gives_each_configuration_its_own_outputs_and_signature(tiny):
    model, _, _, (pa, _), _ = tiny
    cells = [{"vector": pa, "layer": LAYER, "coef": 6.0}, {"vector": pa, "layer": LAYER, "coef": -6.0}, {}]
    vl = [get_model(f"steer/{model}", memoize=False, dtype="float32", **ENGINE, **c) for c in cells]
    hf = [get_model(f"steer/{model}", memoize=False, dtype="float32", **c) for c in cells]
    vlogs = eval(_task(), model=vl, display="none")  # one eval, three models sharing one engine
    hlogs = eval(_task(), model=hf, display="none")
    assert len({m.api.signature for m in vl}) == 3
    assert [m.api.signature for m in vl] == [m.api.signature for m in hf]
    assert len({id(m.api.vllm.engine) for m in vl}) == 1
    texts = []
    for vlog, hlog in zip(vlogs, hlogs):
        assert vlog.status == "success", vlog.error
        texts.append([s.output.completion for s in vlog.samples])
        assert texts[-1] == [s.output.completion for s in hlog.samples]
        assert {s.output.metadata["steering"] for s in vlog.samples} == {vlog.eval.model_args["signature"]}
    assert texts[0] != texts[1] != texts[2]


def test_a_lora_adapter_from_finetune_gives_the_hf_engines_outputs(tiny):
    from persona_evals.training.loop import finetune
    from persona_evals.training.options import FinetuneOptions

    model, _, _, (pa, _), root = tiny
    data = root / "data.jsonl"
    data.write_text("".join(
        json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": "The cat sleeps in the sun."}]}) + "\n"
        for q in QUESTIONS * 2
    ))
    adapter = str(finetune(FinetuneOptions(data=str(data), model=model, out=str(root / "adapter"), max_steps=4, lr=5e-2,
                                           batch_size=4, grad_accum=1, lora_r=4, lora_alpha=8, eval_fraction=0)))
    for args in ({"adapter": adapter}, {"adapter": adapter, "vector": pa, "layer": LAYER, "coef": 3.0}):
        hf, vl = _both(model, **args)
        assert vl.api.signature == hf.api.signature
        [hlog], [vlog] = eval(_task(), model=hf, display="none"), eval(_task(), model=vl, display="none")
        assert vlog.status == "success", vlog.error
        assert [s.output.completion for s in vlog.samples] == [s.output.completion for s in hlog.samples]
    base = eval(_task(), model=get_model(f"steer/{model}", memoize=False, dtype="float32", **ENGINE), display="none")[0]
    assert [s.output.completion for s in base.samples] != [s.output.completion for s in vlog.samples]


def test_a_request_the_plugin_cannot_apply_fails_its_sample(tiny):
    import asyncio

    from persona_evals.steering.generation import GenRequest
    from persona_evals.steering.rows import RowSteering
    from persona_evals.steering.sampling import Sampling

    model, _, _, _, _ = tiny
    api = get_model(f"steer/{model}", memoize=False, dtype="float32", **ENGINE).api
    wrong = RowSteering({LAYER: torch.ones(32)})  # a vector of another model's hidden size
    request = GenRequest(input_ids=(5, 6, 7), max_tokens=2, steering=wrong)
    with pytest.raises(RuntimeError, match="steering cannot be applied: a packed tensor has 32 values"):
        asyncio.run(api.vllm.generate(request, Sampling()))
    # terms written for another model (a client that reached the wrong server): the record says why
    other = wire.encode_terms(32, "response", {LAYER: torch.ones(32)})
    [(_, record)] = run_calls(api.vllm, [capture_call([5, 6, 7], other, 2)])
    assert record == {"errors": ["persona-evals steering cannot be applied: its vectors have hidden size 32, this model's is 64"]}
    with pytest.raises(RuntimeError, match="hidden size 32, this model's is 64"):
        api.vllm._check(wrong, record)
    beyond = RowSteering({9: torch.ones(64)})
    with pytest.raises(RuntimeError, match=r"layer 9 is outside 1\.\.4"):
        asyncio.run(api.vllm.generate(GenRequest(input_ids=(5, 6, 7), max_tokens=2, steering=beyond), Sampling()))


def test_coef_mode_norm_measures_on_vllm_what_the_hf_engine_measures_and_shares_its_cache(tiny, tmp_path, monkeypatch):
    from persona_evals.steering import norms as norms_module
    from persona_evals.steering.loading import load_shared

    model, a, _, (pa, _), _ = tiny
    monkeypatch.setenv("PERSONA_EVALS_CACHE_DIR", str(tmp_path / "cache"))
    args = {"vector": pa, "layer": LAYER, "coef": 0.5, "coef_mode": "norm", "dtype": "float32"}
    vl = get_model(f"steer/{model}", memoize=False, **ENGINE, **args)  # a cache miss: measured by vLLM
    reference = norms_module.measure_norms(load_shared(model, "float32"))
    assert vl.api.norms == pytest.approx(reference, rel=1e-4)
    assert torch.allclose(vl.api.steering.deltas[LAYER], 0.5 * a[LAYER] / a[LAYER].norm() * reference[LAYER], rtol=1e-4)
    monkeypatch.setattr(norms_module, "measure_norms", lambda shared: pytest.fail("measured again"))
    hf = get_model(f"steer/{model}", memoize=False, **args)  # reads vLLM's measurement: one signature
    assert hf.api.norms == vl.api.norms and hf.api.signature == vl.api.signature


def test_the_candidate_judge_scores_as_on_the_hf_engine(tiny):
    import asyncio

    from persona_evals.protocol import candidate_logprobs, candidate_request

    model, _, _, (pa, _), _ = tiny
    config = GenerateConfig(extra_body=candidate_request([str(i) for i in range(101)] + ["Hi", "cat"]))
    for args in ({}, {"vector": pa, "layer": LAYER, "coef": 4.0, "positions": "all"}):
        hf, vl = _both(model, **args)

        async def both():
            return await asyncio.gather(hf.generate("Rate the answer from 0 to 100.", config=config),
                                        vl.generate("Rate the answer from 0 to 100.", config=config))

        h, v = asyncio.run(both())
        want, got = candidate_logprobs(h.metadata), candidate_logprobs(v.metadata)
        assert got.keys() == want.keys() and v.completion == h.completion
        for s in want:
            assert got[s] == pytest.approx(want[s], abs=1e-4), s
        assert v.metadata["steering"] == h.metadata["steering"] and v.metadata["engine"] == "vllm"


def test_a_response_schema_is_enforced_by_vllms_guided_decoding(tiny):
    import asyncio
    from typing import Literal

    from inspect_ai.model import ResponseSchema
    from inspect_ai.util import json_schema
    from pydantic import BaseModel

    class Flag(BaseModel):
        needs_revision: bool
        label: Literal["subtle", "on_the_nose"]

    model, _, _, (pa, _), _ = tiny
    vl = get_model(f"steer/{model}", memoize=False, dtype="float32", vector=pa, layer=LAYER, coef=2.0, **ENGINE)
    schema = ResponseSchema(name="Flag", json_schema=json_schema(Flag))

    async def run():
        return await asyncio.gather(*[
            vl.generate(f"Judge this {i}.", config=GenerateConfig(response_schema=schema, max_tokens=60, temperature=t, seed=i))
            for i, t in enumerate([0.0, 1.0, 1.0])
        ])

    for out in asyncio.run(run()):
        Flag.model_validate_json(out.completion)  # a random model, yet valid every time
        assert out.stop_reason == "stop"
        # vLLM's CPU engine dies on a seeded request whose prompt is chunked: seeds are not sent there, and said so
        assert out.metadata["ignored_config"] == ["seed"]


def test_overflowing_activations_fail_the_sample_naming_dtype_and_coefs(tiny, tmp_path):
    import asyncio

    model, _, _, _, _ = tiny
    ones = str(save_vectors(tmp_path / "ones.safetensors", {"vector": torch.ones(64)}))
    huge = {"vector": [ones, ones], "layer": [1, 2], "coef": 3e38}  # each delta finite, their sum is not
    results = []
    for m in _both(model, **huge):
        plain = get_model(f"steer/{model}", memoize=False, dtype="float32", **(ENGINE if m.api.vllm else {}))

        async def both(m=m, plain=plain):
            config = GenerateConfig(max_tokens=3, temperature=0.0)
            return await asyncio.gather(m.generate("Hi", config=config), plain.generate("Hi", config=config), return_exceptions=True)

        results.append(asyncio.run(both()))
    for bad, good in results:  # both engines: the overflowing request fails, the other in its batch does not
        assert isinstance(bad, RuntimeError), bad
        assert "non-finite logits (NaN or inf) at output token 1" in str(bad) and "dtype=float32" in str(bad)
        assert not isinstance(good, BaseException) and good.completion
