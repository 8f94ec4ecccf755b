"""`persona-evals demo`: a real eval of the embedded SmolLM2, offline, then a one-screen summary."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the offline demo on the embedded SmolLM2 model")
    p.add_argument("--log-dir", default="logs/demo", help="where the demo's logs go (default logs/demo)")
    p.add_argument("--limit", type=int, default=None, help="samples per eval (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval
    from inspect_ai.model import get_model

    from persona_evals.cli import CommandError
    from persona_evals.commands.summary import summarize

    task_file = Path(__file__).resolve().parents[3] / "tasks" / "sanity.py"
    if not task_file.exists():
        raise CommandError(f"the demo runs tasks/sanity.py from a checkout; {task_file} is missing")
    logs = eval(
        f"{task_file}@capitals",
        model=get_model("steer/smollm2"),
        log_dir=args.log_dir,
        limit=args.limit,
    )
    log = logs[0]
    print()
    print(summarize(log.location, samples=5))
    print(f"\nOpen it with: inspect view --log-dir {args.log_dir}")
    return 0 if log.status == "success" else 1
