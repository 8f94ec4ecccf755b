"""The ``viz trait-steering`` plot: trait and coherence vs steering coefficient, one line per layer.

Draws `persona_evals.traits.results.steering_frame` (a row per trait_expression log): a line per
vector and layer; unsteered logs are the baseline, drawn as a dashed line.
"""

from __future__ import annotations

from typing import Any

from persona_evals.protocol import PROJ

PANELS = (("trait", "trait expression (0-100)"), ("coherence", "coherence (0-100)"))
PROJ_PANEL = (PROJ, "projection on persona vector")


def plot_trait_steering(frame: Any) -> Any:
    """Panels trait, coherence (and projection, when monitored): mean ± stderr vs coef, a line
    per layer, baseline dashed. A frame with a choice (``chosen`` and ``min_coherence`` columns,
    `traits.choice.mark_choice`) has each layer's chosen cell starred and the threshold drawn on
    the coherence panel."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    steered = frame[frame["layer"].notna()]
    baseline = frame[frame["layer"].isna()]
    lines = sorted({(v, layer) for v, layer in zip(steered["vector"], steered["layer"])})
    several = len({v for v, _ in lines}) > 1
    colors = sns.color_palette("viridis", n_colors=max(len(lines), 1))
    marked = "chosen" in frame
    panels = list(PANELS) + ([PROJ_PANEL] if f"{PROJ}_mean" in frame else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), sharex=True)
    for ax, (key, label) in zip(axes, panels):
        for color, (vector, layer) in zip(colors, lines):
            rows = steered[(steered["vector"] == vector) & (steered["layer"] == layer)].sort_values("coef")
            ax.errorbar(
                rows["coef"], rows[f"{key}_mean"], yerr=rows[f"{key}_stderr"].fillna(0), marker="o", capsize=3,
                color=color, label=f"{vector} layer {int(layer)}" if several else f"layer {int(layer)}",
            )
        for i, row in enumerate(baseline.itertuples()):
            ax.axhline(getattr(row, f"{key}_mean"), color="gray", linestyle="--",
                       label="unsteered" if i == 0 else None)
        if marked:
            chosen = frame[frame["chosen"]]
            ax.scatter(chosen["coef"], chosen[f"{key}_mean"], marker="*", s=220, color="#d62728", zorder=5,
                       label="chosen: largest coef with coherence ≥ threshold")
            if key == "coherence":
                threshold = float(frame["min_coherence"].iloc[0])
                ax.axhline(threshold, color="#d62728", linestyle=":", label=f"coherence {threshold:g}")
        if frame[f"{key}_mean"].isna().all():
            ax.text(0.5, 0.5, "no scored samples\n(the grader could not score)", transform=ax.transAxes,
                    ha="center", va="center", color="gray")
        ax.set(xlabel="steering coefficient", ylabel=label)
        if key != PROJ:
            ax.set_ylim(-2, 102)
    axes[0].legend(title=None, fontsize="small")
    if marked:
        axes[1].legend(title=None, fontsize="small")
    first = frame.iloc[0]
    fig.suptitle(f"{first['trait']} (instruction={first['instruction']}), {first['model']}")
    fig.tight_layout()
    return fig
