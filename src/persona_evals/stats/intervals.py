"""A mean and its uncertainty: standard errors, normal, bootstrap and Wilson intervals, and the
delta-method error of a ratio of (possibly paired) means."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from persona_evals.stats import Z95


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
