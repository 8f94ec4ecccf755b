"""Exact, structural tests of the steering hooks and the decode loop on tiny random models."""

from dataclasses import replace

import pytest
import torch
from transformers import AutoModelForCausalLM

from persona_evals.steering.generation import GenRequest, Sampling, generate_batch
from persona_evals.steering.hooks import PositionMask, active_hook_count, record_residual, steer_residual
from persona_evals.steering.layers import decoder_blocks
from persona_evals.steering.loading import load_shared
from persona_evals.steering.rows import Monitor, RowSteering

PROMPTS = ["What is the capital of France?", "Hi", "Tell me about the lazy dog and the quick brown fox."]


def _requests(shared, prompts=PROMPTS, max_tokens=6, **kw):
    out = []
    for p in prompts:
        text = shared.tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        ids = shared.tokenizer(text, add_special_tokens=False)["input_ids"]
        out.append(GenRequest(input_ids=tuple(ids), max_tokens=max_tokens, **kw))
    return out


def _steered(requests, steering):
    """The requests, each steered by `steering` (every row its own `RowSteering`, as the provider sends them)."""
    return [replace(r, steering=steering) for r in requests]


def _manual_forward(model, ids, layer, delta):
    """Run the blocks one by one, adding `delta` to the output of block `layer`."""
    inner = model.model
    h = inner.embed_tokens(ids)
    pos = torch.arange(ids.shape[1]).unsqueeze(0)
    pe = inner.rotary_emb(h, position_ids=pos)
    states = [h]
    for i, block in enumerate(inner.layers, start=1):
        out = block(h, attention_mask=None, position_embeddings=pe, position_ids=pos)
        h = out[0] if isinstance(out, tuple) else out
        if i == layer:
            h = h + delta
        states.append(h)
    return states, model.lm_head(inner.norm(h))


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_steering_equals_adding_to_hidden_states_in_a_manual_forward(tiny_model, layer):
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    torch.manual_seed(1)
    v, coef = torch.randn(model.config.hidden_size), 3.0
    with torch.no_grad():
        plain = model(ids, output_hidden_states=True)
        with steer_residual(model, {layer: coef * v}, PositionMask(None)):
            steered = model(ids, output_hidden_states=True)
        states, logits = _manual_forward(model, ids, layer, coef * v)
    for i in range(layer):  # upstream of the hook: untouched
        torch.testing.assert_close(steered.hidden_states[i], plain.hidden_states[i])
    torch.testing.assert_close(steered.hidden_states[layer], plain.hidden_states[layer] + coef * v)
    for i in range(layer + 1):
        torch.testing.assert_close(steered.hidden_states[i], states[i])
    torch.testing.assert_close(steered.logits, logits, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(steered.logits, plain.logits)
    assert active_hook_count(model) == 0


def test_hooks_are_removed_even_on_error(tiny_llama):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    with pytest.raises(RuntimeError, match="boom"):
        with steer_residual(model, {1: torch.ones(64), 3: torch.ones(64)}, PositionMask()):
            assert active_hook_count(model) == 2
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        with record_residual(model, [2]):
            raise RuntimeError("boom")
    assert active_hook_count(model) == 0


def test_tuple_block_outputs_are_handled():
    """transformers 4.x blocks return tuples: the hook edits item 0 and keeps the rest."""
    class Block(torch.nn.Module):
        def forward(self, x):
            return (x * 1.0, "cache")

    class Fake(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Module()
            self.model.layers = torch.nn.ModuleList([Block(), Block()])

    fake = Fake()
    with steer_residual(fake, {2: torch.tensor([1.0, 2.0])}, PositionMask(None)):
        out = fake.model.layers[1](torch.zeros(1, 3, 2))
    assert out[1] == "cache" and torch.equal(out[0], torch.tensor([[1.0, 2.0]] * 3).unsqueeze(0))


def _applied_deltas(shared, layer, delta, positions, requests, monkeypatch):
    """Per forward: (block output seen by the next block) - (raw block output)."""
    from contextlib import contextmanager

    import persona_evals.steering.rows as rows  # where the steering hooks are attached (`applied`)

    blocks = decoder_blocks(shared.model)
    raw, seen = [], []
    original = rows.steer_residual

    @contextmanager
    def spy(model, deltas, pm):
        with original(model, deltas, pm):
            # prepended after the steering hook: runs before it, so it sees the raw output
            h = blocks[layer - 1].register_forward_hook(
                lambda m, a, o: raw.append((o[0] if isinstance(o, tuple) else o).clone()), prepend=True
            )
            try:
                yield
            finally:
                h.remove()

    monkeypatch.setattr(rows, "steer_residual", spy)
    h2 = blocks[layer].register_forward_pre_hook(
        lambda m, a, k: seen.append((a[0] if a else k["hidden_states"]).clone()), with_kwargs=True
    )
    try:
        results = generate_batch(shared, _steered(requests, RowSteering({layer: delta}, positions)), Sampling())
    finally:
        h2.remove()
    assert len(raw) == len(seen)
    return [(s - r).cpu() for r, s in zip(raw, seen)], results


@pytest.mark.parametrize("positions", ["prompt", "response", "all"])
def test_each_positions_mode_steers_exactly_its_positions(tiny_model, positions, monkeypatch):
    shared = load_shared(tiny_model, dtype="float32")
    requests = _requests(shared)
    lengths = [len(r.input_ids) for r in requests]
    width = max(lengths)
    delta = torch.randn(shared.hidden_size)
    diffs, results = _applied_deltas(shared, 2, delta, positions, requests, monkeypatch)
    prefill, decodes = diffs[0], diffs[1:]
    assert prefill.shape[:2] == (len(requests), width) and len(decodes) >= 1
    for row, n in enumerate(lengths):
        for col in range(width):
            is_pad = col < width - n
            is_last_prompt = col == width - 1
            want = (not is_pad) and (positions in ("prompt", "all") or (positions == "response" and is_last_prompt))
            torch.testing.assert_close(prefill[row, col], delta if want else torch.zeros_like(delta))
    for step in decodes:  # every fed-back generated token
        want = delta if positions in ("response", "all") else torch.zeros_like(delta)
        for row in range(step.shape[0]):  # finished rows leave the batch
            torch.testing.assert_close(step[row, 0], want)
    assert active_hook_count(shared.model) == 0


def test_first_generated_token_is_steered_under_response(tiny_llama):
    """The first token comes from the prefill logits: `response` must change them, `prompt` too."""
    shared = load_shared(tiny_llama)
    req = _requests(shared, PROMPTS[:1], max_tokens=1, )
    lp = Sampling(logprobs=True, top_logprobs=1)
    base = generate_batch(shared, req, lp)[0].logprobs[0]
    big = torch.randn(shared.hidden_size) * 20
    for positions in ("response", "prompt", "all"):
        steered = generate_batch(shared, _steered(req, RowSteering({2: big}, positions)), lp)[0].logprobs[0]
        assert steered.top != base.top, positions


def test_greedy_unsteered_matches_transformers_generate(tiny_model):
    shared = load_shared(tiny_model, dtype="float32")
    requests = _requests(shared, max_tokens=10)
    tok, model = shared.tokenizer, shared.model
    texts = [tok.decode(list(r.input_ids)) for r in requests]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(shared.device)
    ref = model.generate(**enc, max_new_tokens=10, do_sample=False, output_logits=True, return_dict_in_generate=True)
    for coef_zero in (RowSteering(), RowSteering({2: torch.zeros(shared.hidden_size)}, "all")):
        ours = generate_batch(shared, _steered(requests, coef_zero), Sampling(logprobs=True, top_logprobs=5))
        for i, res in enumerate(ours):
            want = ref.sequences[i, enc["input_ids"].shape[1]:].tolist()[: len(res.token_ids)]
            assert res.token_ids == want
            for step, lp in enumerate(res.logprobs):
                ref_lp = torch.log_softmax(ref.logits[step][i].float(), -1).cpu()
                assert lp.logprob == pytest.approx(float(ref_lp[lp.token_id]), abs=1e-4)
                assert [t for t, _ in lp.top] == torch.topk(ref_lp, 5).indices.tolist()


def test_usage_counts_no_padding_and_stop_reasons(tiny_llama):
    shared = load_shared(tiny_llama)
    requests = _requests(shared, max_tokens=4)
    results = generate_batch(shared, requests, Sampling())
    for r, res in zip(requests, results):
        assert res.input_tokens == len(r.input_ids)  # unpadded, though rows differ in length
        assert res.output_tokens == len(res.token_ids) <= 4
        assert res.stop_reason == ("max_tokens" if len(res.token_ids) == 4 and res.token_ids[-1] not in shared.eos_token_ids else "stop")


def test_stop_sequences_cut_the_text(tiny_llama):
    shared = load_shared(tiny_llama)
    free = generate_batch(shared, _requests(shared, PROMPTS[:1], max_tokens=12), Sampling())[0]
    stop = free.text[3:6]
    assert stop.strip(), free.text
    cut = generate_batch(shared, _requests(shared, PROMPTS[:1], max_tokens=12, stop_seqs=(stop,)), Sampling())[0]
    assert cut.stop_reason == "stop"
    assert cut.text == free.text[: free.text.find(stop)]
    assert len(cut.token_ids) < len(free.token_ids)


def test_seeded_sampling_is_per_request_not_per_batch(tiny_llama):
    shared = load_shared(tiny_llama, dtype="float32")  # not bf16 (auto on a GPU): a batch shape must not flip a draw
    s = Sampling(greedy=False, temperature=1.0)
    alone = generate_batch(shared, _requests(shared, PROMPTS[:1], max_tokens=8, seed=7), s)[0]
    batched = generate_batch(shared, _requests(shared, PROMPTS, max_tokens=8, seed=7), s)[0]
    other = generate_batch(shared, _requests(shared, PROMPTS[:1], max_tokens=8, seed=8), s)[0]
    assert alone.token_ids == batched.token_ids
    assert alone.token_ids != other.token_ids


def test_top_k_one_is_greedy(tiny_llama):
    shared = load_shared(tiny_llama)
    greedy = generate_batch(shared, _requests(shared, max_tokens=6), Sampling())
    topk1 = generate_batch(shared, _requests(shared, max_tokens=6), Sampling(greedy=False, top_k=1))
    assert [r.token_ids for r in greedy] == [r.token_ids for r in topk1]


def test_monitor_projection_equals_a_plain_forward(tiny_model):
    shared = load_shared(tiny_model, dtype="float32")
    requests = _requests(shared, max_tokens=5)
    direction = torch.randn(shared.hidden_size)
    layer = 2
    results = generate_batch(shared, _steered(requests, RowSteering(monitors=(Monitor("m", layer, direction),))), Sampling())
    unit = direction / direction.norm()
    for r, res in zip(requests, results):
        body = [t for t in res.token_ids if t not in shared.eos_token_ids]
        ids = torch.tensor([list(r.input_ids) + body], device=shared.device)
        with torch.no_grad():
            hs = shared.model(ids, output_hidden_states=True).hidden_states[layer][0].cpu()
        n = len(r.input_ids)
        got = res.extras["monitor"]["m"]
        assert got["prompt_last_proj"] == pytest.approx(float(hs[n - 1] @ unit), abs=1e-3)
        assert got["proj"] == pytest.approx(float(hs[n:].mean(0) @ unit), abs=1e-3)
