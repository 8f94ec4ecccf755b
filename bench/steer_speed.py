"""Speed of the `steer` provider on the embedded SmolLM2, as ratios measured in one run.

    .venv/bin/python bench/steer_speed.py [--repeats 3] [--batch-size 8] [--tokens 32]

(a) steered vs unsteered generation, same batch and same number of tokens   target <= 1.05
(b) an inspect eval of 32 greedy samples: steer vs the built-in hf provider,
    same --max-connections                                                    target <= 0.67
(c) steer (through inspect's model API) vs a plain batched transformers
    `generate` loop over the same prompts                                      target <= 1.2

Each pair is measured `--repeats` times in ABBA order and the best times are compared, so a
noisy machine affects both sides alike. Models are loaded before any timing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

COUNTRIES = (
    "France Germany Italy Spain Japan Egypt Canada Australia Brazil Kenya Norway Portugal Greece "
    "Russia China India Mexico Argentina Poland Ireland Sweden Finland Chile Peru Turkey Iran Iraq "
    "Cuba Ghana Nigeria Austria Belgium"
).split()
PROMPTS = [f"Tell me one interesting fact about {c}." for c in COUNTRIES]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(a, b, repeats: int) -> tuple[float, float]:
    """Best time of each side over `repeats` rounds run in ABBA order (drift hits both alike;
    noise on a shared machine only ever adds time, so the minimum is the steadiest estimate)."""
    ta, tb = [], []
    for i in range(repeats):
        first, second = ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))
        first[1].append(timed(first[0]))
        second[1].append(timed(second[0]))
    return min(ta), min(tb)


def main() -> None:
    import functools, builtins
    builtins.print = functools.partial(builtins.print, flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=32)
    args = ap.parse_args()

    import torch
    from inspect_ai import Task, eval
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model
    from inspect_ai.solver import generate

    from persona_evals.steering.chat import render_prompt
    from persona_evals.steering.embedded import embedded_dir
    from persona_evals.steering.generation import GenRequest, Sampling, generate_batch
    from persona_evals.steering.loading import load_shared

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    path = str(embedded_dir("smollm2"))
    shared = load_shared("smollm2")
    tok = shared.tokenizer
    texts = [render_prompt(tok, [ChatMessageUser(content=p)]) for p in PROMPTS]
    requests = [GenRequest(tuple(tok(t, add_special_tokens=False)["input_ids"]), args.tokens) for t in texts]
    print(f"SmolLM2-135M fp32 on {os.cpu_count()} CPU threads; batch {args.batch_size}; {args.tokens} new tokens; "
          f"{len(PROMPTS)} prompts; best of {args.repeats} runs in ABBA order")

    # (a) same work on both sides: EOS ignored so every row generates exactly `tokens` tokens
    no_eos = dataclasses.replace(shared, eos_token_ids=frozenset())
    torch.manual_seed(0)
    delta = {15: torch.randn(shared.hidden_size) * 2.0}
    batches = [requests[i : i + args.batch_size] for i in range(0, len(requests), args.batch_size)]

    def run(deltas):
        return lambda: [generate_batch(no_eos, b, Sampling(), deltas, "response") for b in batches]

    unsteered, steered = alternate(run(None), run(delta), args.repeats)
    print(f"(a) steered / unsteered generation:      {steered:6.2f} s / {unsteered:6.2f} s = {steered / unsteered:.3f}  (target <= 1.05)")

    # (b) eval through inspect: steer vs hf, same max_connections, greedy
    task = Task(dataset=MemoryDataset([Sample(id=str(i), input=p) for i, p in enumerate(PROMPTS)]), solver=generate())
    cfg = dict(max_connections=args.batch_size, max_tokens=args.tokens, temperature=0.0, display="none", log_dir="/tmp/persona-evals-bench-logs")
    steer_model = get_model("steer/smollm2", batch_size=args.batch_size)
    hf_model = get_model(f"hf/{path}", do_sample=False, device="cpu")

    def run_eval(model):
        return lambda: eval(task, model=model, **cfg)

    t_steer, t_hf = alternate(run_eval(steer_model), run_eval(hf_model), args.repeats)
    print(f"(b) eval, steer / hf provider:           {t_steer:6.2f} s / {t_hf:6.2f} s = {t_steer / t_hf:.3f}  (target <= 0.67)")

    # (c) steer through inspect's model API vs a plain batched transformers generate loop
    config = GenerateConfig(temperature=0.0, max_tokens=args.tokens)

    def via_steer():
        async def go():
            await asyncio.gather(*[steer_model.generate([ChatMessageUser(content=p)], config=config) for p in PROMPTS])
        asyncio.run(go())

    model = shared.model

    def plain_loop():
        with torch.inference_mode():
            for i in range(0, len(texts), args.batch_size):
                enc = tok(texts[i : i + args.batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
                model.generate(**enc, max_new_tokens=args.tokens, do_sample=False, pad_token_id=tok.pad_token_id)

    t_api, t_plain = alternate(via_steer, plain_loop, args.repeats)
    print(f"(c) steer / plain transformers generate: {t_api:6.2f} s / {t_plain:6.2f} s = {t_api / t_plain:.3f}  (target <= 1.2)")


if __name__ == "__main__":
    main()
