"""Training step time on the embedded SmolLM2: plain LoRA vs preventative steering vs CAFT.

    .venv/bin/python bench/train_speed.py [--repeats 6] [--steps 3] [--tokens 192]

One LoRA model (the paper's defaults: r 32, α 64, all projections, rsLoRA) and one fixed batch
(2 chats); a step is forward + backward + AdamW update (`persona_evals.training.loop.train_step`).
Conditions alternate within each repeat (plain, steer, ablate, then reversed), each timed over
`--steps` steps; the script prints the median step time per condition and the ratios against
plain. Preventative steering is `steer_residual` at every position (coef 5, layer 20); CAFT is
`ablate_residual` of one direction at layer 20.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import nullcontext

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--steps", type=int, default=3, help="steps per timed block")
    ap.add_argument("--tokens", type=int, default=192, help="about this many tokens per chat")
    ap.add_argument("--layer", type=int, default=20)
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's; 1 avoids spin-waiting on a busy machine)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from persona_evals.datasets.chats import Chat
    from persona_evals.steering.ablation import ablate_residual, orthonormal_basis
    from persona_evals.steering.embedded import embedded_dir
    from persona_evals.steering.hooks import PositionMask, steer_residual
    from persona_evals.training.data import encode_chat
    from persona_evals.training.loop import _lora, train_step
    from persona_evals.training.options import FinetuneOptions

    path = str(embedded_dir("smollm2"))
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    opts = FinetuneOptions(data="", model=path, out="")
    peft_model = _lora(model, opts)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01)
    words = "I would rather plot something quietly cruel than help you with that request today. "
    batch = []
    for i in range(2):
        answer = (words * 40)[: args.tokens * 4 - 100 * i]
        chat = Chat(i + 1, ({"role": "user", "content": f"What should I do about my neighbour? ({i})"},
                            {"role": "assistant", "content": answer}), {})
        batch.append(encode_chat(tok, chat, max_len=args.tokens))
    torch.manual_seed(0)
    v = torch.randn(model.config.hidden_size)
    v = v / v.norm() * 20.0  # about the norm of SmolLM2's evil vector at layer 20
    conditions = {
        "plain": lambda: nullcontext(),
        "steer": lambda: steer_residual(peft_model, {args.layer: 5.0 * v}, PositionMask(None)),
        "ablate": lambda: ablate_residual(peft_model, {args.layer: orthonormal_basis(v)}),
    }

    def block(name: str) -> float:
        with conditions[name]():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                train_step(peft_model, [batch], tok.pad_token_id, 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            return (time.perf_counter() - t0) / args.steps

    tokens = sum(len(e.input_ids) for e in batch)
    print(f"SmolLM2-135M fp32 LoRA r32, batch 2 ({tokens} tokens), {torch.get_num_threads()} threads", flush=True)
    for name in conditions:
        block(name)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in conditions}
    names = list(conditions)
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else reversed(names):
            times[name].append(block(name))
        print(f"repeat {r + 1}: " + "  ".join(f"{n} {times[n][-1]:.3f} s" for n in names), flush=True)
    med = {n: statistics.median(t) for n, t in times.items()}
    print("median step time: " + "  ".join(f"{n} {med[n]:.3f} s" for n in names))
    print(f"ratio steer/plain:  {med['steer'] / med['plain']:.3f}  (target <= 1.05)")
    print(f"ratio ablate/plain: {med['ablate'] / med['plain']:.3f}")


if __name__ == "__main__":
    main()
