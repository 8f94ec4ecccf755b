"""Per-row steering: a batch that mixes steering configurations equals each configuration run
alone (tokens exactly; logprobs and monitor readings to float rounding of other batch shapes),
rows leaving the batch keep their own terms, and no hook outlives its batch."""

import math

import pytest
import torch

from persona_evals.steering.ablation import orthonormal_basis
from persona_evals.steering.generation import GenRequest, Sampling, generate_batch
from persona_evals.steering.hooks import active_hook_count
from persona_evals.steering.layers import decoder_blocks
from persona_evals.steering.loading import load_shared
from persona_evals.steering.rows import Monitor, RowSteering

PROMPTS = ["What is the capital of France?", "Hi", "Tell me about the lazy dog and the quick brown fox.", "0 1 2"]
MAX_TOKENS = [3, 9, 6, 8]  # rows finish (and leave the batch) at different steps


def _ids(shared, text):
    chat = shared.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
    return tuple(shared.tokenizer(chat, add_special_tokens=False)["input_ids"])


def configurations(shared):
    torch.manual_seed(0)
    h, last = shared.hidden_size, shared.num_layers
    v = torch.randn(h) * 4
    watch = Monitor("watch", 2, torch.randn(h))
    one, two = orthonormal_basis(v), orthonormal_basis(torch.randn(2, h))
    return [
        RowSteering(),
        RowSteering({2: v}, "response"),
        RowSteering({1: v, last - 1: -v}, "all"),
        RowSteering({2: 2 * v}, "prompt"),
        RowSteering({2: v}, "response", (watch,)),
        RowSteering({}, "response", (watch, Monitor("other", last - 1, torch.randn(h)))),
        RowSteering(ablate={2: two}),  # bases of different sizes: zero-padded in the batch
        RowSteering({2: v}, "all", (Monitor("v", 2, v),), ablate={2: one, 1: two}),  # steered along v, then v ablated
    ]


def _requests(shared, steering):
    return [GenRequest(_ids(shared, p), m, steering=steering) for p, m in zip(PROMPTS, MAX_TOKENS)]


def assert_mixed_equals_alone(shared, tol):
    sampling = Sampling(logprobs=True, top_logprobs=3)
    configs = configurations(shared)
    mixed = generate_batch(shared, [r for c in configs for r in _requests(shared, c)], sampling)
    alone = [res for c in configs for res in generate_batch(shared, _requests(shared, c), sampling)]
    assert [r.token_ids for r in mixed] == [r.token_ids for r in alone]
    for m, a in zip(mixed, alone):
        assert [[i for i, _ in t.top] for t in m.logprobs] == [[i for i, _ in t.top] for t in a.logprobs]
        # relative too: float32 rounding grows with depth and magnitude (SmolLM2 on one thread:
        # a log P of -2.329 off by 1.1e-4, 4.8e-5 of it)
        assert _values(m) == pytest.approx(_values(a), abs=tol, rel=tol, nan_ok=True)
    by_config = [mixed[i : i + len(PROMPTS)] for i in range(0, len(mixed), len(PROMPTS))]
    assert len({tuple(tuple(r.token_ids) for r in rows) for rows in by_config}) > 3  # the steering did something
    assert set(by_config[4][0].extras["monitor"]) == {"watch"}
    assert set(by_config[5][0].extras["monitor"]) == {"watch", "other"} and by_config[0][0].extras == {}
    for row in by_config[7]:  # the ablation runs after the steering at its layer: no v is left
        assert abs(row.extras["monitor"]["v"]["prompt_last_proj"]) < 1e-4 and abs(row.extras["monitor"]["v"]["proj"]) < 1e-4
    assert active_hook_count(shared.model) == 0


def _values(result):
    """Every float of a result: logprobs, top logprobs, monitor readings (NaN: no reading)."""
    out = [x for t in result.logprobs for x in (t.logprob, *(v for _, v in t.top))]
    for _, reading in sorted(result.extras.get("monitor", {}).items()):
        out += [math.nan if reading[k] is None else reading[k] for k in sorted(reading)]
    return out


def test_a_mixed_batch_equals_each_configuration_alone(tiny_model):
    # matrix products of other batch shapes (rows leave at different steps) round differently
    # in the last bits (~4e-6 here): values agree to 1e-4, tokens exactly
    assert_mixed_equals_alone(load_shared(tiny_model, dtype="float32"), tol=1e-4)


@pytest.mark.slow
def test_a_mixed_batch_equals_each_configuration_alone_on_smollm2(smollm2_dir):
    assert_mixed_equals_alone(load_shared("smollm2", dtype="float32"), tol=1e-4)


def test_no_hook_outlives_a_failing_batch(tiny_llama):
    shared = load_shared(tiny_llama, dtype="float32")
    calls = []

    def fail_on_third_forward(module, args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")

    configs = configurations(shared)
    handle = decoder_blocks(shared.model)[0].register_forward_pre_hook(fail_on_third_forward)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            generate_batch(shared, [r for c in configs for r in _requests(shared, c)], Sampling())
    finally:
        handle.remove()
    assert active_hook_count(shared.model) == 0
    ok = generate_batch(shared, _requests(shared, configs[1]), Sampling())  # the model still works
    assert all(r.output_tokens > 0 for r in ok)


def test_to_lists_reads_tensors_of_different_row_counts_in_one_transfer():
    from persona_evals.steering.sampling import to_lists

    tensors = [torch.arange(12.0).reshape(4, 3), torch.ones(0, 3), torch.full((2, 3), -1.5), torch.zeros(1, 3)]
    assert to_lists(tensors) == [t.tolist() for t in tensors]
    assert to_lists([torch.tensor([3, 1]), torch.tensor([7])]) == [[3, 1], [7]]
    assert to_lists([]) == []
