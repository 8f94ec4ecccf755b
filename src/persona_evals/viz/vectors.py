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


def projection_figure(frame: Any, name: str, r: float) -> Any:
    """Judged trait score vs projection (`frame`'s ``proj`` and ``trait``), with a regression line and r."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.regplot(data=frame, x="proj", y="trait", ax=ax, scatter_kws={"s": 14, "alpha": 0.6})
    ax.set(xlabel=name, ylabel="judged trait score (0-100)", title=f"Pearson r = {r:.3f} (n = {len(frame)})")
    return fig
