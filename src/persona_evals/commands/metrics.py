"""`persona-evals metrics`: expertise advantage, robustness and fidelity over persona_accuracy logs,
and with ``--regression`` the paper's mixed-effects regressions of accuracy on persona type (and,
given model sizes, of each metric on model size)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

FILES = ("metrics.csv", "accuracy.csv", "metrics.md")
REGRESSION_FILES = ("regression.csv", "regression.md")


def _files(args: argparse.Namespace) -> tuple[str, ...]:
    return FILES + (REGRESSION_FILES if args.regression else ())


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.argtypes import int_between
    from persona_evals.commands.model_sizes import add_size_arguments
    from persona_evals.commands.outputs import add_output_argument
    from persona_evals.stats import MAX_N_BOOT
    from persona_evals.stats.significance import CORRECTIONS

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
        files=_files,
        default="results/persona_accuracy",
        help="where metrics.csv, accuracy.csv and metrics.md (and regression.csv, regression.md) go "
        "(default: results/persona_accuracy)",
    )
    p.add_argument(
        "--correction",
        choices=CORRECTIONS,
        default=None,
        help="multiple-testing correction of the p-values per model and mitigation: holm (family-wise "
        "error), bh (Benjamini-Hochberg, false discovery rate) or none (default); written into every output",
    )
    p.add_argument("--holm", action="store_true", help="the same as --correction holm")
    p.add_argument(
        "--regression",
        action="store_true",
        help="also fit the paper's mixed-effects regressions (accuracy on persona category, education, "
        "domain and specialization level; model x task random intercept; marginal and conditional R²; "
        "with --model-size, each metric on model size) to regression.csv and regression.md; plot with "
        "`persona-evals viz persona-regression`",
    )
    add_size_arguments(p)
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
    from persona_evals.commands.model_sizes import given
    from persona_evals.logs import find_logs
    from persona_evals.paths import write_text_atomic

    if given(args) and not args.regression:
        raise CommandError("--model-size, --model-family and --model-sizes are for --regression: add it")
    if args.holm and args.correction not in (None, "holm"):
        raise CommandError(f"--holm and --correction {args.correction} disagree: give one")
    correction = "holm" if args.holm else args.correction or "none"
    paths = find_logs(args.logs, args.log_dir, newest_only=False)
    runs = collect_hits(paths)  # reads each log once; LogError naming a bad one: the CLI prints it
    if not runs:
        raise CommandError(f"no scored persona_accuracy samples in {len(paths)} log(s): nothing to compute")
    sizes = _sizes(args, runs)
    rows = compute_metrics(runs, correction=correction, n_boot=args.n_boot)
    table = markdown(rows, correction=correction)
    fits = _regressions(runs, correction, sizes, rows) if args.regression else None  # before anything is written
    out = Path(args.out_dir)
    write_csv(rows, out / "metrics.csv", args.overwrite)
    write_accuracy_csv(runs, out / "accuracy.csv", args.overwrite)
    write_text_atomic(out / "metrics.md", table, args.overwrite)
    print(table)
    print(f"wrote {out / 'metrics.csv'}, {out / 'accuracy.csv'} and {out / 'metrics.md'}")
    if fits is not None:
        from persona_evals.accuracy.tables import regression_markdown, write_regression_csv

        reg_rows, skipped = fits
        text = regression_markdown(reg_rows, skipped)
        write_regression_csv(reg_rows, out / "regression.csv", args.overwrite)
        write_text_atomic(out / "regression.md", text, args.overwrite)
        print(text)
        print(f"wrote {out / 'regression.csv'} and {out / 'regression.md'}")
    return 0


def _sizes(args: argparse.Namespace, runs):  # -> ModelSizes | None
    """The model sizes for the scale regressions (checked before any work), None without --regression."""
    from persona_evals.commands import CommandError
    from persona_evals.commands.model_sizes import model_sizes

    if not args.regression:
        return None
    try:
        return model_sizes(args, sorted({run.model for run in runs}))
    except ValueError as ex:  # SizeError, or a --model-sizes file that cannot be read
        raise CommandError(str(ex)) from None


def _regressions(runs, correction: str, sizes, metrics):  # -> (rows, skipped lines)
    from persona_evals.accuracy.regression import fit_families
    from persona_evals.commands import CommandError
    from persona_evals.regression import RegressionError

    try:
        return fit_families(runs, correction=correction, sizes=sizes, metrics=metrics)
    except RegressionError as ex:
        raise CommandError(f"--regression: {ex}") from None
