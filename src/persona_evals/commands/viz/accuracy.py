"""`persona-evals viz accuracy-heatmap|accuracy-verdicts`: Principled Personas plots.

Both read the rows of ``persona-evals metrics`` (its ``metrics.csv`` via ``--csv``, or computed
from the logs) and draw them with `persona_evals.viz.accuracy`; beside the PNG, a CSV of what is
drawn: the heatmap's cells (`CSV_COLUMNS`), the bars' counts per verdict.
"""

from __future__ import annotations

import argparse
from typing import Any

CSV_COLUMNS = ("model", "mitigation", "task", "metric", "value", "verdict")  # what the plots read


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    heat = sub.add_parser(
        "accuracy-heatmap", help="persona_accuracy: metric x task x model heatmaps"
    )
    add_log_arguments(heat, "results/persona_accuracy/heatmap.png")
    _common(heat)
    heat.set_defaults(func=run_heatmap)
    bars = sub.add_parser(
        "accuracy-verdicts", help="persona_accuracy: Positive/Not significant/Negative per model"
    )
    add_log_arguments(bars, "results/persona_accuracy/verdicts.png")
    _common(bars)
    bars.set_defaults(func=run_verdicts)


def _common(p: argparse.ArgumentParser) -> None:
    from persona_evals.commands.argtypes import int_between
    from persona_evals.stats import MAX_N_BOOT

    p.add_argument("--csv", help="metrics.csv written by `persona-evals metrics` (instead of logs)")
    p.add_argument(
        "--n-boot", type=int_between(100, MAX_N_BOOT), default=10_000,
        help=f"bootstrap resamples when reading logs, 100 to {MAX_N_BOOT:,} (default 10000)",
    )
    p.add_argument(
        "--mitigation", default="none", help="which mitigation's rows to plot (default none)"
    )


def load_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Metric rows (dicts) of one mitigation, from --csv or computed from the logs."""
    if args.csv:
        from persona_evals.paths import csv_float, read_csv_rows

        table = read_csv_rows(args.csv, "--csv", CSV_COLUMNS, "`persona-evals metrics` (metrics.csv)")
        # line 1 is the header
        rows = [{**r, "value": csv_float(r, "value", args.csv, i)} for i, r in enumerate(table, start=2)]
    else:
        from persona_evals.accuracy.metrics import compute_metrics
        from persona_evals.accuracy.results import collect_hits
        from persona_evals.logs import find_logs

        runs = collect_hits(find_logs(args.logs, args.log_dir, newest_only=False))  # checked as it reads them
        rows = [r.as_dict() for r in compute_metrics(runs, n_boot=args.n_boot)]
    found = sorted({str(r["mitigation"]) for r in rows})
    rows = [r for r in rows if r["mitigation"] == args.mitigation]
    if not rows:
        raise ValueError(f"no metric rows for --mitigation {args.mitigation}; the rows have: {', '.join(found) or 'none'}")
    return rows


def run_heatmap(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.viz.accuracy import heatmap_figure
    from persona_evals.viz.common import use_agg

    use_agg()
    rows = load_rows(args)
    png, table = write_plot(heatmap_figure(rows), rows, args.out, args.overwrite, CSV_COLUMNS)
    print(f"wrote {png} and {table}")
    return 0


def run_verdicts(args: argparse.Namespace) -> int:
    from persona_evals.accuracy.metrics import verdict_counts
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.viz.accuracy import verdict_figure
    from persona_evals.viz.common import use_agg

    use_agg()
    counts = verdict_counts(load_rows(args))
    png, table = write_plot(verdict_figure(counts), counts, args.out, args.overwrite)
    print(f"wrote {png} and {table}")
    return 0
