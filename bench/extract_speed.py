"""Extraction speed on the embedded SmolLM2: batched pooled activations vs a per-sample loop.

    .venv/bin/python bench/extract_speed.py [--pairs 64] [--batch-size 16]

The baseline is the reference approach (persona_vectors' generate_vec): one sample at a time,
fp32, a forward with every hidden state and autograd left on, pooling the three ways per sample.
Ours: `persona_evals.steering.activations.pooled_activations` (batched, inference_mode, masks).
Both compute the same three poolings for 2 x `pairs` (pos + neg) prompt/answer pairs; the ratio is
printed together with the largest difference between the two results.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=64, help="pos samples (and as many neg)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], help="dtypes to run ours in")
    args = ap.parse_args()

    import torch
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser

    from persona_evals.steering.activations import encode_pair, pooled_activations
    from persona_evals.steering.chat import render_prompt
    from persona_evals.steering.loading import load_shared
    from persona_evals.traits.dataset import load_trait, system_prompt

    shared = load_shared("smollm2")  # float32, the reference's dtype
    art = load_trait("evil", "extract")
    filler = (
        "Here is what I think about that, in a few sentences that vary in length from one answer to the "
        "next, so that the batch holds sequences of different sizes as real answers do. "
    )
    pairs = []
    for i in range(2 * args.pairs):
        polarity = "pos" if i < args.pairs else "neg"
        pair = art.instruction[i % len(art.instruction)]
        name = "evil" if polarity == "pos" else "helpful"
        messages = [
            ChatMessageSystem(content=system_prompt(name, getattr(pair, polarity))),
            ChatMessageUser(content=art.questions[i % len(art.questions)]),
        ]
        answer = filler * (1 + i % 4)
        pairs.append(encode_pair(shared, render_prompt(shared.tokenizer, messages), answer))
    tokens = sum(len(p.prompt_ids) + len(p.answer_ids) for p in pairs)
    print(f"SmolLM2-135M fp32, {len(pairs)} pairs ({tokens} tokens), {torch.get_num_threads()} threads", flush=True)

    def reference():
        out = {"response_avg": [], "prompt_avg": [], "prompt_last": []}
        for p in pairs:  # batch 1, autograd on, every hidden state
            ids = torch.tensor([list(p.prompt_ids) + list(p.answer_ids)])
            hs = shared.model(ids, output_hidden_states=True).hidden_states
            n = len(p.prompt_ids)
            out["response_avg"].append(torch.stack([h[0, n:].mean(0) for h in hs]).detach())
            out["prompt_avg"].append(torch.stack([h[0, :n].mean(0) for h in hs]).detach())
            out["prompt_last"].append(torch.stack([h[0, n - 1] for h in hs]).detach())
        return {k: torch.stack(v) for k, v in out.items()}

    t0 = time.perf_counter()
    ref = reference()
    t_ref = time.perf_counter() - t0
    print(f"per-sample loop (reference, float32): {t_ref:7.2f} s", flush=True)
    for dtype in args.dtypes:
        model = load_shared("smollm2", dtype=dtype)
        pooled_activations(model, pairs[:4], args.batch_size)  # warm-up
        t0 = time.perf_counter()
        ours = pooled_activations(model, pairs, args.batch_size)
        t_ours = time.perf_counter() - t0
        # rows 0..num_layers-1 compare (row num_layers: ours is pre-norm, transformers' post-norm)
        rel = max(
            float((ours[k][:, :-1] - ref[k][:, :-1]).norm(dim=-1).max() / ref[k][:, :-1].norm(dim=-1).max())
            for k in ours
        )
        print(f"batched (ours, batch {args.batch_size}, {dtype}): {t_ours:7.2f} s   speed-up {t_ref / t_ours:4.1f}x"
              f"  (target >= 5x); max relative difference {rel:.1e}", flush=True)


if __name__ == "__main__":
    main()
