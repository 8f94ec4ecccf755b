"""Interpolation between two persona vectors: steer with w·A + (1−w)·B at one layer.

A cell is an ordinary steering configuration of two terms, ``vector=[A, B]`` with
``coef=[w, 1 − w]``, so the provider's own sum of terms does the interpolation (nothing new is
applied) and each cell's log records both vectors and both coefficients: `ModelIdentity` labels
it ``A@L×w + B@L×(1−w)`` and ``viz steering-effect`` draws it over w. Weights 0 and 1 keep the
zero-coefficient term, so every cell of a sweep has the same two vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from persona_evals.errors import SteeringConfigError
from persona_evals.steering_args import split_key


def check_weights(weights: Sequence[float], arg: str = "--weights") -> list[float]:
    """Weights must be finite, in [0, 1] and strictly increasing (a sweep from B towards A)."""
    weights = [float(w) for w in weights]
    bad = [w for w in weights if not math.isfinite(w) or not 0.0 <= w <= 1.0]
    if bad:
        raise SteeringConfigError(f"{arg} must lie in [0, 1]; got {', '.join(f'{w:g}' for w in bad)}")
    if any(b <= a for a, b in zip(weights, weights[1:])):
        raise SteeringConfigError(f"{arg} must be sorted and distinct, e.g. 0 0.25 0.5 0.75 1; got {' '.join(f'{w:g}' for w in weights)}")
    return weights


def check_same_hidden(a: str, b: str, arg: str = "--mix") -> None:
    """Both vector files must have the model's hidden size; different sizes mean different models."""
    from persona_evals.steering.vectors import load_vector

    sizes = {}
    for i, raw in enumerate((a, b)):
        path, key = split_key(raw)
        sizes[raw] = int(load_vector(path, key, arg=f"{arg}[{i}]").tensor.shape[-1])
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{p}: {n}" for p, n in sizes.items())
        raise SteeringConfigError(f"{arg} vectors have different hidden sizes ({listed}): they come from different models")


def mix_cells(a: str, b: str, weights: Sequence[float]) -> list[dict[str, Any]]:
    """The model args of each interpolation cell: ``{"vector": [a, b], "coef": [w, 1 - w]}``."""
    return [{"vector": [a, b], "coef": [w, 1.0 - w]} for w in check_weights(weights)]
