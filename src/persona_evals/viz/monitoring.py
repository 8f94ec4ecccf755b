"""`persona-evals viz monitoring LOGS`: the persona-vectors monitoring check. For each trait and
condition (graded system prompts, many-shot examples), each sample's projection of its last prompt
token on the trait's vector (read before the answer exists) against the judged trait score of the
answer, with Pearson r and its 95% interval (Fisher z).

Writes the PNG, beside it a CSV of the correlations (``.csv``) and one of the plotted samples
(``.samples.csv``). Samples the judge could not score are left out and counted.
"""

from __future__ import annotations

import argparse
from typing import Any

TABLE_COLUMNS = ["trait", "monitoring", "model", "monitor", "n", "r", "p_value", "ci_low", "ci_high", "n_unscored"]


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.viz.common import add_log_arguments

    p = sub.add_parser("monitoring", help="last-prompt-token projection vs judged trait score, Pearson r and 95%% CI per trait")
    add_log_arguments(p, out_default="monitoring.png", companions=(".csv", ".samples.csv"))
    p.set_defaults(func=run)


def correlation_table(frame: Any) -> list[dict[str, Any]]:
    """Per (trait, condition, model, monitor): Pearson r of prompt_last_proj with the trait score."""
    from persona_evals.stats import pearson_ci

    out = []
    for (trait, monitoring, model, monitor), rows in frame.groupby(["trait", "monitoring", "model", "monitor"], sort=True):
        scored = rows.dropna(subset=["trait_score"])
        c = pearson_ci(scored["prompt_last_proj"].to_numpy(), scored["trait_score"].to_numpy())
        out.append({"trait": trait, "monitoring": monitoring, "model": model, "monitor": monitor, "n": c.n, "r": c.r,
                    "p_value": c.p_value, "ci_low": c.low, "ci_high": c.high, "n_unscored": len(rows) - len(scored)})
    return out


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
        scatter = ax.scatter(points["prompt_last_proj"], points["trait_score"], c=points["level"], cmap="viridis", s=22)
        if row["n"] >= 2 and np.ptp(points["prompt_last_proj"]) > 0:
            slope, intercept = np.polyfit(points["prompt_last_proj"], points["trait_score"], 1)
            xs = np.linspace(points["prompt_last_proj"].min(), points["prompt_last_proj"].max(), 2)
            ax.plot(xs, slope * xs + intercept, color="black", linewidth=1)
        level = "prompt level (0 suppresses, 7 elicits)" if row["monitoring"] == "graded" else "examples in the prompt"
        fig.colorbar(scatter, ax=ax, label=level)
        ci = "" if np.isnan(row["ci_low"]) else f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
        ax.set_title(f"{row['trait']} ({row['monitoring']}): r = {row['r']:.2f}{ci}, n = {row['n']}", fontsize="medium")
        ax.set(xlabel=f"projection at the last prompt token ({row['monitor']})", ylabel="judged trait score (0-100)")
    fig.suptitle(f"monitoring: projection before answering vs trait expression ({table[0]['model']})")
    fig.tight_layout()
    return fig


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from persona_evals.logs import resolve_logs
    from persona_evals.paths import write_csv
    from persona_evals.traits.logs import MONITORING_COLUMNS, monitoring_frame
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    frame = monitoring_frame(resolve_logs(args.logs, args.log_dir, newest_only=False))
    table = correlation_table(frame)
    out = save_figure(plot_monitoring(frame, table), args.out, args.overwrite)
    csv = write_csv(table, Path(out).with_suffix(".csv"), TABLE_COLUMNS, overwrite=args.overwrite)
    samples = write_csv(frame.to_dict("records"), Path(out).with_suffix(".samples.csv"), MONITORING_COLUMNS, overwrite=args.overwrite)
    for row in table:
        print(f"{row['trait']} ({row['monitoring']}, {row['monitor']}): Pearson r = {row['r']:.3f}, 95% CI "
              f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}], p = {row['p_value']:.3g}, n = {row['n']}"
              + (f" ({row['n_unscored']} unscored left out)" if row["n_unscored"] else ""))
    print(f"wrote {out}, {csv} and {samples}")
    return 0
