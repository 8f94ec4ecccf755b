"""Helpers shared by the plot commands: which logs to read, and where PNGs go."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def add_log_arguments(p: argparse.ArgumentParser, out_default: str) -> None:
    """The arguments every plot takes: logs (files or dirs), --log-dir and --out."""
    p.add_argument("logs", nargs="*", help="log files or directories (default: newest in --log-dir)")
    p.add_argument(
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where to look when no logs are given (default: $INSPECT_LOG_DIR or ./logs)",
    )
    p.add_argument("--out", default=out_default, help=f"PNG to write (default: {out_default})")


def resolve_logs(logs: list[str], log_dir: str, newest_only: bool = True) -> list[str]:
    """Expand directories to their logs; with no logs, the newest in `log_dir` (or all of them)."""
    from inspect_ai.log import list_eval_logs

    from persona_evals.cli import CommandError

    paths: list[str] = []
    for item in logs:
        if Path(item).is_dir():
            paths.extend(info.name for info in list_eval_logs(item))
        elif Path(item).exists():
            paths.append(str(item))
        else:
            raise CommandError(f"log {item} does not exist")
    if not logs:
        if not Path(log_dir).exists():
            raise CommandError(f"--log-dir {log_dir} does not exist")
        found = [info.name for info in list_eval_logs(log_dir)]
        if not found:
            raise CommandError(f"no eval logs in --log-dir {log_dir}")
        paths = found[:1] if newest_only else found
    return [p.removeprefix("file://") for p in paths]


def save_figure(fig: Any, out: str | Path) -> Path:
    """Write `fig` as a PNG (creating the folder) and close it."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return out


def use_agg() -> None:
    """Headless backend: our machines and CI have no display."""
    import matplotlib

    matplotlib.use("Agg")
