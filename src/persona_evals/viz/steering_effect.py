"""The ``viz steering-effect`` plot: any task's metric (95% CI) vs the steering coefficient.

Draws `persona_evals.compare.effect.effect_rows`: a panel per metric, a line per steering
direction (and whatever else differs between the logs), coefficient on x.
"""

from __future__ import annotations

import math
from typing import Any


def effect_figure(rows: list[dict[str, Any]], metrics: list[str]) -> Any:
    """A panel per metric: value with its 95% CI (where known) vs coefficient, a line each."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        mine = [r for r in rows if r["metric"] == metric]
        for line in sorted({r["line"] for r in mine}):
            pts = sorted((r for r in mine if r["line"] == line), key=lambda r: r["coef"])
            x, y = [r["coef"] for r in pts], [r["value"] for r in pts]
            err = [[_gap(r["value"], r["ci_low"]) for r in pts], [_gap(r["ci_high"], r["value"]) for r in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=line)
        tasks = sorted({r["task"] for r in mine})
        ax.set(xlabel="steering coefficient", ylabel=metric, title=f"{metric} ({', '.join(tasks)})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    models = sorted({r["base"] for r in rows})
    fig.suptitle(", ".join(models))
    fig.tight_layout()
    return fig


def _gap(a: float, b: float) -> float:
    return a - b if math.isfinite(a) and math.isfinite(b) else 0.0
