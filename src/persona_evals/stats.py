"""Statistics shared by every benchmark, as pure functions (nothing here reads logs).

Paired tests take arrays over the same items in the same order (0/1 hits, or soft hits in [0, 1]
for a group of personas averaged per item).

- `mean_se`: mean and standard error of the mean (sample variance, n - 1).
- `normal_ci`: mean +- z * SE, clipped to a range (scores in [0, 1]).
- `bootstrap_mean_ci`: percentile interval of the mean from a seeded resampling of the values.
- `wilson_interval`: the Wilson score interval of a share (honest for small n).
- `sign_test`: two-sided exact sign test of paired scores (ties dropped).
- `mcnemar_exact`: the sign test on paired 0/1 hits, i.e. McNemar's exact test.
- `ratio_se`: delta-method standard error of a ratio of two means (paired or independent).
- `pearson`: Pearson's r (NaN where either side is constant).
- `kendall_tau_b`: Kendall's tau-b of observed accuracies against an expected order (ties kept).
- `bootstrap_tau`: the item bootstrap of tau (10,000 resamples, seeded) with a percentile CI,
  from exact (integer) group counts, so equal accuracies tie.
- `holm`: Holm's step-down adjustment of a family of p-values (controls the family-wise error).
- `benjamini_hochberg`: the Benjamini-Hochberg step-up adjustment (controls the false discovery rate).
- `adjust_pvalues`: one of the above by name (`CORRECTIONS`), or none.
- `pearson_ci`: Pearson r with its 95% Fisher-z interval.
- `roc_auc`: the area under the ROC curve from ranks (the Mann-Whitney U statistic / n_pos n_neg).
- `verdict`: Positive / Negative / Not significant.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
from numpy.typing import ArrayLike

ALPHA = 0.05
N_BOOTSTRAP = 10_000
MAX_N_BOOT = 100_000  # the most replicates a command accepts (each costs time; persona-loo keeps them all)
BOOTSTRAP_SEED = 42
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """(mean, standard error of the mean); nan for an empty list, SE nan for a single value."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def clip(x: float, low: float = 0.0, high: float = 1.0) -> float:
    """`x` clipped to [low, high]; nan stays nan."""
    return x if math.isnan(x) else min(high, max(low, x))


def normal_ci(mean: float, se: float, z: float = Z95, low: float = 0.0, high: float = 1.0) -> tuple[float, float]:
    """Normal-approximation interval mean +- z * se, clipped to the score range [low, high]."""
    return clip(mean - z * se, low, high), clip(mean + z * se, low, high)


def bootstrap_mean_ci(values: Sequence[float], n_boot: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of the mean over `n_boot` resamples of `values` (seeded, stdlib RNG)."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return means[int(0.025 * (n_boot - 1))], means[int(math.ceil(0.975 * (n_boot - 1)))]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a share: honest about how few observations there are."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _hits(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of per-item hits, got shape {arr.shape}")
    return arr


def sign_test(x: ArrayLike, y: ArrayLike) -> tuple[float, int, int]:
    """(p-value, b, c) of the two-sided exact sign test of paired scores.

    b counts pairs with x > y, c pairs with x < y (ties carry no information and are dropped); p
    is the two-sided binomial probability of a split at least as uneven as (b, c) under p = 0.5,
    and 1 when every pair is tied. On 0/1 hits this is McNemar's exact test; on per-pair means
    over several epochs it tests the same null (neither side tends to score higher).
    """
    a, b_ = _hits(x, "x"), _hits(y, "y")
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
    x, y = _hits(persona, "persona"), _hits(baseline, "baseline")
    if x.shape != y.shape:
        raise ValueError(f"persona and baseline hits differ in length: {x.size} vs {y.size}")
    if not np.isin(x, (0, 1)).all() or not np.isin(y, (0, 1)).all():
        raise ValueError("McNemar needs 0/1 hits per item")
    return sign_test(x, y)


def ratio_se(mean_a: float, se_a: float, mean_b: float, se_b: float, cov_ab: float = 0.0) -> float:
    """Delta-method standard error of the ratio R = mean_a / mean_b.

    First-order Taylor expansion of a/b around the two means:
    Var(R) ~ (Var(a) + R^2 Var(b) - 2 R Cov(a, b)) / b^2, with Var(a) = se_a^2, Var(b) = se_b^2
    and `cov_ab` the covariance of the two means (0 for independent samples; see
    `mean_covariance` for paired ones). nan when mean_b is 0 or an input is nan.

    Example:
        >>> round(ratio_se(0.6, 0.03, 0.4, 0.04), 4)  # sqrt(.03^2 + 1.5^2 * .04^2) / .4
        0.1677
    """
    if mean_b == 0 or any(math.isnan(v) for v in (mean_a, se_a, mean_b, se_b, cov_ab)):
        return math.nan
    r = mean_a / mean_b
    var = se_a**2 + r * r * se_b**2 - 2 * r * cov_ab
    return math.sqrt(max(var, 0.0)) / abs(mean_b)


def mean_covariance(x: Sequence[float], y: Sequence[float], n_x: int, n_y: int) -> float:
    """Covariance of two means when their samples share the paired values `x`, `y`.

    Mean A averages n_x values and mean B n_y values, of which the len(x) pairs (x_i, y_i) are
    the same units (e.g. the question-persona pairs scored in both modes): Cov(A, B) =
    n_c s_xy / (n_x n_y), with s_xy the sample covariance (n_c - 1) of the pairs. 0 with fewer
    than two pairs.
    """
    n_c = len(x)
    if n_c != len(y):
        raise ValueError(f"paired values differ in length: {n_c} vs {len(y)}")
    if n_c < 2 or n_x == 0 or n_y == 0:
        return 0.0
    mx, my = sum(x) / n_c, sum(y) / n_c
    s_xy = sum((a - mx) * (b - my) for a, b in zip(x, y)) / (n_c - 1)
    return n_c * s_xy / (n_x * n_y)


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson's r of paired values; NaN when either side is constant (r is undefined there)."""
    from scipy.stats import pearsonr

    if len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(pearsonr(x, y).statistic)


def kendall_tau_b(observed: ArrayLike, expected: ArrayLike | None = None) -> float:
    """Kendall's tau-b between observed values and an expected order (default 0, 1, 2, ...).

    Returns nan when either side is constant (tau-b is undefined there).
    """
    obs = _hits(observed, "observed")
    exp = np.arange(obs.size, dtype=float) if expected is None else _hits(expected, "expected")
    return float(_tau_b_rows(obs[None, :], exp)[0])


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
        np.arange(matrix.shape[1], dtype=float) if expected is None else _hits(expected, "expected")
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


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as given; nan stays nan)."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
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
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    running = 1.0
    for rank in range(m - 1, -1, -1):  # from the largest p down
        idx = order[rank]
        running = min(running, m * p[idx] / (rank + 1))
        adjusted[idx] = running
    return adjusted


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

    a, b = _hits(x, "x"), _hits(y, "y")
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

    pos, neg = _hits(positive, "positive"), _hits(negative, "negative")
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f"AUC needs both classes: {pos.size} positive and {neg.size} negative values")
    if np.isnan(pos).any() or np.isnan(neg).any():
        raise ValueError("AUC scores must not be nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


VERDICTS = ("Positive", "Not significant", "Negative")


def verdict(value: float, significant: bool) -> str:
    """One of `VERDICTS`: Positive / Negative when significant and non-zero; otherwise Not significant."""
    if significant and value > 0:
        return VERDICTS[0]
    if significant and value < 0:
        return VERDICTS[2]
    return VERDICTS[1]
