"""The separability plot of `persona-evals vectors separability`: ROC AUC of a vector's projection
(pos vs neg answers) per layer, chance (0.5) dashed. Frame in, figure out."""

from __future__ import annotations

from typing import Any


def plot_separability(frame: Any, title: str) -> Any:
    """AUC vs layer (dots and line), 0.5 dashed, the best layer annotated."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(frame["layer"], frame["auc"], marker="o", color="#2b6cb0")
    ax.axhline(0.5, color="gray", linestyle="--", label="chance")
    best = frame.loc[frame["auc"].idxmax()]
    ax.annotate(f"layer {int(best['layer'])}: {best['auc']:.3f}", (best["layer"], best["auc"]),
                textcoords="offset points", xytext=(0, -16), ha="center", fontsize="small")
    ax.set(xlabel="layer (row L = residual stream after block L)", ylabel="ROC AUC, pos vs neg answers", ylim=(-0.02, 1.02),
           title=title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
