"""`persona-evals metrics`: expertise advantage, robustness and fidelity over persona_accuracy logs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics", help="Principled Personas metrics (advantage, robustness, fidelity) over logs"
    )
    p.add_argument(
        "logs",
        nargs="*",
        help="persona_accuracy log files or directories (default: all in --log-dir)",
    )
    p.add_argument(
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where to look when no logs are given (default: $INSPECT_LOG_DIR or ./logs)",
    )
    p.add_argument(
        "--out-dir",
        default="results/persona_accuracy",
        help="where metrics.csv, accuracy.csv and metrics.md go (default: results/persona_accuracy)",
    )
    p.add_argument(
        "--holm", action="store_true", help="add Holm-corrected p-values per model and mitigation"
    )
    p.add_argument(
        "--n-boot",
        type=int,
        default=10_000,
        help="bootstrap resamples for fidelity (default 10000)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from persona_evals.accuracy.metrics import compute_metrics
    from persona_evals.accuracy.results import collect_hits
    from persona_evals.accuracy.tables import markdown, write_accuracy_csv, write_csv
    from persona_evals.commands import CommandError
    from persona_evals.logs import LogError, resolve_logs

    if args.n_boot < 100:
        raise CommandError(f"--n-boot must be at least 100, got {args.n_boot}")
    try:
        runs = collect_hits(resolve_logs(args.logs, args.log_dir, newest_only=False))
        rows = compute_metrics(runs, use_holm=args.holm, n_boot=args.n_boot)
    except LogError as ex:
        raise CommandError(str(ex)) from ex
    out = Path(args.out_dir)
    write_csv(rows, out / "metrics.csv")
    write_accuracy_csv(runs, out / "accuracy.csv")
    table = markdown(rows, holm=args.holm)
    (out / "metrics.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"wrote {out / 'metrics.csv'}, {out / 'accuracy.csv'} and {out / 'metrics.md'}")
    return 0
