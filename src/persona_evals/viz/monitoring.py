"""The persona-vectors monitoring plot: for each trait and condition, each sample's last-prompt-token
projection (read before the answer exists) against the judged trait score of its answer, coloured
by the prompt's level, with the least-squares line and Pearson r [95% CI] in the title. The frame
and the correlations are `persona_evals.traits.results.monitoring_frame` / `monitoring_correlations`.
"""

from __future__ import annotations

from typing import Any

from persona_evals.protocol import PROMPT_LAST_PROJ


def plot_monitoring(frame: Any, table: list[dict[str, Any]]) -> Any:
    """A panel per table row: the samples coloured by level, their least-squares line, r [CI] in the title."""
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(table), figsize=(5.2 * len(table), 4.4), squeeze=False)
    for ax, row in zip(axes[0], table):
        pick = (frame["trait"] == row["trait"]) & (frame["monitoring"] == row["monitoring"])
        pick &= (frame["model"] == row["model"]) & (frame["monitor"] == row["monitor"])
        points = frame[pick].dropna(subset=["trait_score"])
        scatter = ax.scatter(points[PROMPT_LAST_PROJ], points["trait_score"], c=points["level"], cmap="viridis", s=22)
        if row["n"] >= 2 and np.ptp(points[PROMPT_LAST_PROJ]) > 0:
            slope, intercept = np.polyfit(points[PROMPT_LAST_PROJ], points["trait_score"], 1)
            xs = np.linspace(points[PROMPT_LAST_PROJ].min(), points[PROMPT_LAST_PROJ].max(), 2)
            ax.plot(xs, slope * xs + intercept, color="black", linewidth=1)
        level = "prompt level (0 suppresses, 7 elicits)" if row["monitoring"] == "graded" else "examples in the prompt"
        fig.colorbar(scatter, ax=ax, label=level)
        ci = "" if np.isnan(row["ci_low"]) else f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
        ax.set_title(f"{row['trait']} ({row['monitoring']}): r = {row['r']:.2f}{ci}, n = {row['n']}", fontsize="medium")
        ax.set(xlabel=f"projection at the last prompt token ({row['monitor']})", ylabel="judged trait score (0-100)")
    fig.suptitle(f"monitoring: projection before answering vs trait expression ({table[0]['model']})")
    fig.tight_layout()
    return fig
