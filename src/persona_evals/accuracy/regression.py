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

The paper also regressed the metrics on model size (1-4); that needs sizes the logs do not hold
and is not done here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from persona_evals.accuracy.results import Run, accuracy_frame
from persona_evals.regression import MIN_GROUPS, MixedFit, RegressionError, fit_mixed
from persona_evals.stats.significance import adjust_pvalues

FAMILIES: tuple[str, ...] = ("category", "education", "domain", "specialization")
BASELINE = "empty"
CATEGORY_FORMULA = f"accuracy ~ C(category, Treatment(reference='{BASELINE}'))"
LEVEL_FORMULA = "accuracy ~ level"
GROUPS = "cell"  # model x task
# groups whose members enter the category model one by one; the others as their group's mean
PER_PERSONA = ("education", "names", "colors")
DOMAIN_LEVELS = {"out_of_domain": 0, "related": 1, "in_domain": 2}
NEEDS = {
    "category": f"the empty persona and at least one other persona group in {MIN_GROUPS}+ (model, task) cells",
    "education": f"at least 2 education levels in {MIN_GROUPS}+ (model, task) cells",
    "domain": f"in-domain and out-of-domain experts (related optional) in {MIN_GROUPS}+ (model, task) cells",
    "specialization": f"at least 2 dynamic expert levels in {MIN_GROUPS}+ (model, task) cells",
}


@dataclass
class RegressionRow:
    mitigation: str
    family: str
    formula: str
    term: str
    coef: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
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


COLUMNS = list(RegressionRow.__dataclass_fields__)


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
    runs: list[Run], families: tuple[str, ...] = FAMILIES, correction: str = "none"
) -> tuple[list[RegressionRow], list[str]]:
    """Every family's fit per mitigation: the table rows, and a line per family that was skipped
    (too few cells or personas: what it needs; a singular or degenerate fit: why).

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
            out += _rows(fit, mitigation, family, correction)
    if not out:
        raise RegressionError("no regression could be fitted: " + "; ".join(skipped))
    return out, skipped


def _rows(fit: MixedFit, mitigation: str, family: str, correction: str) -> list[RegressionRow]:
    tested = [c for c in fit.coefficients if c.term != "Intercept"]
    adjusted = dict(zip((c.term for c in tested), adjust_pvalues([c.p_value for c in tested], correction)))
    return [
        RegressionRow(
            mitigation=mitigation,
            family=family,
            formula=fit.formula,
            term=term_label(c.term),
            coef=c.coef,
            se=c.se,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            p_value=c.p_value,
            correction=correction,
            p_adjusted=float(adjusted.get(c.term, float("nan"))) if correction != "none" else float("nan"),
            n_obs=fit.n_obs,
            n_groups=fit.n_groups,
            group_var=fit.group_var,
            residual_var=fit.residual_var,
            r2_marginal=fit.r2_marginal,
            r2_conditional=fit.r2_conditional,
            note="; ".join(fit.notes),
        )
        for c in fit.coefficients
    ]


def term_label(term: str) -> str:
    """``C(category, Treatment(reference='empty'))[T.names]`` -> ``names``; others unchanged."""
    return term.rpartition("[T.")[2].rstrip("]") if "[T." in term else term
