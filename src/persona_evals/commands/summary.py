"""`persona-evals summary`: a one-screen summary of an eval log (default: the newest in a dir)."""

from __future__ import annotations

import argparse
import math
import os
import textwrap
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.argtypes import nonnegative_int

    p = sub.add_parser("summary", help="one-screen summary of an eval log")
    p.add_argument("log", nargs="?", help="log file or directory (default: newest in --log-dir)")
    p.add_argument(
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where to look for the newest log (default: $INSPECT_LOG_DIR or ./logs)",
    )
    p.add_argument("--samples", type=nonnegative_int, default=3, help="how many samples to show (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from persona_evals.logs import newest_log

    if args.log and Path(args.log).is_dir():
        path = newest_log(args.log, arg=None)
    else:
        path = args.log or newest_log(args.log_dir)
    print(summarize(path, samples=args.samples))  # a missing or unreadable log is a LogError naming it
    return 0


def summarize(path: str, samples: int = 3) -> str:
    """Task, model and steering args, status, every metric, and the first few samples."""
    from persona_evals.logs import read_task_log

    log = read_task_log(path)
    ev = log.eval
    lines = [
        f"log:    {path}",
        f"task:   {ev.task}  {ev.task_args or ''}".rstrip(),
        f"model:  {ev.model}  {ev.model_args or ''}".rstrip(),
        f"status: {log.status}" + (f"  ({log.error.message})" if log.error else ""),
    ]
    if ev.model_roles:
        roles = ", ".join(f"{k}={v.model}" for k, v in ev.model_roles.items())
        lines.append(f"roles:  {roles}")
    if log.results:
        lines.append(f"samples: {log.results.completed_samples}/{log.results.total_samples}")
        for score in log.results.scores:
            metrics = "  ".join(f"{k}={m.value:.3f}" for k, m in score.metrics.items())
            reducer = f" ({score.reducer})" if score.reducer else ""
            unscored = f"  unscored={score.unscored_samples}" if getattr(score, "unscored_samples", 0) else ""
            lines.append(f"  {score.name}{reducer}: {metrics}{unscored}")
    for sample in (log.samples or [])[:samples]:
        question = sample.input if isinstance(sample.input, str) else sample.input[-1].text
        answer = sample.output.completion if sample.output else ""
        scores = ", ".join(f"{k}={v.value}" for k, v in (sample.scores or {}).items())
        lines.append(f"- [{sample.id}] {_clip(question)}")
        lines.append(f"  -> {_clip(answer)}  ({scores})")
        for name, score in (sample.scores or {}).items():
            if isinstance(score.value, float) and math.isnan(score.value) and score.explanation:
                lines.append(f"     {name} unscored: {_clip(score.explanation)}")
    return "\n".join(lines)


def _clip(text: str, width: int = 110) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" ...")
