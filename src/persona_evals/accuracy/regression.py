"""The Principled Personas regressions: persona accuracy on persona type, with model x task as a
random intercept (statsmodels `mixedlm`, `persona_evals.regression`), per mitigation.

The response is a persona's accuracy on one task for one model; the group of its random intercept
is the (model, task) cell, as in the paper's notebook. Four families:

- ``category``: ``accuracy ~ C(category, Treatment('empty'))``: each persona type against the
  no-persona baseline. Education levels, names and colours enter persona by persona; the static
  in-domain, related and out-of-domain experts as their group's mean accuracy (the paper's
  in-expert, experts and out-expert rows); the dynamic experts as ``level1``..``level3``.
- ``education``: ``accuracy ~ level`` over the education personas, level 0 (uneducated) .. 5
  (graduate): the accuracy change per education step.
- ``domain``: ``accuracy ~ level`` over out-of-domain (0), related (1) and in-domain (2) experts.
- ``specialization``: ``accuracy ~ level`` over the dynamic experts, broad (0) .. niche (2).

With model sizes given (`persona_evals.accuracy.sizes`), a fifth kind, as in the notebook's
"Scale effect" cells: each metric of `persona_evals.accuracy.metrics` that the paper regresses on
size (advantage static/level1-3, robustness colors/names, fidelity domain/education/specialization)
as ``value ~ size``, one observation per (model, task), random intercept per model family x task;
one fit per metric, family ``size:<metric>``. Their R² come from the fitted rows (the notebook's
came from its whole persona frame). With a correction, the size slopes of one mitigation are
adjusted together (one test per fit: adjusting within a fit would change nothing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from persona_evals.accuracy.metrics import MetricRow, compute_metrics
from persona_evals.accuracy.results import Run, accuracy_frame
from persona_evals.accuracy.sizes import (
    SIZE_FAMILY,
    SIZE_FORMULA,
    SIZE_GROUPS,
    SIZE_METRICS,
    ModelSizes,
    check_size_rows,
    size_frame,
)
from persona_evals.regression import MIN_GROUPS, Coefficient, MixedFit, RegressionError, fit_mixed
from persona_evals.stats.significance import adjust_pvalues

FAMILIES: tuple[str, ...] = ("category", "education", "domain", "specialization")
BASELINE = "empty"
CATEGORY_FORMULA = f"accuracy ~ C(category, Treatment(reference='{BASELINE}'))"
LEVEL_FORMULA = "accuracy ~ level"
GROUPS = "cell"  # model x task
RANDOM_INTERCEPT = {GROUPS: "model x task", SIZE_GROUPS: "model family x task"}  # what a fit's groups are
# groups whose members enter the category model one by one; the others as their group's mean
PER_PERSONA = ("education", "names", "colors")
DOMAIN_LEVELS = {"out_of_domain": 0, "related": 1, "in_domain": 2}
NEEDS = {
    "category": f"the empty persona and at least one other persona group in {MIN_GROUPS}+ (model, task) cells",
    "education": f"at least 2 education levels in {MIN_GROUPS}+ (model, task) cells",
    "domain": f"in-domain and out-of-domain experts (related optional) in {MIN_GROUPS}+ (model, task) cells",
    "specialization": f"at least 2 dynamic expert levels in {MIN_GROUPS}+ (model, task) cells",
}


@dataclass(frozen=True)
class RegressionRow(Coefficient):
    """One fixed effect of one fit (`Coefficient`'s fields, the term labelled), with its fit."""

    mitigation: str
    family: str
    formula: str
    groups: str  # what the random intercept is per (`RANDOM_INTERCEPT`)
    correction: str
    p_adjusted: float
    n_obs: int
    n_groups: int
    group_var: float
    residual_var: float
    r2_marginal: float
    r2_conditional: float
    note: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_FIT = ["mitigation", "family", "formula", "groups"]
COLUMNS = _FIT + [f for f in RegressionRow.__dataclass_fields__ if f not in _FIT]  # the fit first, then the term


def regression_frame(runs: list[Run]) -> Any:
    """One row per (model, mitigation, task, regression unit): the unit's category, its level in
    its ordinal family (NaN outside one), its accuracy, and its cell (model x task)."""
    import pandas as pd

    acc = accuracy_frame(runs)
    rows = []
    for (model, mitigation, task), cell in acc.groupby(["model", "mitigation", "task"], sort=True):
        common = {"model": model, "mitigation": mitigation, "task": task, "cell": f"{model} | {task}"}
        for group, members in cell.groupby("group", sort=False):
            members = members.sort_values(["rank", "persona"])
            # a level is the persona's rank in its group's expected order (education 0-5, dynamic 0-2),
            # so a run of some of the levels keeps their true spacing
            if group in PER_PERSONA or group == BASELINE:
                for row in members.itertuples():
                    level = row.rank if group == "education" else float("nan")
                    rows.append({**common, "unit": row.persona, "family": group, "category": group, "level": level, "accuracy": row.accuracy})
            elif group == "dynamic":
                for row in members.itertuples():
                    name = row.persona.partition(":")[2] or row.persona
                    rows.append({**common, "unit": row.persona, "family": "dynamic", "category": name, "level": row.rank, "accuracy": row.accuracy})
            elif group in DOMAIN_LEVELS:
                rows.append({**common, "unit": group, "family": "domain", "category": group, "level": DOMAIN_LEVELS[group], "accuracy": members["accuracy"].mean()})
    columns = ["model", "mitigation", "task", "cell", "unit", "family", "category", "level", "accuracy"]
    return pd.DataFrame(rows, columns=columns)


def family_rows(frame: Any, family: str) -> tuple[Any, str]:
    """The rows one family's regression is fitted on, and its formula."""
    if family == "category":
        return frame, CATEGORY_FORMULA
    source = {"education": "education", "domain": "domain", "specialization": "dynamic"}[family]
    return frame[frame["family"] == source], LEVEL_FORMULA


def _check_family(rows: Any, family: str) -> str | None:
    """Why `rows` cannot carry the family's regression (None when they can)."""
    if family == "category":
        cells = rows.groupby("cell")["category"].agg(lambda c: BASELINE in set(c) and len(set(c)) > 1)
        ok = rows["category"].eq(BASELINE).any() and rows["category"].nunique() > 1
    else:
        cells = rows.groupby("cell")["level"].nunique() >= 2
        ok = rows["level"].nunique() >= 2 and (family != "domain" or {0, 2} <= set(rows["level"]))
    if not ok or int(cells.sum()) < MIN_GROUPS:
        return f"needs {NEEDS[family]}"
    return None


def fit_families(
    runs: list[Run],
    families: tuple[str, ...] = FAMILIES,
    correction: str = "none",
    sizes: ModelSizes | None = None,
    metrics: list[MetricRow] | None = None,
) -> tuple[list[RegressionRow], list[str]]:
    """Every family's fit per mitigation: the table rows, and a line per family that was skipped
    (too few cells or personas: what it needs; a singular or degenerate fit: why).

    With `sizes`, also the size regressions (`fit_sizes`) on `metrics` (computed from `runs` when
    not given, and only when every model has a size).

    Raises:
        RegressionError: when no family could be fitted at all (the message gives each reason).
    """
    adjust_pvalues([], correction)
    frame = regression_frame(runs)
    out: list[RegressionRow] = []
    skipped: list[str] = []
    for mitigation in sorted(frame["mitigation"].unique()):
        for family in families:
            rows, formula = family_rows(frame[frame["mitigation"] == mitigation], family)
            reason = _check_family(rows, family)
            if reason:
                skipped.append(f"{family} (mitigation {mitigation}): {reason}")
                continue
            try:
                fit = fit_mixed(rows, formula, GROUPS, f"the {family} regression")
            except RegressionError as ex:  # one family's degenerate fit does not cost the others
                skipped.append(f"{family} (mitigation {mitigation}): {ex}")
                continue
            out += _adjust(_rows(fit, mitigation, family, GROUPS), correction)
    if sizes is not None:
        if metrics is None and sizes.skip_reason() is None:
            metrics = compute_metrics(runs)
        size_rows, size_skipped = fit_sizes(metrics or [], sizes, correction)
        out += size_rows
        skipped += size_skipped
    if not out:
        raise RegressionError("no regression could be fitted: " + "; ".join(skipped))
    return out, skipped


def fit_sizes(
    metrics: list[MetricRow], sizes: ModelSizes, correction: str = "none"
) -> tuple[list[RegressionRow], list[str]]:
    """The paper's scale regressions: per mitigation, each size metric's ``value ~ size`` with a
    random intercept per model family x task; the rows, and a line per fit that was skipped (one
    line in all when a model has no size). The slopes of one mitigation are adjusted together."""
    reason = sizes.skip_reason()
    if reason:
        return [], [f"{SIZE_FAMILY}: {reason}"]
    frame = size_frame(metrics, sizes)
    out: list[RegressionRow] = []
    skipped: list[str] = []
    for mitigation in sorted(frame["mitigation"].unique()):
        fitted: list[RegressionRow] = []
        for metric in SIZE_METRICS:
            family = f"{SIZE_FAMILY}:{metric}"
            rows = frame[(frame["mitigation"] == mitigation) & (frame["metric"] == metric)]
            reason = check_size_rows(rows, metric, MIN_GROUPS)
            try:
                if reason:
                    raise RegressionError(reason)
                fit = fit_mixed(rows, SIZE_FORMULA, SIZE_GROUPS, f"the {family} regression")
            except RegressionError as ex:
                skipped.append(f"{family} (mitigation {mitigation}): {ex}")
                continue
            undefined = int(rows["n_undefined"].iloc[0])
            notes = [f"{undefined} (model, task) value(s) undefined, left out"] * bool(undefined) + [sizes.describe()]
            fitted += _rows(fit, mitigation, family, SIZE_GROUPS, notes)
        out += _adjust(fitted, correction)
    return out, skipped


def _rows(fit: MixedFit, mitigation: str, family: str, groups: str, notes: list[str] = ()) -> list[RegressionRow]:
    """One table row per fixed effect of `fit` (p-values not adjusted yet: `_adjust`)."""
    return [
        RegressionRow(
            mitigation=mitigation,
            family=family,
            formula=fit.formula,
            groups=RANDOM_INTERCEPT[groups],
            term=term_label(c.term),
            coef=c.coef,
            se=c.se,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            p_value=c.p_value,
            correction="none",
            p_adjusted=float("nan"),
            n_obs=fit.n_obs,
            n_groups=fit.n_groups,
            group_var=fit.group_var,
            residual_var=fit.residual_var,
            r2_marginal=fit.r2_marginal,
            r2_conditional=fit.r2_conditional,
            note="; ".join([*fit.notes, *notes]),
        )
        for c in fit.coefficients
    ]


def _adjust(rows: list[RegressionRow], correction: str) -> list[RegressionRow]:
    """Adjust the p-values of `rows`' effects (not intercepts) as one family of tests; every row
    names the correction."""
    if correction == "none":
        return [replace(r, correction=correction) for r in rows]
    tested = [i for i, r in enumerate(rows) if r.term != "Intercept"]
    adjusted = dict(zip(tested, adjust_pvalues([rows[i].p_value for i in tested], correction), strict=True))
    return [replace(r, correction=correction, p_adjusted=float(adjusted.get(i, r.p_adjusted))) for i, r in enumerate(rows)]


def term_label(term: str) -> str:
    """``C(category, Treatment(reference='empty'))[T.names]`` -> ``names``; others unchanged."""
    return term.rpartition("[T.")[2].rstrip("]") if "[T." in term else term
