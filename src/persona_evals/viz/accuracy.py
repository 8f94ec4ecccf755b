"""Principled Personas plots: per-task metric heatmaps and stacked verdict bars per model.

The heatmap draws the rows of ``persona-evals metrics`` (model, mitigation, task, metric, value,
verdict), its cells coloured only where the effect is significant (grey otherwise), as in the paper;
the bars draw their counts per verdict (`persona_evals.accuracy.metrics.verdict_counts`).
"""

from __future__ import annotations

import math
from typing import Any

from persona_evals.stats.significance import VERDICTS

VERDICT_COLOURS = dict(zip(VERDICTS, ("#2b8cbe", "#d9d9d9", "#e34a33"), strict=True))


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
            values[i, j], significant[i, j] = r["value"], r["verdict"] != VERDICTS[1]
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


def verdict_figure(counts: list[dict[str, Any]]) -> Any:
    """One panel per model: for each metric, how many tasks are Positive / Not significant / Negative
    (the rows of `accuracy.metrics.verdict_counts`)."""
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in counts))
    metrics = list(dict.fromkeys(r["metric"] for r in counts))
    fig, axes = plt.subplots(
        1,
        len(models),
        figsize=(4 + 3 * len(models), 0.5 * len(metrics) + 1.5),
        sharey=True,
        squeeze=False,
    )
    n = {(r["model"], r["metric"], r["verdict"]): r["n_tasks"] for r in counts}
    for ax, model in zip(axes[0], models, strict=True):
        left = [0] * len(metrics)
        for verdict in VERDICTS:
            bars = [n.get((model, m, verdict), 0) for m in metrics]
            ax.barh(metrics, bars, left=left, color=VERDICT_COLOURS[verdict], label=verdict)
            left = [a + b for a, b in zip(left, bars, strict=True)]
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("tasks")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
