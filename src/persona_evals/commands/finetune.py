"""`persona-evals finetune`: LoRA finetuning on chat JSONL, optionally with preventative steering
(`--steer V --layer L --coef C`, repeatable) or CAFT (`--ablate V[,V...] --layer L`).

Each `--steer` or `--ablate` starts a term; the `--layer` (and `--coef`) after it belong to it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from persona_evals.commands.argtypes import finite_float
from persona_evals.training.options import LIMITS, LORA_TARGETS, SCHEDULES, FinetuneOptions

_D = FinetuneOptions(data="", model="", out="")  # the defaults, shown in --help


class _Term(argparse.Action):
    """Keep --steer/--ablate/--layer/--coef in command-line order, so each term gets its own."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        seq = list(getattr(namespace, "terms", None) or [])
        seq.append((self.dest, values))
        namespace.terms = seq


def register(sub: argparse._SubParsersAction) -> None:
    limits = ", ".join(f"--{k.replace('_', '-')} {v:,}" for k, v in LIMITS.items())
    p = sub.add_parser("finetune", help="LoRA-finetune a local model on chat JSONL (preventative steering, CAFT)",
                       epilog=f"Upper bounds, checked before any work: {limits}.")
    p.add_argument("data", help='chat JSONL: one {"messages": [{"role", "content"}, ...]} per line')
    p.add_argument("--model", required=True, help="base model: embedded name (smollm2), local dir or HF id")
    p.add_argument("--out", required=True, help="adapter folder to write (built as OUT.partial, renamed when done)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=finite_float, default=_D.epochs)
    g.add_argument("--max-steps", type=int, default=None, help="optimizer steps (overrides --epochs)")
    g.add_argument("--lr", type=finite_float, default=_D.lr)
    g.add_argument("--schedule", choices=SCHEDULES, default=_D.schedule)
    g.add_argument("--warmup-steps", type=int, default=_D.warmup_steps)
    g.add_argument("--weight-decay", type=finite_float, default=_D.weight_decay)
    g.add_argument("--max-grad-norm", type=finite_float, default=_D.max_grad_norm, help="0: no clipping")
    g.add_argument("--batch-size", type=int, default=_D.batch_size)
    g.add_argument("--grad-accum", type=int, default=_D.grad_accum)
    g.add_argument("--seed", type=int, default=_D.seed)
    g.add_argument("--eval-fraction", type=finite_float, default=_D.eval_fraction, help="held-out share of chats")
    g.add_argument("--save-steps", type=int, default=None, help="a checkpoint-N folder every N steps")
    g.add_argument("--max-seq-len", type=int, default=_D.max_seq_len)
    g.add_argument("--dtype", default=_D.dtype, choices=["auto", "float32", "bfloat16", "float16"],
                   help="auto: bfloat16 on a CUDA GPU, float32 elsewhere")
    g.add_argument("--device", default=_D.device)
    lo = p.add_argument_group("LoRA")
    lo.add_argument("--lora-r", type=int, default=_D.lora_r)
    lo.add_argument("--lora-alpha", type=finite_float, default=_D.lora_alpha)
    lo.add_argument("--lora-dropout", type=finite_float, default=_D.lora_dropout)
    lo.add_argument("--lora-targets", default=",".join(LORA_TARGETS), help="comma-separated module names")
    lo.add_argument("--no-rslora", action="store_true", help="scale by alpha/r instead of alpha/sqrt(r)")
    st = p.add_argument_group("steering during training")
    st.add_argument("--steer", action=_Term, metavar="VECTOR", help="add coef·v at every position (repeatable)")
    st.add_argument("--ablate", action=_Term, metavar="VECTOR[,VECTOR...]", help="project these directions out (CAFT)")
    st.add_argument("--layer", action=_Term, type=int, help="layer of the preceding --steer/--ablate")
    st.add_argument("--coef", action=_Term, type=finite_float, help="coefficient of the preceding --steer")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its newest checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, terms=[])


def run(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.commands.progress import ProgressBar
    from persona_evals.datasets.chats import ChatFileError
    from persona_evals.errors import SteeringConfigError
    from persona_evals.training.loop import finetune
    from persona_evals.training.rundir import RunDirError

    steer, ablate = parse_terms(args.terms)
    opts = FinetuneOptions(
        data=args.data, model=args.model, out=args.out, epochs=args.epochs, max_steps=args.max_steps, lr=args.lr,
        schedule=args.schedule, warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
        max_grad_norm=args.max_grad_norm, grad_accum=args.grad_accum, batch_size=args.batch_size, seed=args.seed,
        eval_fraction=args.eval_fraction, save_steps=args.save_steps, max_seq_len=args.max_seq_len,
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        lora_targets=tuple(t.strip() for t in args.lora_targets.split(",") if t.strip()),
        rslora=not args.no_rslora, steer=steer, ablate=ablate, dtype=args.dtype, device=args.device,
    )
    try:
        with ProgressBar("finetune", "step", enabled=not args.quiet) as bar:
            out = finetune(opts, resume=args.resume, overwrite=args.overwrite, progress=bar, note=print)
    except (ChatFileError, SteeringConfigError, RunDirError, ValueError) as ex:
        raise CommandError(str(ex)) from None
    except KeyboardInterrupt:
        print(f"\npersona-evals finetune: {interrupted(Path(args.out))}", file=sys.stderr)
        return 130  # the shell's code for a command stopped by Ctrl-C
    print(f"wrote {out}  (adapter, run.json; evaluate with: inspect eval ... --model steer/{args.model} -M adapter={out})")
    return 0


def interrupted(out: Path) -> str:
    """What a Ctrl-C left: the checkpoint `--resume` continues from, or nothing."""
    from persona_evals.training.rundir import RunDir

    run = RunDir(out)
    kept = run.latest_checkpoint() if run.partial.is_dir() else None
    if kept is None:
        return "interrupted before the first checkpoint; nothing was kept (--save-steps N saves one every N steps)"
    return f"interrupted; {kept} is kept: run the same command with --resume to continue from it"


def parse_terms(seq: list[tuple[str, Any]]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Group the ordered --steer/--ablate/--layer/--coef values into steering and ablation terms."""
    from persona_evals.commands import CommandError
    from persona_evals.steering_args import VectorSpec, vector_ref

    groups: list[dict[str, Any]] = []
    for name, value in seq:
        if name in ("steer", "ablate"):
            groups.append({"kind": name, "vector": value})
        elif not groups:
            raise CommandError(f"--{name} must follow the --steer or --ablate it belongs to")
        elif name in groups[-1]:
            raise CommandError(f"--{name} given twice for --{groups[-1]['kind']} {groups[-1]['vector']}")
        else:
            groups[-1][name] = value
    steer, ablate = [], []
    for g in groups:
        where = f"--{g['kind']} {g['vector']}"
        if "layer" not in g:
            raise CommandError(f"{where} needs a --layer after it")
        if g["kind"] == "steer":
            if "coef" not in g:
                raise CommandError(f"{where} needs a --coef after it")
            path, key = vector_ref(g["vector"])
            steer.append(VectorSpec(path=path, key=key or None, layer=g["layer"], coef=g["coef"]))
        else:
            if "coef" in g:
                raise CommandError(f"{where}: ablation has no --coef")
            for item in g["vector"].split(","):
                path, key = vector_ref(item)
                ablate.append(VectorSpec(path=path, key=key, layer=g["layer"], coef=0.0))
    return tuple(steer), tuple(ablate)
