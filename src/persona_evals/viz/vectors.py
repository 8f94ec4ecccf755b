"""Plots of persona vectors: cosine similarity across vectors (``viz vector-cosine``), and
projection vs judged trait (``viz projection-trait``).
"""

from __future__ import annotations

import math
from typing import Any

from persona_evals.logs import LogError
from persona_evals.identity import vector_name
from persona_evals.paths import split_key
from persona_evals.protocol import PROJ


def cosine_matrix(paths: list[str], layer: int) -> tuple[list[str], Any]:
    """Labels and the cosine-similarity matrix of the vectors' rows at `layer`."""
    import torch

    from persona_evals.steering.vectors import load_vector

    rows, labels = [], []
    for item in paths:
        path, key = split_key(item)
        vec = load_vector(path, key, arg="vectors")
        if vec.tensor.dim() == 2 and not 0 <= layer < vec.tensor.shape[0]:
            raise ValueError(f"--layer {layer} is outside 0..{vec.tensor.shape[0] - 1} for {path}")
        rows.append(vec.row(layer))
        labels.append(vector_name(path, vec.key if key else None))
    sizes = {r.shape[-1] for r in rows}
    if len(sizes) > 1:
        raise ValueError(f"the vectors have different hidden sizes {sorted(sizes)}: they come from different models")
    m = torch.stack(rows)
    m = m / m.norm(dim=-1, keepdim=True)
    return labels, (m @ m.T).numpy()


def cosine_figure(labels: list[str], cos: Any, layer: int) -> Any:
    """A heatmap of the cosine-similarity matrix, annotated."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(cos, xticklabels=labels, yticklabels=labels, vmin=-1, vmax=1, cmap="RdBu_r", annot=True, fmt=".2f", ax=ax, square=True)
    ax.set_title(f"cosine similarity of persona vectors, layer {layer}")
    return fig


def projection_frame(logs: list[str] | None, csv: str | None, column: str | None) -> tuple[Any, str]:
    """Columns `trait` and `proj` (one row per sample with both values); the projection's name."""
    import pandas as pd

    if csv:
        from persona_evals.viz.common import read_csv_rows

        what = "`persona-evals vectors project` from a trait_expression log"
        rows = read_csv_rows(csv, "--csv", ("trait",), what)
        candidates = [c for c in rows[0] if "_proj_layer" in c and "prompt" not in c]
        column = column or (candidates[0] if candidates else None)
        if column is None or column not in rows[0]:
            found = f"no projection column {column!r}" if column else "no projection column (*_proj_layerN)"
            raise LogError(f"--column: {csv} has {found}; it has {', '.join(rows[0])}")
        df = pd.DataFrame(rows)
        frame = pd.DataFrame({"trait": pd.to_numeric(df["trait"], errors="coerce"), "proj": pd.to_numeric(df[column], errors="coerce")})
        name = column
    else:
        from inspect_ai.analysis import SampleColumn, SampleSummary, samples_df

        cols = SampleSummary + [
            SampleColumn("trait", path="scores.trait_score.value.trait"),
            SampleColumn("proj", path=f"scores.projection.value.{PROJ}"),
        ]
        df = samples_df(logs, columns=cols, quiet=True)
        if "proj" not in df or pd.to_numeric(df["proj"], errors="coerce").isna().all():
            raise LogError("the logs have no projection scores: run with -M monitor=<vector> -M monitor_layer=<L>")
        frame = pd.DataFrame({"trait": pd.to_numeric(df["trait"], errors="coerce"), "proj": pd.to_numeric(df["proj"], errors="coerce")})
        name = "proj (live monitor)"
    frame = frame.dropna()
    if len(frame) < 2:
        raise LogError(f"only {len(frame)} sample(s) have both a judged trait score and a projection")
    return frame, name


def pearson(x: Any, y: Any) -> float:
    from scipy.stats import pearsonr

    if len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(pearsonr(x, y).statistic)


def projection_figure(frame: Any, name: str, r: float) -> Any:
    """Judged trait score vs projection (`frame`'s ``proj`` and ``trait``), with a regression line and r."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.regplot(data=frame, x="proj", y="trait", ax=ax, scatter_kws={"s": 14, "alpha": 0.6})
    ax.set(xlabel=name, ylabel="judged trait score (0-100)", title=f"Pearson r = {r:.3f} (n = {len(frame)})")
    return fig
