"""Choosing the steering layer and coefficient from a sweep, as the persona-vectors paper does:
per layer, the largest coefficient whose mean coherence stays at or above a threshold (its
reported results keep coherence > 75; its mitigation uses > 80), and that coefficient's trait score.
The layer to use is the one whose chosen cell expresses the trait most.

Works on the frame of `persona_evals.traits.results.steering_frame` (one row per log: vector,
layer, coef, trait_mean/stderr, coherence_mean/stderr, vector_arg); unsteered logs are ignored.
"""

from __future__ import annotations

import math
from typing import Any

from persona_evals.logs import LogError

DEFAULT_MIN_COHERENCE = 75.0
DIRECTIONS = ("up", "down")
CHOICE_COLUMNS = ["vector", "layer", "coef", "trait_mean", "trait_stderr", "coherence_mean", "coherence_stderr",
                  "n_coefs", "n_passing", "best", "min_coherence", "direction", "note", "vector_arg"]


def choose_coefficients(frame: Any, min_coherence: float = DEFAULT_MIN_COHERENCE, direction: str = "up") -> Any:
    """One row per (vector, layer): the chosen cell's numbers (coef NaN when none passes), with
    ``best`` marking the layer whose chosen cell has the highest trait score (lowest for ``down``).

    Args:
        frame: the sweep's cells (see the module).
        min_coherence: a cell passes when its mean coherence is >= this (0-100).
        direction: ``up`` takes the largest coefficient (steering towards the trait), ``down``
            the smallest (most negative: steering away from it).

    Raises:
        LogError: no steered cell, or no coherence score in any cell.
    """
    import pandas as pd

    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    steered = frame[frame["layer"].notna()]
    if steered.empty:
        raise LogError("no steered runs among the logs: choose needs a sweep (logs with -M vector/layer/coef)")
    if steered["coherence_mean"].isna().all():
        raise LogError(
            "the logs have no coherence scores (every cell unscored): choosing needs trait_expression runs judged "
            "for coherence (--model-role grader=...; a tiny judge may need -T min_mass=0)"
        )
    rows = []
    for (vector, layer), cells in steered.groupby(["vector", "layer"], sort=True):
        passing = cells[cells["coherence_mean"] >= min_coherence]
        unscored = int(cells["coherence_mean"].isna().sum())
        note = f"{unscored} cell(s) without a coherence score count as failing" if unscored else ""
        base = {"vector": vector, "layer": int(layer), "n_coefs": len(cells), "n_passing": len(passing),
                "min_coherence": min_coherence, "direction": direction, "vector_arg": cells["vector_arg"].iloc[0]}
        if passing.empty:
            rows.append({**base, "coef": math.nan, "note": "; ".join(filter(None, [f"no coefficient keeps coherence >= {min_coherence:g}", note]))})
            continue
        pick = passing.loc[passing["coef"].idxmax() if direction == "up" else passing["coef"].idxmin()]
        extra = {c: pick[c] for c in pick.index if c.endswith("_mean") or c.endswith("_stderr")}
        if pick["coef"] == 0:
            note = "; ".join(filter(None, ["only coefficient 0 (no steering) passes", note]))
        rows.append({**base, **extra, "coef": float(pick["coef"]), "note": note})
    table = pd.DataFrame(rows)
    for column in ("trait_mean", "trait_stderr", "coherence_mean", "coherence_stderr"):  # absent when none passes
        if column not in table:
            table[column] = math.nan
    chosen = table[table["coef"].notna() & (table["coef"] != 0) & table["trait_mean"].notna()]
    table["best"] = False
    if not chosen.empty:
        best = chosen["trait_mean"].idxmax() if direction == "up" else chosen["trait_mean"].idxmin()
        table.loc[best, "best"] = True
    return table[[c for c in CHOICE_COLUMNS if c in table] + [c for c in table if c not in CHOICE_COLUMNS]]


def mark_choice(frame: Any, table: Any) -> Any:
    """`frame` with the choice drawn on it: ``chosen`` (the cell is its layer's choice) and the
    ``min_coherence`` threshold (the plot stars the one and draws the other, and its CSV holds both)."""
    picks = {(v, float(layer), float(c)) for v, layer, c in zip(table["vector"], table["layer"], table["coef"]) if c == c}
    chosen = [(v, layer, c) in picks for v, layer, c in zip(frame["vector"], frame["layer"], frame["coef"])]
    return frame.assign(chosen=chosen, min_coherence=float(table["min_coherence"].iloc[0]))


def model_args(row: Any) -> list[str]:
    """The ``-M`` arguments that steer like a chosen row."""
    return [f"-M vector={row['vector_arg']}", f"-M layer={int(row['layer'])}", f"-M coef={row['coef']:g}"]
