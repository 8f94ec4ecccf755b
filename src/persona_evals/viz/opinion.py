"""Opinion-simulation plots of the rows of `persona_evals.opinion.results`: alignment per persona
tier, a US state grid of margins, topic shares.

- ``opinion-tiers``: per tier (meta -> descriptive), mean |two-party error| and signed bias of
  election logs (one line per model and year), plus mean survey alignment when `--truth` is given;
- ``opinion-states``: a tile map of the states coloured by simulated minus real margin (R - D,
  two-party), with simulated / real winners;
- ``opinion-topics``: national answer shares per custom-topic question, one bar per tier.
"""

from __future__ import annotations

import math
from typing import Any

from persona_evals.opinion.records import TIERS

TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (0, 10), "VT": (1, 9), "NH": (1, 10),
    "WA": (2, 0), "ID": (2, 1), "MT": (2, 2), "ND": (2, 3), "MN": (2, 4), "IL": (2, 5), "WI": (2, 6),
    "MI": (2, 7), "NY": (2, 8), "RI": (2, 9), "MA": (2, 10),
    "OR": (3, 0), "NV": (3, 1), "WY": (3, 2), "SD": (3, 3), "IA": (3, 4), "IN": (3, 5), "OH": (3, 6),
    "PA": (3, 7), "NJ": (3, 8), "CT": (3, 9),
    "CA": (4, 0), "UT": (4, 1), "CO": (4, 2), "NE": (4, 3), "MO": (4, 4), "KY": (4, 5), "WV": (4, 6),
    "VA": (4, 7), "MD": (4, 8), "DE": (4, 9),
    "AZ": (5, 1), "NM": (5, 2), "KS": (5, 3), "AR": (5, 4), "TN": (5, 5), "NC": (5, 6), "SC": (5, 7), "DC": (5, 8),
    "OK": (6, 3), "LA": (6, 4), "MS": (6, 5), "AL": (6, 6), "GA": (6, 7),
    "HI": (7, 0), "TX": (7, 3), "FL": (7, 8),
}  # fmt: skip


def tiers_figure(frame: Any) -> Any:
    """A panel per measure (|error|, bias, alignment): its mean per tier (`opinion.results.tier_means`),
    a line per series (model and year)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = frame.assign(x=[TIERS.index(t) for t in frame["tier"]])
    titles = {
        "abs_error": "mean |two-party error|",
        "bias": "signed bias (R share; < 0 = too Democratic)",
        "alignment": "survey alignment",
    }  # the measures of `opinion.results.TIER_MEASURES`
    metrics = [m for m in titles if m in df and df[m].notna().any()]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        sns.lineplot(data=df.dropna(subset=[m]), x="x", y=m, hue="series", marker="o", errorbar=None, ax=ax)
        ax.set_xticks(range(len(TIERS)), TIERS)
        ax.set_xlim(-0.3, len(TIERS) - 0.7)
        ax.set_ylabel("")
        ax.set_title(titles[m])
        ax.set_xlabel("persona tier")
        if m == "bias":
            ax.axhline(0, color="grey", lw=0.8)
    return fig


def states_figure(rows: list[dict[str, Any]], rep: dict[str, Any]) -> Any:
    """A tile map of the states (`opinion.results.state_rows`) coloured by simulated minus real
    margin, labelled with the winners; `rep` (the report) names the model, tier and context."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    diff = {r["state"]: r["margin_diff"] for r in rows}
    by_state = {r["state"]: r for r in rows}
    lim = max(0.05, max(abs(v) for v in diff.values()))
    cmap, norm = plt.get_cmap("RdBu_r"), TwoSlopeNorm(vmin=-lim, vcenter=0.0, vmax=lim)
    fig, ax = plt.subplots(figsize=(11, 7))
    for state, (row, col) in TILES.items():
        colour = cmap(norm(diff[state])) if state in diff else (0.92, 0.92, 0.92)
        ax.add_patch(plt.Rectangle((col, -row), 0.95, 0.95, color=colour))
        label = state
        if state in by_state:
            r = by_state[state]
            label += f"\n{r['sim_winner'][0]}/{r['real_winner'][0]}"
        ax.text(col + 0.475, -row + 0.475, label, ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.2, 11.2)
    ax.set_ylim(-7.2, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    fig.colorbar(sm, ax=ax, shrink=0.6, label="simulated - real margin (R - D, two-party)")
    ax.set_title(
        f"{rep['model']}, tier {rep['tier']}, {rep['context']}  (labels: simulated/real winner; T = tie)"
    )
    return fig


def topics_figure(df: Any) -> Any:
    """A panel per question: the national share of each option, a bar per tier (`opinion.results.topic_frame`)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    questions = list(dict.fromkeys(df["question"]))
    ncol = min(3, len(questions))
    nrow = math.ceil(len(questions) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 3.2 * nrow), squeeze=False)
    tiers = [t for t in TIERS if t in set(df["tier"])]
    for ax, qid in zip(axes.flat, questions):
        sns.barplot(
            data=df[df["question"] == qid],
            y="option",
            x="share",
            hue="tier",
            hue_order=tiers,
            errorbar=None,
            ax=ax,
            orient="h",
        )
        ax.set_title(qid, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylabel("")
        ax.set_xlabel("national share (adult-weighted)" if ax in axes[-1] else "")
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(questions) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig
