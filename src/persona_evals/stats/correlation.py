"""Agreement between two sets of values: Pearson's r (with its Fisher-z interval), Kendall's tau-b
of group accuracies against an expected order (with its item bootstrap), and the ROC AUC."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from persona_evals.stats import BOOTSTRAP_SEED, N_BOOTSTRAP, as_vector


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's r of paired values; NaN when either side is constant (r is undefined there)."""
    from scipy.stats import pearsonr

    if len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(pearsonr(x, y).statistic)


def _tau_b_rows(obs: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """tau-b of each row of `obs` (replicates x k) against one `expected` vector, vectorised.

    Two values tie only when exactly equal: pass exact values (`bootstrap_tau` passes integers)."""
    i, j = np.triu_indices(expected.size, k=1)
    sx = np.sign(obs[:, j] - obs[:, i])
    sy = np.sign(expected[j] - expected[i])
    concordance = (sx * sy).sum(axis=1)
    denom = np.sqrt((sx != 0).sum(axis=1) * float((sy != 0).sum()))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, concordance / denom, np.nan)


@dataclass(frozen=True)
class TauBootstrap:
    """Point tau-b, bootstrap mean (the paper's Fid: the headline), percentile interval, and a
    two-sided bootstrap p-value (twice the smaller share of replicates on either side of 0),
    which lets Holm's correction cover fidelity too."""

    tau: float
    mean: float
    low: float
    high: float
    p_value: float

    @property
    def significant(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def bootstrap_tau(
    hits: ArrayLike,
    expected: ArrayLike | None = None,
    n_boot: int = N_BOOTSTRAP,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
    members: Sequence[int] | None = None,
) -> TauBootstrap:
    """Item bootstrap of Kendall's tau-b of group accuracies against the expected order.

    Args:
        hits: items x groups matrix of whole numbers: 0/1 hits, or with `members` the number of
            group g's members right on the item (its soft hit is that over ``members[g]``).
        expected: the expected rank of each column (default 0, 1, 2, ...).
        n_boot: bootstrap replicates; each resamples the items with replacement.
        seed: numpy seed of the resampling.
        level: the percentile interval's coverage.
        members: members per group (default 1 each).

    Group accuracies are compared exactly, as integers (each scaled by the same n · lcm(members)):
    two equal accuracies tie. Soft hits in floating point (1/3 + 1/3 + 1/3 summed is not 1.0)
    ordered such ties by rounding error.

    Replicates whose tau is undefined (all group accuracies equal) are left out of the mean,
    the interval and the p-value, as the paper's code does (pandas skips their NaN). With two
    groups every defined replicate is +-1, so the mean is (P(>) - P(<)) / (1 - P(=)) for the
    in-group's accuracy against the out-group's: 2·P(in > out | no tie) - 1. If every
    replicate is undefined the mean and interval are nan.
    """
    matrix = np.asarray(hits)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] < 2:
        raise ValueError(
            f"hits must be items x groups with at least 1 item and 2 groups, got {matrix.shape}"
        )
    scaled = _exact_columns(matrix, members)
    exp = (
        np.arange(matrix.shape[1], dtype=float) if expected is None else as_vector(expected, "expected")
    )
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, n_boot, 1000):  # bounded memory: 1,000 replicates at a time
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(1000, n_boot - start))
        chunks.append(_tau_b_rows(counts @ scaled, exp))
    taus = np.concatenate(chunks)
    taus = taus[~np.isnan(taus)]
    point = float(_tau_b_rows(scaled.sum(axis=0)[None, :], exp)[0])
    if taus.size == 0:
        return TauBootstrap(point, float("nan"), float("nan"), float("nan"), float("nan"))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(taus, [tail, 100 - tail])
    p_value = min(1.0, 2 * min(float(np.mean(taus <= 0)), float(np.mean(taus >= 0))))
    return TauBootstrap(point, float(taus.mean()), float(low), float(high), p_value)


def _exact_columns(matrix: np.ndarray, members: Sequence[int] | None) -> np.ndarray:
    """Integer hits with column g scaled by lcm(members) / members[g]: a column's sum is then its
    group's accuracy times one factor shared by every group, so accuracies compare exactly."""
    groups = matrix.shape[1]
    sizes = [1] * groups if members is None else [int(m) for m in members]
    if len(sizes) != groups or min(sizes) < 1:
        raise ValueError(f"members must give each of the {groups} groups a size of at least 1, got {list(members or [])}")
    if not np.issubdtype(matrix.dtype, np.number) or not np.all(np.isfinite(matrix)) or np.any(matrix != np.round(matrix)):
        raise ValueError("hits must be whole numbers (0/1, or with members= the count of a group's members right on the item)")
    ints = matrix.astype(np.int64)
    if ints.min() < 0 or np.any(ints > np.array(sizes)):
        raise ValueError(f"hits of group g must lie in 0..members[g] (members {sizes})")
    scale = math.lcm(*sizes)
    return ints * np.array([scale // m for m in sizes], dtype=np.int64)


@dataclass(frozen=True)
class Correlation:
    """Pearson r of n pairs, its two-sided p-value and 95% interval (Fisher z; nan for n < 4)."""

    r: float
    p_value: float
    low: float
    high: float
    n: int


def pearson_ci(x: ArrayLike, y: ArrayLike, level: float = 0.95) -> Correlation:
    """Pearson r of paired values with the Fisher-z interval tanh(atanh(r) -+ z / sqrt(n - 3)).

    r and p are scipy's `pearsonr`; r is nan when either side is constant (undefined), the
    interval nan when n < 4 (its standard error needs n - 3 > 0).
    """
    from scipy.stats import norm, pearsonr

    a, b = as_vector(x, "x"), as_vector(y, "y")
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {a.size} vs {b.size}")
    n = int(a.size)
    if n < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return Correlation(math.nan, math.nan, math.nan, math.nan, n)
    result = pearsonr(a, b)
    r = float(result.statistic)
    if n < 4:
        return Correlation(r, float(result.pvalue), math.nan, math.nan, n)
    z = float(norm.ppf(0.5 + level / 2))
    centre = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15))
    half = z / math.sqrt(n - 3)
    return Correlation(r, float(result.pvalue), math.tanh(centre - half), math.tanh(centre + half), n)


def roc_auc(positive: ArrayLike, negative: ArrayLike) -> float:
    """Area under the ROC curve of a score separating `positive` from `negative` values.

    Exact rank formula: (sum of the positives' mid-ranks in the pooled sample - n_p (n_p + 1) / 2)
    / (n_p n_n), i.e. the Mann-Whitney U of the positives over n_p n_n: the probability that a
    random positive scores above a random negative, ties counting one half. 0.5 is no separation,
    1 perfect, 0 perfectly reversed.

    Raises:
        ValueError: when either class is empty or holds a nan.
    """
    from scipy.stats import rankdata

    pos, neg = as_vector(positive, "positive"), as_vector(negative, "negative")
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f"AUC needs both classes: {pos.size} positive and {neg.size} negative values")
    if np.isnan(pos).any() or np.isnan(neg).any():
        raise ValueError("AUC scores must not be nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))
