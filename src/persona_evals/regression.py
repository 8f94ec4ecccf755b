"""Linear mixed-effects fits with statsmodels, reported as plain rows (nothing here reads logs).

`fit_mixed` fits ``formula`` with a random intercept per group (statsmodels `mixedlm`, REML) and
returns each fixed effect's coefficient, standard error, 95% Wald interval and p-value, with
Nakagawa & Schielzeth's R²: marginal = σ²_f / (σ²_f + σ²_g + σ²_e) (the fixed effects' share,
σ²_f the variance of the fixed-effect predictions over the fitted rows) and conditional =
(σ²_f + σ²_g) / (σ²_f + σ²_g + σ²_e) (fixed and random together), σ²_g the group intercepts'
variance and σ²_e the residual variance. The Principled Personas notebook computes the same
quantities (`compute_r2`), but for its model-scale fits it passed the full data frame instead of
the fitted one, so those R² described other rows; here they always come from the fit's own rows.

Fits that statsmodels cannot estimate become `RegressionError` with a sentence a user can act on,
never a traceback or a silent NaN: a singular design (a constant or collinear predictor), a
Hessian that is not positive definite (no standard errors), an exact fit (no residual variance),
or non-finite estimates. A group
variance estimated at zero (the boundary of the parameter space; below `BOUNDARY` times the
residual variance) is legitimate and reported as a note: the random intercept then adds nothing
and the fit equals ordinary least squares. statsmodels' own boundary warning is not used: it fires
for any variance below 0.01 in absolute terms, which is most variances of accuracies.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

MIN_GROUPS = 2  # a group variance needs at least two groups
BOUNDARY = 1e-6  # a group variance below this share of the residual's is the boundary (0)


class RegressionError(ValueError):
    """A mixed-effects fit that cannot be made or trusted; the message says why and what is needed."""


@dataclass(frozen=True)
class Coefficient:
    term: str
    coef: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class MixedFit:
    """One fit: its fixed effects (intercept first), variance components, R² and sizes."""

    formula: str
    coefficients: list[Coefficient]
    group_var: float
    residual_var: float
    r2_marginal: float
    r2_conditional: float
    n_obs: int
    n_groups: int
    notes: list[str] = field(default_factory=list)


def fit_mixed(frame: Any, formula: str, groups: str, what: str = "the regression") -> MixedFit:
    """Fit `formula` on `frame` (a pandas DataFrame) with a random intercept per `groups` value.

    Args:
        frame: one row per observation, with the formula's columns and `groups`.
        formula: a patsy formula, e.g. ``accuracy ~ C(category, Treatment(reference='empty'))``.
        groups: the column naming each row's group (its random intercept).
        what: names the fit in error messages (e.g. "the education regression").

    Raises:
        RegressionError: too few groups or rows, or a fit statsmodels cannot estimate.
    """
    import numpy as np
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    n_groups = int(frame[groups].nunique())
    if n_groups < MIN_GROUPS:
        raise RegressionError(
            f"{what} needs at least {MIN_GROUPS} groups for its random intercept, got {n_groups}"
        )
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.mixedlm(formula, frame, groups=frame[groups])
        except Exception as ex:  # patsy: a column or level missing from the frame
            raise RegressionError(f"{what}: cannot build the design of {formula!r} ({ex})") from None
        if model.exog.shape[0] <= model.exog.shape[1] + 1:
            raise RegressionError(
                f"{what} has {model.exog.shape[0]} observations for {model.exog.shape[1]} fixed effects "
                f"and two variances: it needs at least {model.exog.shape[1] + 2}"
            )
        if np.linalg.matrix_rank(model.exog) < model.exog.shape[1]:
            raise RegressionError(
                f"{what} is singular: its predictors are constant or collinear over the rows given "
                f"({', '.join(model.exog_names)}); every level needs observations that vary apart"
            )
        try:
            result = model.fit(reml=True)
        except np.linalg.LinAlgError as ex:
            raise RegressionError(f"{what} is singular ({ex}): a predictor is constant or collinear") from None
    if float(result.scale) <= 1e-12 * max(1.0, float(np.var(model.endog))):
        raise RegressionError(
            f"{what} fits the observations exactly (residual variance 0), so its standard errors are "
            "undefined: every (model, task) cell has the same accuracies per level, as with very few items "
            "or a model that always or never answers right"
        )
    for warning in caught:
        text = str(warning.message)
        if "Hessian" in text or "not positive definite" in text:
            raise RegressionError(
                f"{what} did not give standard errors (statsmodels: {text.strip()}); usually too few "
                "groups or observations per level: add tasks, models or personas"
            )
        if issubclass(warning.category, ConvergenceWarning) and "boundary" in text:
            continue  # statsmodels flags any variance below 0.01 (absolute): most accuracy data; judged below
        if issubclass(warning.category, ConvergenceWarning):
            notes.append(f"statsmodels: {text.strip()}")
    fe = result.fe_params
    bse = result.bse_fe
    ci = result.conf_int().loc[fe.index]
    p = result.pvalues.loc[fe.index]
    values = [*fe.values, *bse.values, *ci.values.ravel(), float(result.scale)]
    if not all(math.isfinite(float(v)) for v in values):
        raise RegressionError(
            f"{what} gave non-finite estimates: the design is degenerate (too few observations per level?)"
        )
    coefficients = [
        Coefficient(str(term), float(fe[term]), float(bse[term]), float(ci.loc[term, 0]), float(ci.loc[term, 1]), float(p[term]))
        for term in fe.index
    ]
    var_f = float(np.var(model.exog @ fe.values))
    var_g = float(result.cov_re.iloc[0, 0])
    var_e = float(result.scale)
    if var_g <= BOUNDARY * var_e:
        notes.append("group variance at the boundary (0): the random intercept adds nothing; the fit equals OLS")
    total = var_f + var_g + var_e
    return MixedFit(
        formula=formula,
        coefficients=coefficients,
        group_var=var_g,
        residual_var=var_e,
        r2_marginal=var_f / total if total > 0 else math.nan,
        r2_conditional=(var_f + var_g) / total if total > 0 else math.nan,
        n_obs=int(model.exog.shape[0]),
        n_groups=n_groups,
        notes=notes,
    )
