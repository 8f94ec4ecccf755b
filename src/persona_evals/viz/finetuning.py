"""Plots of finetuning shifts: per checkpoint, and cosine similarity vs shift across traits.

`plot_shift` draws a `vectors shift` table: the shift along each vector per checkpoint (and
against the judged trait score when the table has one). `shift_cosine_figure` (``viz shift-cosine``)
draws `persona_evals.training.shift.shift_cosine_frame`, the paper's cross-trait figure: for models
finetuned on trait A's data, the shift along trait B's vector against the cosine similarity of A's
and B's vectors; traits whose vectors point the same way shift together.
"""

from __future__ import annotations

from typing import Any


def plot_shift(frame: Any) -> Any:
    """Shift (Δ·v̂) per step for each vector@layer; a second panel vs trait score if present."""
    import matplotlib.pyplot as plt
    import pandas as pd

    frame = frame.assign(series=frame["vector"] + "@" + frame["layer"].astype(str))
    scored = "trait_score" in frame and pd.to_numeric(frame["trait_score"], errors="coerce").notna().any()
    fig, axes = plt.subplots(1, 2 if scored else 1, figsize=(11 if scored else 6, 4.2), squeeze=False)
    ax = axes[0][0]
    for name, part in frame.groupby("series"):
        part = part.sort_values("step")
        ax.plot([0, *part["step"]], [0.0, *part["shift_proj"]], marker="o", label=name)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="optimizer step (0 = base model)", ylabel="finetuning shift (Δ·v̂)", title="shift along the persona vector")
    ax.legend(fontsize=8)
    if scored:
        ax2 = axes[0][1]
        for name, part in frame.groupby("series"):
            ax2.scatter(part["shift_proj"], part["trait_score"], label=name)
        ax2.set(xlabel="finetuning shift (Δ·v̂)", ylabel="judged trait score (0-100)", title="shift vs trait expression")
        ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def shift_cosine_figure(frame: Any, r: float) -> Any:
    """Shift along each vector vs its cosine with the finetuned trait's vector, a colour per finetuned trait."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for trait, part in frame.groupby("finetuned_trait"):
        ax.scatter(part["cosine"], part["shift_proj"], label=f"finetuned on {trait}")
        for _, row in part.iterrows():
            ax.annotate(row["vector_trait"], (row["cosine"], row["shift_proj"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="cosine(finetuned trait's vector, vector)", ylabel="finetuning shift along the vector (Δ·v̂)",
           title=f"layer {int(frame['layer'].iloc[0])}: Pearson r = {r:.3f} (n = {len(frame)})")
    ax.legend(fontsize=8)
    return fig
