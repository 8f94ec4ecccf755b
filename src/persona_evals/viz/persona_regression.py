"""The Principled Personas coefficient plot: each regression term's coefficient and 95% CI, a panel
per regression family (rows of `persona_evals.accuracy.regression` without the intercepts, which
are the baseline's accuracy, not an effect); the model-size fits (``size:<metric>``, one slope
each) share one panel, a row per metric, as the paper's scale plot does. A frame in, a figure out."""

from __future__ import annotations

from typing import Any

XLABEL = {"category": "accuracy vs the empty persona", "education": "accuracy per education level",
          "domain": "accuracy per domain step (out → related → in)", "specialization": "accuracy per specialization step",
          "size": "metric change per unit of model size"}
SIZE_PREFIX = "size:"


def plot_regression(frame: Any) -> Any:
    """A panel per family: each term's coefficient (dot) and 95% CI (bar), sorted, zero dashed."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    frame = frame.copy()
    scale = frame["family"].str.startswith(SIZE_PREFIX)
    frame.loc[scale, "term"] = frame.loc[scale, "family"].str.removeprefix(SIZE_PREFIX)
    frame.loc[scale, "family"] = "size"
    families = list(dict.fromkeys(frame["family"]))
    heights = [max(1.2, 0.45 * len(frame[frame["family"] == f]) + 0.9) for f in families]
    fig, axes = plt.subplots(len(families), 1, figsize=(6.5, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, family in zip(axes[:, 0], families):
        rows = frame[frame["family"] == family].sort_values("coef")
        y = range(len(rows))
        ax.errorbar(rows["coef"], y, xerr=[rows["coef"] - rows["ci_low"], rows["ci_high"] - rows["coef"]],
                    fmt="o", color="#2b6cb0", ecolor="#2b6cb0", capsize=4)
        ax.axvline(0, color="black", linewidth=1, linestyle="--")
        ax.set_yticks(list(y), list(rows["term"]))
        r2 = ""
        if family != "size" and "r2_marginal" in rows and rows["r2_marginal"].notna().any():  # size: a fit per row
            r2 = f"  (R² marginal {rows['r2_marginal'].iloc[0]:.2f}, conditional {rows['r2_conditional'].iloc[0]:.2f})"
        ax.set_title("model size (a fit per metric)" if family == "size" else f"{family}{r2}", fontsize="medium")
        ax.set_xlabel(XLABEL.get(family, "coefficient"))
    fig.suptitle(f"mixed-effects coefficients, 95% CI (mitigation {frame['mitigation'].iloc[0]})")
    fig.tight_layout()
    return fig
