"""The ``viz steering-linearity`` plot: steering with A and B together vs the sum of A and B alone.

Draws `persona_evals.compare.linearity.linearity_rows`: a panel per metric, for each combined run
its parts' effects, their sum and its own effect, with the interference's 95% interval.
"""

from __future__ import annotations

from typing import Any


def linearity_figure(rows: list[dict[str, Any]], metrics: list[str]) -> Any:
    """A panel per metric: for each combined run, each part's effect, their sum and the combined effect."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if any(r["metric"] == m for r in rows)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        mine = [r for r in rows if r["metric"] == metric]
        width = 0.8 / (max(len(r["part_effects"]) for r in mine) + 2)
        for i, r in enumerate(mine):
            bars = [*r["part_effects"], r["predicted"], r["observed"]]
            parts = r["parts"].split("; ")
            names = [p.split(":")[0] if len(mine) == 1 else f"part {k + 1}" for k, p in enumerate(parts)]
            colours = ["#d9d9d9", "#a6a6a6", "#737373", "#4d4d4d"][: len(parts)] + ["#2b8cbe", "#e34a33"]
            for j, (value, name) in enumerate(zip(bars, [*names, "sum of parts", "together"], strict=True)):
                ax.bar(i + (j - (len(bars) - 1) / 2) * width, value, width, color=colours[j % len(colours)],
                       label=name if i == 0 else None)
            ax.errorbar(i + (len(bars) - 1) / 2 * width, r["observed"], color="black", capsize=3,
                        yerr=[[r["interference"] - r["ci_low"]], [r["ci_high"] - r["interference"]]])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(mine)), [r["combined"] for r in mine], rotation=15, ha="right", fontsize=8)
        ax.set(ylabel=f"effect on {metric} vs unsteered", title=metric)
        ax.legend(fontsize="small")
    fig.suptitle("steering together vs the sum of steering alone (bar: interference 95% CI)")
    fig.tight_layout()
    return fig
