"""Significance: exact paired tests, multiple-testing corrections, and the verdict a metric row shows."""

from __future__ import annotations

from math import comb

import numpy as np
from numpy.typing import ArrayLike

from persona_evals.stats import as_vector


def sign_test(x: ArrayLike, y: ArrayLike) -> tuple[float, int, int]:
    """(p-value, b, c) of the two-sided exact sign test of paired scores.

    b counts pairs with x > y, c pairs with x < y (ties carry no information and are dropped); p
    is the two-sided binomial probability of a split at least as uneven as (b, c) under p = 0.5,
    and 1 when every pair is tied. On 0/1 hits this is McNemar's exact test; on per-pair means
    over several epochs it tests the same null (neither side tends to score higher).
    """
    a, b_ = as_vector(x, "x"), as_vector(y, "y")
    if a.shape != b_.shape:
        raise ValueError(f"paired scores differ in length: {a.size} vs {b_.size}")
    b = int(np.sum(a > b_))
    c = int(np.sum(a < b_))
    n = b + c
    if n == 0:
        return 1.0, b, c
    tail = sum(comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail), b, c


def mcnemar_exact(persona: ArrayLike, baseline: ArrayLike) -> tuple[float, int, int]:
    """(p-value, b, c) of the exact McNemar test of paired 0/1 hits.

    b counts items the persona gets right and the baseline wrong, c the reverse; p is the
    two-sided binomial probability of a split at least as uneven as (b, c) under p = 0.5, and 1
    when there is no discordant pair (the `sign_test` of 0/1 hits).

    Example:
        >>> mcnemar_exact([1, 1, 1, 0], [0, 0, 0, 0])[0]  # b=3, c=0: 2 * (1/2)**3
        0.25
    """
    x, y = as_vector(persona, "persona"), as_vector(baseline, "baseline")
    if x.shape != y.shape:
        raise ValueError(f"persona and baseline hits differ in length: {x.size} vs {y.size}")
    if not np.isin(x, (0, 1)).all() or not np.isin(y, (0, 1)).all():
        raise ValueError("McNemar needs 0/1 hits per item")
    return sign_test(x, y)


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as given; nan stays nan)."""
    p, adjusted, order = _ascending(pvalues)
    m = order.size
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return adjusted


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (same order as given; nan stays nan).

    The adjusted p of the i-th smallest of m values is min over j >= i of m p_(j) / j, capped at 1:
    rejecting every adjusted p < alpha keeps the expected share of false discoveries under alpha
    (for independent or positively dependent tests).
    """
    p, adjusted, order = _ascending(pvalues)
    m = order.size
    running = 1.0
    for rank in range(m - 1, -1, -1):  # from the largest p down
        idx = order[rank]
        running = min(running, m * p[idx] / (rank + 1))
        adjusted[idx] = running
    return adjusted


def _ascending(pvalues: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the p-values, an all-nan array of their shape to fill, the non-nan ones' indices from the
    smallest p to the largest, ties in their given order)."""
    p = np.asarray(pvalues, dtype=float)
    valid = np.flatnonzero(~np.isnan(p))
    return p, np.full(p.shape, np.nan), valid[np.argsort(p[valid], kind="stable")]


CORRECTIONS: tuple[str, ...] = ("none", "holm", "bh")
CORRECTION_NAMES = {"none": "none", "holm": "Holm", "bh": "Benjamini-Hochberg"}


def adjust_pvalues(pvalues: ArrayLike, method: str) -> np.ndarray:
    """`pvalues` adjusted for multiple testing by `method`: ``none``, ``holm`` or ``bh``."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    if method == "none":
        return np.asarray(pvalues, dtype=float)
    raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {method!r}")


VERDICTS = ("Positive", "Not significant", "Negative")


def verdict(value: float, significant: bool) -> str:
    """One of `VERDICTS`: Positive / Negative when significant and non-zero; otherwise Not significant."""
    if significant and value > 0:
        return VERDICTS[0]
    if significant and value < 0:
        return VERDICTS[2]
    return VERDICTS[1]
