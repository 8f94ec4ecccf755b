"""Statistics shared by every benchmark, as pure functions (nothing here reads logs).

One concern a module:

- `intervals`: a mean and its uncertainty: `mean_se` (standard error, n - 1), `normal_ci`
  (mean +- z * SE, clipped to the score range), `bootstrap_mean_ci` (seeded percentile interval),
  `wilson_interval` (a share, honest for small n), `ratio_se` (delta method, paired or
  independent) and `mean_covariance` (of two means over shared pairs).
- `significance`: paired tests (`sign_test`, exact, ties dropped; `mcnemar_exact`, the sign test
  on 0/1 hits), multiple-testing corrections (`holm`, family-wise error; `benjamini_hochberg`,
  false discovery rate; `adjust_pvalues` by name, `CORRECTIONS`) and `verdict`.
- `correlation`: `pearson` (NaN where a side is constant), `pearson_ci` (Fisher z),
  `bootstrap_tau` (Kendall's tau-b of group accuracies against an expected order, with its
  seeded item bootstrap, from exact counts so equal accuracies tie) and `roc_auc` (from ranks).

(The statsmodels mixed-effects fits are `persona_evals.regression`.)

Paired tests take arrays over the same items in the same order (0/1 hits, or soft hits in [0, 1]
for a group of personas averaged per item). This module holds what they share: the defaults
below and `as_vector`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

ALPHA = 0.05
N_BOOTSTRAP = 10_000
MAX_N_BOOT = 100_000  # the most replicates a command accepts (each costs time; persona-loo keeps them all)
BOOTSTRAP_SEED = 42
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def as_vector(values: ArrayLike, name: str) -> np.ndarray:
    """`values` as a 1-d float array (one value per item), else a ValueError naming `name`."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of per-item hits, got shape {arr.shape}")
    return arr
