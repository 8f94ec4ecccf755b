"""`persona-evals viz persona-regression`: the Principled Personas regression coefficients with their
95% confidence intervals, a panel per regression family.

Reads the rows of ``persona-evals metrics --regression`` (its ``regression.csv`` via ``--csv``, or
fitted from the logs with `persona_evals.accuracy.regression`, with the model-size fits when
``--model-size``/``--model-sizes`` are given), draws them with
`persona_evals.viz.persona_regression`, and writes the PNG with a CSV of the plotted numbers.
"""

from __future__ import annotations

import argparse
from typing import Any

CSV_COLUMNS = ("mitigation", "family", "term", "coef", "ci_low", "ci_high", "p_value")  # what the plot reads
PLOTTED = ["mitigation", "family", "term", "coef", "se", "ci_low", "ci_high", "p_value", "correction", "p_adjusted",
           "r2_marginal", "r2_conditional"]
TEXT = ("mitigation", "family", "term", "correction")


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.model_sizes import add_size_arguments
    from persona_evals.commands.viz.options import add_log_arguments

    p = sub.add_parser("persona-regression", help="persona_accuracy: mixed-effects regression coefficients, 95%% CI")
    add_log_arguments(p, "results/persona_accuracy/regression.png")
    p.add_argument("--csv", help="regression.csv written by `persona-evals metrics --regression` (instead of logs)")
    p.add_argument("--mitigation", default="none", help="which mitigation's fits to plot (default none)")
    add_size_arguments(p)  # fitting from logs: the model-size regressions too
    p.set_defaults(func=run)


def load_frame(args: argparse.Namespace) -> Any:
    """The non-intercept coefficient rows of one mitigation, from --csv or fitted from the logs."""
    import pandas as pd

    from persona_evals.commands.model_sizes import given, model_sizes

    if args.csv:
        from persona_evals.paths import csv_float, read_csv_rows

        if given(args):
            raise ValueError("--model-size, --model-family and --model-sizes fit from logs; with --csv the sizes are "
                             "those `persona-evals metrics --regression` was given")
        table = read_csv_rows(args.csv, "--csv", CSV_COLUMNS, "`persona-evals metrics --regression` (regression.csv)")
        rows = [{**r, **{c: csv_float(r, c, args.csv, i) for c in PLOTTED if c in r and c not in TEXT}}
                for i, r in enumerate(table, start=2)]  # line 1 is the header
    else:
        from persona_evals.accuracy.regression import fit_families
        from persona_evals.accuracy.results import collect_hits
        from persona_evals.logs import find_logs

        runs = collect_hits(find_logs(args.logs, args.log_dir, newest_only=False))  # checked as it reads them
        sizes = model_sizes(args, sorted({run.model for run in runs})) if given(args) else None
        fitted, skipped = fit_families(runs, sizes=sizes)
        rows = [r.as_dict() for r in fitted]
        for line in skipped:
            print(f"skipped {line}")
    frame = pd.DataFrame(rows)
    found = sorted(frame["mitigation"].astype(str).unique())
    frame = frame[(frame["mitigation"] == args.mitigation) & (frame["term"] != "Intercept")]
    if frame.empty:
        raise ValueError(f"no regression coefficients for --mitigation {args.mitigation}; the rows have: {', '.join(found)}")
    return frame[[c for c in PLOTTED if c in frame]].reset_index(drop=True)


def run(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.persona_regression import plot_regression

    use_agg()
    frame = load_frame(args)
    png, table = write_plot(plot_regression(frame), frame.to_dict("records"), args.out, args.overwrite)
    print(f"wrote {png} and {table} ({len(frame)} coefficients, families {', '.join(dict.fromkeys(frame['family']))})")
    return 0
