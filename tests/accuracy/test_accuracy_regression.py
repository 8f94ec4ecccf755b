"""The Principled Personas mixed-effects regressions: known effects recovered from a scripted hit
table, the fit identical to statsmodels called directly, bad input answered, the CLI and the plot."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from persona_evals.accuracy.regression import (
    CATEGORY_FORMULA,
    GROUPS,
    LEVEL_FORMULA,
    family_rows,
    fit_families,
    regression_frame,
)
from persona_evals.accuracy.results import Run
from persona_evals.regression import RegressionError, fit_mixed

N_ITEMS = 400
EDUCATION_STEP = 0.02  # per level, 6 levels: mean effect 2.5 steps
EFFECTS = {"names": -0.05, "colors": 0.0, "in_domain": 0.08, "related": 0.04, "out_of_domain": 0.0}
LEVEL_STEP = 0.03  # level1..3: +0.03, +0.06, +0.09
PERSONAS = (
    [("empty", "empty", 0, 0.0)]
    + [(f"education:{k}", "education", k, EDUCATION_STEP * k) for k in range(6)]
    + [(f"name:{n}", "names", 0, EFFECTS["names"]) for n in ("Kai", "Yumi", "Amit")]
    + [(f"color:{c}", "colors", 0, EFFECTS["colors"]) for c in ("red", "blue")]
    + [("in_domain:x", "in_domain", 0, EFFECTS["in_domain"])]
    + [(f"related:{r}", "related", 0, EFFECTS["related"]) for r in ("a", "b")]
    + [(f"out_of_domain:{o}", "out_of_domain", 0, EFFECTS["out_of_domain"]) for o in ("c", "d")]
    + [(f"dynamic:level{k}", "dynamic", k, LEVEL_STEP * k) for k in (1, 2, 3)]
)


def scripted_runs(cells=(("m1", "t1"), ("m1", "t2"), ("m2", "t1"), ("m2", "t2"), ("m3", "t1"), ("m3", "t3")),
                  personas=PERSONAS, seed=0, mitigation="none"):
    """Runs whose persona accuracies are cell base + the persona's effect + small seeded noise."""
    rng = np.random.default_rng(seed)
    items = [f"i{k}" for k in range(N_ITEMS)]
    runs = []
    for model, task in cells:
        base = rng.uniform(0.3, 0.6)
        run = Run(model, mitigation, task)
        for pid, group, rank, effect in personas:
            correct = int(round((base + effect + rng.normal(0, 0.008)) * N_ITEMS))
            run.hits[pid] = {item: int(k < correct) for k, item in enumerate(items)}
            run.groups[pid], run.ranks[pid], run.sources[pid] = group, rank, "log"
        runs.append(run)
    return runs


def by_term(rows, family):
    return {r.term: r for r in rows if r.family == family}


def test_known_effects_are_recovered():
    rows, skipped = fit_families(scripted_runs())
    assert skipped == []
    category = by_term(rows, "category")
    expected = {"education": 2.5 * EDUCATION_STEP, **EFFECTS, "level1": LEVEL_STEP, "level2": 2 * LEVEL_STEP,
                "level3": 3 * LEVEL_STEP}
    assert set(category) == {"Intercept", *expected}
    for term, effect in expected.items():
        assert category[term].coef == pytest.approx(effect, abs=0.012), term
        assert category[term].ci_low < category[term].coef < category[term].ci_high
    assert category["names"].p_value < 1e-6 and category["colors"].p_value > 0.01
    assert by_term(rows, "education")["level"].coef == pytest.approx(EDUCATION_STEP, abs=0.004)
    assert by_term(rows, "domain")["level"].coef == pytest.approx(EFFECTS["in_domain"] / 2, abs=0.006)
    assert by_term(rows, "specialization")["level"].coef == pytest.approx(LEVEL_STEP, abs=0.006)
    # the cells differ a lot, the personas little: most variance is the random intercept's
    first = category["names"]
    assert 0 < first.r2_marginal < first.r2_conditional <= 1
    assert first.n_groups == 6


@pytest.mark.parametrize("family", ["category", "education", "domain", "specialization"])
def test_the_fit_equals_statsmodels_called_directly_on_the_same_frame(family):
    runs = scripted_runs(seed=3)
    rows = by_term(fit_families(runs, families=(family,))[0], family)
    frame, formula = family_rows(regression_frame(runs), family)
    assert formula == (CATEGORY_FORMULA if family == "category" else LEVEL_FORMULA)
    direct = smf.mixedlm(formula, frame, groups=frame[GROUPS]).fit(reml=True)
    ci = direct.conf_int()
    for term in direct.fe_params.index:
        mine = rows[term.rpartition("[T.")[2].rstrip("]") if "[T." in term else term]
        assert mine.coef == pytest.approx(direct.fe_params[term], rel=1e-9, abs=1e-12)
        assert mine.se == pytest.approx(direct.bse_fe[term], rel=1e-9)
        assert mine.p_value == pytest.approx(direct.pvalues[term], rel=1e-6, abs=1e-300)
        assert (mine.ci_low, mine.ci_high) == (pytest.approx(ci.loc[term, 0]), pytest.approx(ci.loc[term, 1]))
    # Nakagawa R² from the same fit's variance components
    var_f = np.var(direct.model.exog @ direct.fe_params.values)
    var_g, var_e = direct.cov_re.iloc[0, 0], direct.scale
    total = var_f + var_g + var_e
    first = next(iter(rows.values()))
    assert first.r2_marginal == pytest.approx(var_f / total)
    assert first.r2_conditional == pytest.approx((var_f + var_g) / total)
    assert (first.n_obs, first.n_groups) == (len(frame), frame[GROUPS].nunique())


def test_the_correction_adjusts_the_terms_of_each_fit():
    from persona_evals.stats.significance import benjamini_hochberg

    rows = by_term(fit_families(scripted_runs(), families=("category",), correction="bh")[0], "category")
    terms = [t for t in rows if t != "Intercept"]
    expected = benjamini_hochberg([rows[t].p_value for t in terms])
    assert [rows[t].p_adjusted for t in terms] == pytest.approx(list(expected))
    assert math.isnan(rows["Intercept"].p_adjusted) and rows["Intercept"].correction == "bh"


def test_too_few_cells_or_personas_say_what_is_needed():
    with pytest.raises(RegressionError, match="needs the empty persona and at least one other persona group in 2"):
        fit_families(scripted_runs(cells=(("m1", "t1"),)))
    only_base = [p for p in PERSONAS if p[1] in ("empty", "names")]
    rows, skipped = fit_families(scripted_runs(personas=only_base))
    assert {r.family for r in rows} == {"category"}
    assert any(s.startswith("education (mitigation none): needs at least 2 education levels") for s in skipped)
    assert any(s.startswith("domain (mitigation none): needs in-domain and out-of-domain") for s in skipped)
    with pytest.raises(RegressionError, match="at least 2 groups for its random intercept, got 1"):
        fit_mixed(pd.DataFrame({"accuracy": [0.1, 0.2, 0.3, 0.4], "level": [0, 1, 2, 3], "cell": ["a"] * 4}),
                  LEVEL_FORMULA, GROUPS)
    with pytest.raises(RegressionError, match="has 3 observations for 2 fixed effects and two variances: it needs at least 4"):
        fit_mixed(pd.DataFrame({"accuracy": [0.1, 0.2, 0.3], "level": [0, 1, 2], "cell": ["a", "b", "b"]}),
                  LEVEL_FORMULA, GROUPS)


def test_a_singular_design_is_a_clear_error_not_a_traceback():
    frame = pd.DataFrame({"accuracy": np.linspace(0.1, 0.9, 12), "level": [1] * 12, "cell": list("abcd") * 3})
    with pytest.raises(RegressionError, match="the education regression is singular: its predictors are constant"):
        fit_mixed(frame, LEVEL_FORMULA, GROUPS, "the education regression")


def test_an_exact_fit_is_a_clear_error_and_costs_only_its_family():
    frame = pd.DataFrame({"accuracy": [0, 0.5, 1] * 5, "level": [0, 1, 2] * 5, "cell": [c for c in "abcde" for _ in range(3)]})
    with pytest.raises(RegressionError, match="fits the observations exactly .residual variance 0."):
        fit_mixed(frame, LEVEL_FORMULA, GROUPS, "the domain regression")
    # every cell: out-of-domain 0.2, related 0.4, in-domain 0.6 exactly; the other families still fit
    exact = [(p, g, r, e) for p, g, r, e in PERSONAS if g not in DOMAIN_GROUPS]
    exact += [("out_of_domain:c", "out_of_domain", 0, None), ("related:a", "related", 0, None), ("in_domain:x", "in_domain", 0, None)]
    runs = scripted_runs(personas=[p for p in exact if p[3] is not None])
    items = list(runs[0].hits["empty"])
    for run in runs:
        for pid, group, rank, _ in exact[-3:]:
            correct = {"out_of_domain": 80, "related": 160, "in_domain": 240}[group]
            run.hits[pid] = {item: int(k < correct) for k, item in enumerate(items)}
            run.groups[pid], run.ranks[pid], run.sources[pid] = group, rank, "log"
    rows, skipped = fit_families(runs)
    assert {r.family for r in rows} == {"category", "education", "specialization"}
    assert skipped == [
        "domain (mitigation none): the domain regression fits the observations exactly (residual variance 0), so its "
        "standard errors are undefined: every (model, task) cell has the same accuracies per level, as with very few "
        "items or a model that always or never answers right"
    ]


DOMAIN_GROUPS = ("in_domain", "related", "out_of_domain")


def test_a_hessian_warning_becomes_a_clear_error(monkeypatch):
    import warnings

    from statsmodels.regression.mixed_linear_model import MixedLM

    real_fit = MixedLM.fit

    def fit(self, *args, **kwargs):
        result = real_fit(self, *args, **kwargs)
        warnings.warn("The Hessian matrix at the estimated parameter values is not positive definite.")
        return result

    monkeypatch.setattr(MixedLM, "fit", fit)
    with pytest.raises(RegressionError, match="did not give standard errors .* add tasks, models or personas"):
        fit_families(scripted_runs(), families=("education",))


def test_metrics_regression_and_the_coefficient_plot(tmp_path, monkeypatch, capsys):
    import csv

    from persona_evals.accuracy import results
    from persona_evals.cli import main

    runs = scripted_runs()
    monkeypatch.setattr(results, "collect_hits", lambda paths: runs)
    monkeypatch.setattr("persona_evals.logs.find_logs", lambda *a, **k: ["fake.eval"])
    out = tmp_path / "out"
    assert main(["metrics", "fake.eval", "--out-dir", str(out), "--n-boot", "200", "--regression", "--correction", "holm"]) == 0
    table = list(csv.DictReader((out / "regression.csv").open()))
    assert {r["family"] for r in table} == {"category", "education", "domain", "specialization"}
    assert {r["correction"] for r in table} == {"holm"}
    text = (out / "regression.md").read_text()
    assert "R² marginal" in text and "p (Holm)" in text
    assert "### education (mitigation: none)" in capsys.readouterr().out
    png = tmp_path / "regression.png"
    assert main(["viz", "persona-regression", "--csv", str(out / "regression.csv"), "--out", str(png)]) == 0
    assert png.stat().st_size > 0
    plotted = list(csv.DictReader(png.with_suffix(".csv").open()))
    assert len(plotted) == len([r for r in table if r["term"] != "Intercept"])
    assert {r["term"] for r in plotted} >= {"names", "level"}
    assert main(["viz", "persona-regression", "--csv", str(out / "regression.csv"), "--out", str(png),
                 "--overwrite", "--mitigation", "refine"]) == 2
    assert "no regression coefficients for --mitigation refine; the rows have: none" in capsys.readouterr().err
