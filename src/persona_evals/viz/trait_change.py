"""The ``viz cosine-trait-change`` plot: cosine similarity between persona vectors against the
relative change of one trait's score when steering with another trait's vector.

Draws the rows of `persona_evals.compare.trait_change.change_rows` that have a relative change.
"""

from __future__ import annotations

from typing import Any


def change_figure(rows: list[dict[str, Any]], r_value: float) -> Any:
    """Scatter of (cosine, relative change), labelled A→B, with a least-squares line and their Pearson r."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.5, 5))
    x = np.array([r["cosine"] for r in rows])
    y = np.array([r["relative_change"] for r in rows])
    ax.scatter(x, y, s=60, edgecolors="black", linewidths=0.5)
    for r in rows:
        ax.annotate(f"{r['steered']}→{r['trait']}", (r["cosine"], r["relative_change"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    if len(rows) > 1 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 50)
        ax.plot(grid, slope * grid + intercept, "r--", label=f"y = {slope:.2f}x {intercept:+.2f}, r = {r_value:.2f}")
        ax.legend(fontsize="small")
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.axvline(0, color="gray", linewidth=0.8)
    ax.set(xlabel="cosine similarity of the vectors", ylabel="relative change of the trait (Δ trait / Δ steered trait)")
    fig.tight_layout()
    return fig
