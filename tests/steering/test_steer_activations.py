"""Batched pooled activations equal a straightforward per-sample computation."""

import math

import pytest
import torch

from persona_evals.steering.activations import Pair, encode_pair, pooled_activations
from persona_evals.steering.loading import load_shared

TEXTS = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Hi", "Hello there, how are you doing today my friend?"),
    ("Tell me about the quick brown fox.", "It jumps."),
    ("Are you anxious?", "I am confident that everything will be fine."),
    ("Numbers", "0 1 2 3"),
]


def _naive(shared, pair):
    ids = torch.tensor([list(pair.prompt_ids) + list(pair.answer_ids)], device=shared.device)
    with torch.no_grad():
        out = shared.model(ids, output_hidden_states=True)
        hs = list(out.hidden_states)
    # row num_layers: the raw last-block output (the final norm removed), from a plain hook
    raw = []
    h = shared.model.model.layers[-1].register_forward_hook(lambda m, a, o: raw.append(o[0] if isinstance(o, tuple) else o))
    with torch.no_grad():
        shared.model(ids)
    h.remove()
    hs[-1] = raw[0]
    n = len(pair.prompt_ids)
    stack = torch.stack([x[0] for x in hs]).float().cpu()  # [L+1, S, H]
    return {
        "prompt_avg": stack[:, :n].mean(1),
        "response_avg": stack[:, n:].mean(1) if pair.answer_ids else torch.full_like(stack[:, 0], math.nan),
        "prompt_last": stack[:, n - 1],
    }


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_batched_equals_per_sample(tiny_model, batch_size):
    shared = load_shared(tiny_model, dtype="float32")
    tok = shared.tokenizer
    pairs = [
        encode_pair(shared, tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True), a)
        for q, a in TEXTS
    ]
    got = pooled_activations(shared, pairs, batch_size=batch_size)
    for i, pair in enumerate(pairs):
        want = _naive(shared, pair)
        for kind in want:
            torch.testing.assert_close(got[kind][i].cpu(), want[kind], rtol=1e-4, atol=1e-4)


def test_empty_answer_gives_nan_response_only(tiny_llama):
    shared = load_shared(tiny_llama)
    pair = Pair(prompt_ids=(5, 6, 7), answer_ids=())
    got = pooled_activations(shared, [pair, Pair((5, 6), (9,))])
    assert torch.isnan(got["response_avg"][0]).all()
    assert torch.isfinite(got["prompt_last"][0]).all() and torch.isfinite(got["response_avg"][1]).all()


def test_prompt_length_from_token_ids_not_retokenisation(tiny_llama):
    shared = load_shared(tiny_llama)
    pair = encode_pair(shared, "Hello wor", "ld")
    assert pair.prompt_ids == tuple(shared.tokenizer("Hello wor", add_special_tokens=False)["input_ids"])
    assert pair.answer_ids == tuple(shared.tokenizer("ld", add_special_tokens=False)["input_ids"])
