"""`persona-evals metrics`: expertise advantage, robustness and fidelity over persona_accuracy logs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

FILES = ("metrics.csv", "accuracy.csv", "metrics.md")


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.argtypes import int_between
    from persona_evals.paths import add_output_argument
    from persona_evals.stats import MAX_N_BOOT

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
    add_output_argument(
        p,
        "--out-dir",
        files=FILES,
        default="results/persona_accuracy",
        help="where metrics.csv, accuracy.csv and metrics.md go (default: results/persona_accuracy)",
    )
    p.add_argument(
        "--holm", action="store_true", help="add Holm-corrected p-values per model and mitigation"
    )
    p.add_argument(
        "--n-boot",
        type=int_between(100, MAX_N_BOOT),
        default=10_000,
        help=f"bootstrap resamples for fidelity, 100 to {MAX_N_BOOT:,} (default 10000)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from persona_evals.accuracy.metrics import compute_metrics
    from persona_evals.accuracy.results import collect_hits
    from persona_evals.accuracy.tables import markdown, write_accuracy_csv, write_csv
    from persona_evals.commands import CommandError
    from persona_evals.logs import resolve_logs
    from persona_evals.paths import write_text_atomic

    paths = resolve_logs(args.logs, args.log_dir, newest_only=False)
    runs = collect_hits(paths)  # LogError naming the log: the CLI prints it
    if not runs:
        raise CommandError(f"no scored persona_accuracy samples in {len(paths)} log(s): nothing to compute")
    rows = compute_metrics(runs, use_holm=args.holm, n_boot=args.n_boot)
    table = markdown(rows, holm=args.holm)
    out = Path(args.out_dir)
    write_csv(rows, out / "metrics.csv", args.overwrite)
    write_accuracy_csv(runs, out / "accuracy.csv", args.overwrite)
    write_text_atomic(out / "metrics.md", table, args.overwrite)
    print(table)
    print(f"wrote {out / 'metrics.csv'}, {out / 'accuracy.csv'} and {out / 'metrics.md'}")
    return 0
