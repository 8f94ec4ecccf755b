"""PERSONA Bench plots: modes, leave-one-out drops, intersections and the pass@k curve.

Each draws the rows of a `persona_bench.results` table (``mode_table``, ``loo_table``,
``intersection_table``, ``pass_at_k_table``); those rows are also the plot's CSV.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _err(low: float, mid: float, high: float) -> list[float]:
    return [max(mid - low, 0.0), max(high - mid, 0.0)]


def modes_figure(rows: list[dict[str, Any]]) -> Any:
    """Accuracy per generate mode, a group of bars per model, 95% CI; * where McNemar p < .05 vs baseline."""
    import matplotlib.pyplot as plt
    import numpy as np

    from persona_evals.persona_bench.solver import MODES

    models = sorted({r["model"] for r in rows})
    modes = [m for m in MODES if any(r["mode"] == m for r in rows)]
    width = 0.8 / len(modes)
    fig, ax = plt.subplots(figsize=(max(6, 1.5 + 1.4 * len(models) * max(1, len(modes) / 2)), 4.2))
    palette = plt.get_cmap("tab10")
    for j, mode in enumerate(modes):
        bars = [
            (i + (j - (len(modes) - 1) / 2) * width, row)
            for i, model in enumerate(models)
            for row in rows
            if row["model"] == model and row["mode"] == mode
        ]
        errs = np.nan_to_num([_err(r["ci_low"], r["accuracy"], r["ci_high"]) for _, r in bars]).T
        xs = [x for x, _ in bars]
        ax.bar(xs, [r["accuracy"] for _, r in bars], width=width, yerr=errs, capsize=3,
               label=mode.replace("_", " "), color=palette(j))
        for x, row in bars:
            if row["p_vs_baseline"] < 0.05:  # NaN compares False
                top = row["ci_high"] if not math.isnan(row["ci_high"]) else row["accuracy"]
                ax.annotate("*", (x, top), ha="center", va="bottom", fontsize=12)
    ax.set_xticks(range(len(models)), models, rotation=15, ha="right")
    ax.set_ylim(0, 1.1)  # room for the stars above a full bar
    ax.set_ylabel("accuracy (critic: no revision needed)")
    ax.set_title("PERSONA Bench: accuracy by generate mode (95% CI; * McNemar p < .05 vs baseline)", fontsize=10)
    ax.legend(fontsize=8, ncols=min(4, len(modes)), loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return fig


def loo_figure(rows: list[dict[str, Any]]) -> Any:
    """A panel per model: the accuracy drop per removed attribute, sorted, 95% paired bootstrap CI."""
    import matplotlib.pyplot as plt

    models = sorted({r["model"] for r in rows})
    height = max(len([r for r in rows if r["model"] == m]) for m in models)
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 1.2 + 0.32 * height), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["drop"])
        ys = range(len(mine))
        errs = list(zip(*(_err(r["ci_low"], r["drop"], r["ci_high"]) for r in mine), strict=True))
        colours = ["#999999" if r["attribute"] == "(all listed)" else ("#2b8cbe" if r["drop"] >= 0 else "#e34a33") for r in mine]
        ax.barh(list(ys), [r["drop"] for r in mine], xerr=errs, capsize=2, color=colours)
        ax.set_yticks(list(ys), [f"{r['attribute']} (n={r['n_pairs']})" for r in mine], fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("acc(full persona) - acc(attribute removed)")
        ax.set_title(model, fontsize=9)
    fig.suptitle("PERSONA Bench leave-one-out: accuracy drop per removed attribute (95% paired bootstrap CI)", fontsize=10)
    fig.tight_layout()
    return fig


def intersections_figure(rows: list[dict[str, Any]]) -> Any:
    """Accuracy per intersection (95% CI), a bar per model, with each slice's n."""
    import matplotlib.pyplot as plt
    import numpy as np

    from persona_evals.stats import Z95

    models = sorted({r["model"] for r in rows})
    names = sorted({r["intersection"] for r in rows})
    height = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.4 * len(names) * max(1, len(models) / 2)))
    for j, model in enumerate(models):
        mine = {r["intersection"]: r for r in rows if r["model"] == model}
        ys = [i + (j - (len(models) - 1) / 2) * height for i, n in enumerate(names) if n in mine]
        acc = [mine[n]["accuracy"] for n in names if n in mine]
        err = [np.nan_to_num(Z95 * mine[n]["stderr"]) for n in names if n in mine]
        ax.barh(ys, acc, height=height, xerr=err, capsize=2, label=model)
    counts = {n: ", ".join(str(r["n"]) for r in rows if r["intersection"] == n) for n in names}
    ax.set_yticks(range(len(names)), [f"{n} (n={counts[n]})" for n in names], fontsize=8)
    ax.invert_yaxis()  # first intersection at the top
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("accuracy (critic: no revision needed)")
    ax.set_title("PERSONA Bench: accuracy per intersection (95% CI)", fontsize=10)
    if len(models) > 1:
        ax.legend(fontsize=8)
    return fig


def pass_at_k_figure(rows: list[dict[str, Any]]) -> Any:
    """The unbiased pass@k curve per run (95% CI band); a model's runs are told apart by log name."""
    import matplotlib.pyplot as plt
    import numpy as np

    from persona_evals.stats import Z95

    runs = sorted({(r["model"], r["log"]) for r in rows})
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, log in runs:
        mine = [r for r in rows if r["log"] == log]
        label = model if sum(m == model for m, _ in runs) == 1 else f"{model} ({Path(log).name[:19]})"
        ks = [r["k"] for r in mine]
        ys = np.array([r["pass_at_k"] for r in mine])
        band = Z95 * np.nan_to_num(np.array([r["stderr"] for r in mine]))
        ax.plot(ks, ys, marker="o", label=label)
        ax.fill_between(ks, np.clip(ys - band, 0, 1), np.clip(ys + band, 0, 1), alpha=0.15)
    ax.set_xlabel("k (attempts)")
    ax.set_ylabel("pass@k (unbiased estimator)")
    ax.set_ylim(0, 1.02)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title("PERSONA Bench pass@k (95% CI band)", fontsize=10)
    ax.legend(fontsize=8)
    return fig
