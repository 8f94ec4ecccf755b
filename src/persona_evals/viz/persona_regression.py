"""`persona-evals viz persona-regression`: the Principled Personas regression coefficients with
their 95% confidence intervals, a panel per regression family (as the paper's coefficient plots).

Reads the rows of ``persona-evals metrics --regression`` (its ``regression.csv`` via ``--csv``, or
fitted from the logs). The intercepts are not drawn (they are the baseline's accuracy, not an
effect). Writes the PNG and, beside it, a CSV of the plotted numbers.
"""

from __future__ import annotations

import argparse
from typing import Any

CSV_COLUMNS = ("mitigation", "family", "term", "coef", "ci_low", "ci_high", "p_value")  # what the plot reads
PLOTTED = ["mitigation", "family", "term", "coef", "se", "ci_low", "ci_high", "p_value", "correction", "p_adjusted", "r2_marginal", "r2_conditional"]
XLABEL = {"category": "accuracy vs the empty persona", "education": "accuracy per education level",
          "domain": "accuracy per domain step (out → related → in)", "specialization": "accuracy per specialization step"}


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.viz.common import add_log_arguments

    p = sub.add_parser("persona-regression", help="persona_accuracy: mixed-effects regression coefficients, 95%% CI")
    add_log_arguments(p, "results/persona_accuracy/regression.png", companions=(".csv",))
    p.add_argument("--csv", help="regression.csv written by `persona-evals metrics --regression` (instead of logs)")
    p.add_argument("--mitigation", default="none", help="which mitigation's fits to plot (default none)")
    p.set_defaults(func=run)


def load_frame(args: argparse.Namespace) -> Any:
    """The non-intercept coefficient rows of one mitigation, from --csv or fitted from the logs."""
    import pandas as pd

    if args.csv:
        from persona_evals.viz.common import csv_float, read_csv_rows

        table = read_csv_rows(args.csv, "--csv", CSV_COLUMNS, "`persona-evals metrics --regression` (regression.csv)")
        numeric = [c for c in PLOTTED if c not in ("mitigation", "family", "term", "correction")]
        rows = [
            {**r, **{c: csv_float(r, c, args.csv, i) for c in numeric if c in r}} for i, r in enumerate(table, start=2)
        ]
    else:
        from persona_evals.accuracy.regression import fit_families
        from persona_evals.accuracy.results import collect_hits
        from persona_evals.logs import resolve_logs

        runs = collect_hits(resolve_logs(args.logs, args.log_dir, newest_only=False))
        rows = [r.as_dict() for r in fit_families(runs)[0]]
    frame = pd.DataFrame(rows)
    found = sorted(frame["mitigation"].astype(str).unique())
    frame = frame[(frame["mitigation"] == args.mitigation) & (frame["term"] != "Intercept")]
    if frame.empty:
        raise ValueError(f"no regression coefficients for --mitigation {args.mitigation}; the rows have: {', '.join(found)}")
    return frame[[c for c in PLOTTED if c in frame]].reset_index(drop=True)


def plot_regression(frame: Any) -> Any:
    """A panel per family: each term's coefficient (dot) and 95% CI (bar), sorted, zero dashed."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    families = list(dict.fromkeys(frame["family"]))
    heights = [max(1.2, 0.45 * len(frame[frame["family"] == f]) + 0.9) for f in families]
    fig, axes = plt.subplots(len(families), 1, figsize=(6.5, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, family in zip(axes[:, 0], families):
        rows = frame[frame["family"] == family].sort_values("coef")
        y = range(len(rows))
        ax.errorbar(rows["coef"], y, xerr=[rows["coef"] - rows["ci_low"], rows["ci_high"] - rows["coef"]],
                    fmt="o", color="#2b6cb0", ecolor="#2b6cb0", capsize=4)
        ax.axvline(0, color="black", linewidth=1, linestyle="--")
        ax.set_yticks(list(y), list(rows["term"]))
        r2 = ""
        if "r2_marginal" in rows and rows["r2_marginal"].notna().any():
            r2 = f"  (R² marginal {rows['r2_marginal'].iloc[0]:.2f}, conditional {rows['r2_conditional'].iloc[0]:.2f})"
        ax.set_title(f"{family}{r2}", fontsize="medium")
        ax.set_xlabel(XLABEL.get(family, "coefficient"))
    fig.suptitle(f"mixed-effects coefficients, 95% CI (mitigation {frame['mitigation'].iloc[0]})")
    fig.tight_layout()
    return fig


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from persona_evals.paths import write_csv
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    frame = load_frame(args)
    out = save_figure(plot_regression(frame), args.out, args.overwrite)
    table = write_csv(frame.to_dict("records"), Path(out).with_suffix(".csv"), overwrite=args.overwrite)
    print(f"wrote {out} and {table} ({len(frame)} coefficients, families {', '.join(dict.fromkeys(frame['family']))})")
    return 0
