"""Shared pieces of the tests that need a LoRA adapter: a chat file and a few steps of `finetune`
on a tiny model (the adapter's weights move, so it changes the model's text)."""

from __future__ import annotations

import json
from pathlib import Path


def write_chats(path: Path, pairs: list[tuple[str, str]]) -> Path:
    """A JSONL chat file, one user turn and one assistant turn per line."""
    path.write_text("".join(
        json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}) + "\n"
        for q, a in pairs
    ))
    return path


def train_adapter(model: str, data: Path, out: Path, **options) -> str:
    """`finetune` with a tiny LoRA (r 4, alpha 8) for 4 steps of 4 rows at a high rate; `options`
    override any `FinetuneOptions` field. Returns the adapter folder."""
    from persona_evals.training.loop import finetune
    from persona_evals.training.options import FinetuneOptions

    settings = {"max_steps": 4, "lr": 5e-2, "batch_size": 4, "grad_accum": 1, "lora_r": 4, "lora_alpha": 8,
                "eval_fraction": 0, **options}
    return str(finetune(FinetuneOptions(data=str(data), model=model, out=str(out), **settings)))
