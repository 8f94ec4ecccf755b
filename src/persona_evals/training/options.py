"""`FinetuneOptions`: every setting of a LoRA finetuning run, with the paper's defaults.

Defaults follow the persona-vectors training config (reference §8): LoRA r 32, α 64, dropout 0,
no bias, all attention and MLP projections, rsLoRA; lr 1e-5 linear with 5 warmup steps, weight
decay 0.01, batch 2 × grad-accum 8, one epoch, seed 0, 10 % eval split, max sequence 2048. The
paper's optimizer was 8-bit AdamW (bitsandbytes, GPU only); we use torch's AdamW, which is what
8-bit AdamW approximates. The record of a run stores `describe()`, and `--resume` refuses to
continue a run whose options differ.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from persona_evals.steering_args import VectorSpec

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup")
DTYPES = ("auto", "float32", "bfloat16", "float16")
# options that may change between an interrupted run and its resumption
_RESUMABLE = ("out",)
# upper bounds (inclusive): a larger value is a typo that would train for days or exhaust memory
LIMITS: dict[str, float] = {
    "epochs": 1_000, "max_steps": 1_000_000, "warmup_steps": 1_000_000, "save_steps": 1_000_000,
    "batch_size": 4_096, "grad_accum": 4_096, "max_seq_len": 1_048_576, "lora_r": 4_096, "seed": 2**32 - 1,
}


@dataclass(frozen=True)
class FinetuneOptions:
    data: str
    model: str
    out: str
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    lr: float = 1e-5
    schedule: str = "linear"
    warmup_steps: int = 5
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0  # 0: no clipping (transformers' Trainer default is 1.0)
    grad_accum: int = 8
    batch_size: int = 2
    seed: int = 0
    eval_fraction: float = 0.1
    save_steps: int | None = None  # a checkpoint every N optimizer steps
    max_seq_len: int = 2048
    lora_r: int = 32
    lora_alpha: float = 64.0
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = LORA_TARGETS
    rslora: bool = True
    steer: tuple[VectorSpec, ...] = ()  # preventative steering: + coef·v at every position
    ablate: tuple[VectorSpec, ...] = ()  # CAFT: directions projected out at every position
    dtype: str = "auto"  # bfloat16 on a CUDA GPU that supports it, float32 elsewhere
    device: str = "auto"

    def validate(self) -> None:
        """Raise ValueError naming the option (`--name`) for any value out of range (see `LIMITS`)."""
        for name, high in LIMITS.items():
            value = getattr(self, name)
            if value is not None and not value <= high:  # `not <=`: nan and inf are refused too
                raise ValueError(f"--{name.replace('_', '-')} must be at most {high:,}, got {value}")
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")
        positive = {"epochs": self.epochs, "lr": self.lr, "grad_accum": self.grad_accum,
                    "batch_size": self.batch_size, "max_seq_len": self.max_seq_len, "lora_r": self.lora_r,
                    "lora_alpha": self.lora_alpha}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {value}")
        for name in ("max_steps", "save_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        for name in ("warmup_steps", "weight_decay", "max_grad_norm"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"--lora-dropout must be in [0, 1), got {self.lora_dropout}")
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"--eval-fraction must be in [0, 1), got {self.eval_fraction}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"--schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"--dtype must be one of {list(DTYPES)}, got {self.dtype!r}")
        if not self.lora_targets:
            raise ValueError("--lora-targets must name at least one module")

    def describe(self) -> dict[str, Any]:
        """Every option as JSON-able values (the run record's `options`)."""
        out = asdict(self)
        out["lora_targets"] = list(self.lora_targets)
        for name in ("steer", "ablate"):
            out[name] = [asdict(t) for t in getattr(self, name)]
        return out

    def differences(self, recorded: dict[str, Any]) -> list[str]:
        """Options that differ from a recorded `describe()` (ignoring out)."""
        now = self.describe()
        return [f.name for f in fields(self) if f.name not in _RESUMABLE and now[f.name] != recorded.get(f.name)]
