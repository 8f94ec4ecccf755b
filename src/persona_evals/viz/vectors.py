"""Plots of persona vectors: cosine similarity across vectors (``viz vector-cosine``), and
projection vs judged trait (``viz projection-trait``).
"""

from __future__ import annotations

from typing import Any


def cosine_figure(labels: list[str], cos: Any, layer: int) -> Any:
    """A heatmap of the cosine-similarity matrix, annotated."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(cos, xticklabels=labels, yticklabels=labels, vmin=-1, vmax=1, cmap="RdBu_r", annot=True, fmt=".2f", ax=ax, square=True)
    ax.set_title(f"cosine similarity of persona vectors, layer {layer}")
    return fig


def projection_figure(frame: Any, name: str, r: float) -> Any:
    """Judged trait score vs projection (`frame`'s ``proj`` and ``trait``), with a regression line and r."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.regplot(data=frame, x="proj", y="trait", ax=ax, scatter_kws={"s": 14, "alpha": 0.6})
    ax.set(xlabel=name, ylabel="judged trait score (0-100)", title=f"Pearson r = {r:.3f} (n = {len(frame)})")
    return fig
