"""The ``viz trait-steering`` plot: trait and coherence vs steering coefficient, one line per layer.

Reads trait_expression logs with ``inspect_ai.analysis.evals_df``. The steering knobs come from
each log's `ModelIdentity` (the ``vector``, ``layer`` and ``coef`` model args of
``--model steer/...`` runs, ``coef`` defaulting to 1.0 as in the provider): a line per vector
and layer; unsteered logs are the baseline, drawn as a dashed line. All logs must be of one
model (adapter and other args included); a run steering several vectors at once belongs in
``viz steering-effect``.
"""

from __future__ import annotations

import math
from typing import Any

from persona_evals.logs import LogError, check_all_finished, task_name
from persona_evals.protocol import PROJ

TASK = "trait_expression"
PANELS = (("trait", "trait expression (0-100)"), ("coherence", "coherence (0-100)"))
PROJ_PANEL = (PROJ, "projection on persona vector")


def steering_frame(paths: list[str], trait: str | None = None, instruction: str | None = None) -> Any:
    """One row per log: trait, instruction, vector, layer, coef, and the mean/stderr of trait and
    coherence.

    Raises:
        LogError: a log of another task, mixed traits/instructions/versions without a filter,
            logs of several models, a log steering several vectors, or two logs for the same
            (vector, layer, coef).
    """
    from inspect_ai.analysis import EvalInfo, EvalModel, EvalResults, EvalScores, EvalTask, evals_df

    from persona_evals.identity import labels_by_log
    from persona_evals.scorers import metric_names

    columns = EvalInfo + EvalTask + EvalModel + EvalResults + EvalScores
    df = evals_df(paths, columns=columns, quiet=True)
    other = df[df["task_name"].map(task_name) != TASK]
    if len(other):
        listed = ", ".join(f"{loc} ({task})" for loc, task in zip(other["log"], other["task_name"]))
        raise LogError(f"expected {TASK} logs, got: {listed}")
    check_all_finished(zip(df["log"], df["status"]))
    for column in ("task_arg_trait", "task_arg_instruction", "task_arg_version"):
        if column not in df:
            df[column] = None
    if trait:
        df = df[df["task_arg_trait"] == trait]
    if instruction:
        df = df[df["task_arg_instruction"] == instruction]
    if df.empty:
        raise LogError(f"no {TASK} log matches trait={trait} instruction={instruction}")
    idents = labels_by_log([str(x).removeprefix("file://") for x in df["log"]])
    models = sorted({ident.base.label for ident, _ in idents.values()})
    if len(models) > 1:
        raise LogError(f"the logs are of several models {models}; pass the logs of one model")
    combos = df[["task_arg_trait", "task_arg_instruction", "task_arg_version"]].drop_duplicates()
    if len(combos) > 1:
        found = "; ".join(f"trait={t} instruction={i} version={v}" for t, i, v in combos.itertuples(index=False))
        raise LogError(
            f"the logs mix several runs ({found}); choose with --trait/--instruction or pass the logs"
        )
    knobs = [_knobs(idents[str(loc).removeprefix("file://")][0], loc) for loc in df["log"]]
    frame = df.assign(
        model=models[0],
        trait=df["task_arg_trait"],
        instruction=df["task_arg_instruction"],
        vector=[k[0] for k in knobs],
        layer=[k[1] for k in knobs],
        coef=[k[2] for k in knobs],
    )
    steered = frame[frame["layer"].notna()]
    dupes = steered[steered.duplicated(["vector", "layer", "coef"], keep=False)]
    if len(dupes):
        raise LogError(
            "several logs for the same (layer, coef): " + ", ".join(
                f"{r.vector} layer {int(r.layer)} coef {r.coef}: {r.log}" for r in dupes.itertuples()
            ) + "; pass the logs you want explicitly"
        )
    for key, _ in PANELS:
        for metric in ("mean", "stderr"):
            column = f"score_{key}_{metric}"
            if column not in frame:
                raise LogError(f"the logs have no {key} {metric} (column {column}); were they scored?")
            frame[f"{key}_{metric}"] = _floats(frame[column])
    keep = ["log", "model", "trait", "instruction", "vector", "layer", "coef"]
    keep += [f"{k}_{m}" for k, _ in PANELS for m in ("mean", "stderr")]
    # the live monitor's projection (projection scorer), when the runs had -M monitor=...
    proj_mean = next((c for c in (f"score_proj_{n}" for n in metric_names("finite_mean")) if c in frame), None)
    if proj_mean is not None and frame[proj_mean].notna().any():
        frame["proj_mean"] = _floats(frame[proj_mean])
        frame["proj_stderr"] = _floats(frame["score_proj_stderr"]) if "score_proj_stderr" in frame else 0.0
        keep += ["proj_mean", "proj_stderr"]
    return frame[keep].sort_values(["vector", "layer", "coef"], na_position="first").reset_index(drop=True)


def plot_trait_steering(frame: Any) -> Any:
    """Panels trait, coherence (and projection, when monitored): mean ± stderr vs coef, a line
    per layer, baseline dashed."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    steered = frame[frame["layer"].notna()]
    baseline = frame[frame["layer"].isna()]
    lines = sorted({(v, layer) for v, layer in zip(steered["vector"], steered["layer"])})
    several = len({v for v, _ in lines}) > 1
    colors = sns.color_palette("viridis", n_colors=max(len(lines), 1))
    panels = list(PANELS) + ([PROJ_PANEL] if "proj_mean" in frame else [])
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
        if frame[f"{key}_mean"].isna().all():
            ax.text(0.5, 0.5, "no scored samples\n(the grader could not score)", transform=ax.transAxes,
                    ha="center", va="center", color="gray")
        ax.set(xlabel="steering coefficient", ylabel=label)
        if key != PROJ:
            ax.set_ylim(-2, 102)
    axes[0].legend(title=None, fontsize="small")
    first = frame.iloc[0]
    fig.suptitle(f"{first['trait']} (instruction={first['instruction']}), {first['model']}")
    fig.tight_layout()
    return fig


def _floats(column: Any) -> Any:
    """A score column as float64, NaN for missing (pandas NA breaks matplotlib)."""
    import pandas as pd

    return pd.to_numeric(column, errors="coerce").astype("float64")


def _knobs(ident: Any, log: str) -> tuple[Any, float, float]:
    """(vector name, layer, coef) of a log's single steering term; (None, NaN, NaN) unsteered."""
    if not ident.terms:
        return None, math.nan, math.nan
    if len(ident.terms) > 1:
        raise LogError(
            f"{log} steers several vectors at once ({ident.label}); plot it with `viz steering-effect`"
        )
    term = ident.terms[0]
    return term.name, float(term.layer), term.coef
