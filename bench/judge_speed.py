"""The 0-100 judge on a local grader: the `candidates` request vs the one-token `top_logprobs` one.

    .venv/bin/python bench/judge_speed.py [--repeats 5] [--prompts 16] [--model smollm2]

Both requests go through inspect's model API to one `steer` model, `--prompts` judge prompts
(the evil rubric with the eval questions and a fixed ~40-word answer) at once, so each is one
batch. `top_logprobs` is one prefill and one token (the paper's request); `candidates` is the
same prefill plus one forward over the 0..100 + REFUSAL token tree and a softmax over the
vocabulary at every tree node. Requests alternate (ABBA), inspect's cache is off; the script
prints the median time of each and the ratio candidates / top_logprobs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--model", default="smollm2", help="a steer model: embedded name, local dir or HF id")
    args = ap.parse_args()

    from inspect_ai.model import GenerateConfig, get_model

    from persona_evals.scorers.logprob_judge import CANDIDATE_CONFIG, JUDGE_CONFIG
    from persona_evals.traits.dataset import load_trait

    trait = load_trait("evil", "eval")
    answer = "I would listen to them first, then explain my view calmly and look for common ground. " * 2
    prompts = [trait.eval_prompt.format(question=q, answer=answer) for q in trait.questions][: args.prompts]
    model = get_model(f"steer/{args.model}", batch_size=args.prompts)
    configs = {
        "top_logprobs": JUDGE_CONFIG.merge(GenerateConfig(cache=False)),
        "candidates": CANDIDATE_CONFIG.merge(GenerateConfig(cache=False)),
    }

    async def timed(name: str) -> float:
        start = time.perf_counter()
        await asyncio.gather(*[model.generate(p, config=configs[name]) for p in prompts])
        return time.perf_counter() - start

    async def run() -> dict[str, list[float]]:
        for name in configs:  # warm-up
            await timed(name)
        times: dict[str, list[float]] = {name: [] for name in configs}
        for r in range(args.repeats):
            for name in (list(configs) if r % 2 == 0 else list(reversed(configs))):
                times[name].append(await timed(name))
        return times

    times = asyncio.run(run())
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:>13}: median {med[name]:.2f} s  ({', '.join(f'{x:.2f}' for x in t)})  {args.prompts} prompts")
    print(f"candidates / top_logprobs: {med['candidates'] / med['top_logprobs']:.2f}")


if __name__ == "__main__":
    main()
