"""Principled Personas plots: per-task metric heatmaps and stacked verdict bars per model.

Both read the rows of ``persona-evals metrics`` (its ``metrics.csv`` via ``--csv``, or computed
from the logs). Heatmap cells are coloured only where the effect is significant (grey otherwise),
as in the paper.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

VERDICTS = ("Positive", "Not significant", "Negative")
CSV_COLUMNS = ("model", "mitigation", "task", "metric", "value", "verdict")  # what the plots read
VERDICT_COLOURS = {"Positive": "#2b8cbe", "Not significant": "#d9d9d9", "Negative": "#e34a33"}


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.viz.common import add_log_arguments

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
    from persona_evals.argtypes import int_between
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
        from persona_evals.viz.common import csv_float, read_csv_rows

        table = read_csv_rows(args.csv, "--csv", CSV_COLUMNS, "`persona-evals metrics` (metrics.csv)")
        # line 1 is the header
        rows = [{**r, "value": csv_float(r, "value", args.csv, i)} for i, r in enumerate(table, start=2)]
    else:
        from persona_evals.accuracy.metrics import compute_metrics
        from persona_evals.accuracy.results import collect_hits
        from persona_evals.logs import resolve_logs

        runs = collect_hits(resolve_logs(args.logs, args.log_dir, newest_only=False))
        rows = [r.as_dict() for r in compute_metrics(runs, n_boot=args.n_boot)]
    found = sorted({str(r["mitigation"]) for r in rows})
    rows = [r for r in rows if r["mitigation"] == args.mitigation]
    if not rows:
        raise ValueError(f"no metric rows for --mitigation {args.mitigation}; the rows have: {', '.join(found) or 'none'}")
    return rows


def run_heatmap(args: argparse.Namespace) -> int:
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    print(f"wrote {save_figure(heatmap_figure(load_rows(args)), args.out, args.overwrite)}")
    return 0


def run_verdicts(args: argparse.Namespace) -> int:
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    print(f"wrote {save_figure(verdict_figure(load_rows(args)), args.out, args.overwrite)}")
    return 0


def heatmap_figure(rows: list[dict[str, Any]]) -> Any:
    """One panel per metric: tasks x models, annotated values, grey where not significant."""
    import matplotlib.pyplot as plt
    import numpy as np

    metrics = sorted({r["metric"] for r in rows})
    tasks = sorted({r["task"] for r in rows})
    models = sorted({r["model"] for r in rows})
    cols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(
        nrows,
        cols,
        figsize=(3 + 1.6 * len(models) * cols, 1 + 0.45 * len(tasks) * nrows),
        squeeze=False,
    )
    for ax, metric in zip(axes.flat, metrics, strict=False):
        values = np.full((len(tasks), len(models)), np.nan)
        significant = np.zeros_like(values, dtype=bool)
        for r in (r for r in rows if r["metric"] == metric):
            i, j = tasks.index(r["task"]), models.index(r["model"])
            values[i, j], significant[i, j] = r["value"], r["verdict"] != "Not significant"
        limit = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 1.0
        ax.imshow(
            np.where(np.isnan(values), np.nan, 0), cmap="Greys", vmin=-4, vmax=4, aspect="auto"
        )
        ax.imshow(
            np.where(significant, values, np.nan),
            cmap="RdBu",
            vmin=-limit or -1,
            vmax=limit or 1,
            aspect="auto",
        )
        for (i, j), v in np.ndenumerate(values):
            strong = significant[i, j] and abs(v) > 0.6 * (limit or 1)
            text = "n/a" if np.isnan(v) else f"{v:+.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if strong else "black",
            )
        ax.set_title(metric, fontsize=9)
        ax.set_xticks(range(len(models)), models, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(tasks)), tasks, fontsize=7)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    fig.suptitle("Persona effects per task (coloured where p < .05)")
    fig.tight_layout()
    return fig


def verdict_figure(rows: list[dict[str, Any]]) -> Any:
    """One panel per model: for each metric, how many tasks are Positive / Not significant / Negative."""
    import matplotlib.pyplot as plt

    models = sorted({r["model"] for r in rows})
    metrics = sorted({r["metric"] for r in rows})
    fig, axes = plt.subplots(
        1,
        len(models),
        figsize=(4 + 3 * len(models), 0.5 * len(metrics) + 1.5),
        sharey=True,
        squeeze=False,
    )
    for ax, model in zip(axes[0], models, strict=True):
        left = [0] * len(metrics)
        for verdict in VERDICTS:
            counts = [
                sum(
                    1
                    for r in rows
                    if r["model"] == model and r["metric"] == m and r["verdict"] == verdict
                )
                for m in metrics
            ]
            ax.barh(metrics, counts, left=left, color=VERDICT_COLOURS[verdict], label=verdict)
            left = [a + b for a, b in zip(left, counts, strict=True)]
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("tasks")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
