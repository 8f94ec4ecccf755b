"""Principled Personas plots: per-task metric heatmaps and stacked verdict bars per model.

Both draw the rows of ``persona-evals metrics`` (model, mitigation, task, metric, value, verdict).
Heatmap cells are coloured only where the effect is significant (grey otherwise), as in the paper.
"""

from __future__ import annotations

import math
from typing import Any

VERDICTS = ("Positive", "Not significant", "Negative")
VERDICT_COLOURS = {"Positive": "#2b8cbe", "Not significant": "#d9d9d9", "Negative": "#e34a33"}


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
