"""The Principled Personas mixed-effects regressions: known effects recovered from a scripted hit
table, the fit identical to statsmodels called directly, bad input answered, the CLI and the plot."""

import math
import warnings

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


# -- model size (the notebook's "Scale effect" fits) -------------------------------------------------

from persona_evals.accuracy.metrics import MetricRow  # noqa: E402
from persona_evals.accuracy.regression import fit_sizes  # noqa: E402
from persona_evals.accuracy.sizes import SIZE_METRICS, Given, SizeError, positive_size, resolve_sizes  # noqa: E402

SIZES = {"a1": 1, "a2": 2, "a3": 3, "b1": 1, "b2": 2, "b3": 4}  # two families, the paper's 1-4 scale
FAMILY = {m: m[0] for m in SIZES}
SLOPES = {"advantage:static": 0.02, "robustness:names": -0.015, "fidelity:education": 0.1}


def given(values):
    return {m: Given(v, "test") for m, v in values.items()}


def scripted_metrics(seed=0, tasks=8, mitigation="none"):
    """Metric rows whose value is a (family, task) intercept + the metric's slope x size + noise; the
    static advantage as two in-domain experts whose mean is that value. Also the frame statsmodels
    should see: one row per (model, task) with its family x task group."""
    rng = np.random.default_rng(seed)
    rows, frame = [], []
    for metric, slope in SLOPES.items():
        intercepts = {(f, t): rng.normal(0, 0.05) for f in "ab" for t in range(tasks)}
        for model, size in SIZES.items():
            for t in range(tasks):
                value = intercepts[(FAMILY[model], t)] + slope * size + rng.normal(0, 0.005)
                frame.append({"metric": metric, "value": value, "size": float(size), "group": f"{FAMILY[model]} | t{t}"})
                split = [value - 0.01, value + 0.01] if metric == "advantage:static" else [value]
                for k, v in enumerate(split):
                    rows.append(MetricRow(model=model, mitigation=mitigation, task=f"t{t}", metric=metric,
                                          persona=f"p{k}", value=v, p_value=0.5, verdict="", baseline_accuracy=0.5, n_items=100))
    return rows, pd.DataFrame(frame)


def sizes_for(models=SIZES, families=FAMILY):
    return resolve_sizes(given(models), given(families), SIZES)


def test_a_known_size_effect_is_recovered_and_equals_statsmodels_on_the_same_frame():
    rows, frame = scripted_metrics()
    fitted, skipped = fit_sizes(rows, sizes_for())
    assert {s.split(" (")[0] for s in skipped} == {"size:advantage:level1", "size:advantage:level2", "size:advantage:level3",
                                                    "size:robustness:colors", "size:fidelity:domain", "size:fidelity:specialization"}
    assert all("values (its personas were not run, or every value is undefined)" in s for s in skipped)
    for metric, slope in SLOPES.items():
        mine = {r.term: r for r in fitted if r.family == f"size:{metric}"}
        assert set(mine) == {"Intercept", "size"}
        assert mine["size"].coef == pytest.approx(slope, abs=0.003), metric
        assert mine["size"].p_value < 1e-6 and mine["size"].groups == "model family x task"
        rows_of = frame[frame["metric"] == metric]
        with warnings.catch_warnings():  # its absolute 0.01 "boundary" check (see persona_evals.regression)
            warnings.simplefilter("ignore")
            direct = smf.mixedlm("value ~ size", rows_of, groups=rows_of["group"]).fit(reml=True)
        ci = direct.conf_int()
        for term in ("Intercept", "size"):
            assert mine[term].coef == pytest.approx(direct.fe_params[term], rel=1e-7, abs=1e-10)
            assert mine[term].se == pytest.approx(direct.bse_fe[term], rel=1e-6)
            assert mine[term].p_value == pytest.approx(direct.pvalues[term], rel=1e-5, abs=1e-300)
            assert (mine[term].ci_low, mine[term].ci_high) == (pytest.approx(ci.loc[term, 0]), pytest.approx(ci.loc[term, 1]))
        var_f = np.var(direct.model.exog @ direct.fe_params.values)  # over the fitted rows, not a wider frame
        var_g, var_e = direct.cov_re.iloc[0, 0], direct.scale
        assert mine["size"].r2_marginal == pytest.approx(var_f / (var_f + var_g + var_e))
        assert mine["size"].r2_conditional == pytest.approx((var_f + var_g) / (var_f + var_g + var_e))
        assert (mine["size"].n_obs, mine["size"].n_groups) == (len(SIZES) * 8, 16)
        assert "sizes a1 = 1 (a), a2 = 2 (a), a3 = 3 (a), b1 = 1 (b)" in mine["size"].note


def test_size_slopes_of_a_mitigation_are_adjusted_together_and_undefined_values_are_counted():
    from persona_evals.stats.significance import benjamini_hochberg

    rows, _ = scripted_metrics(seed=1)
    rows[-1].value = float("nan")  # one fidelity tau undefined
    fitted, _ = fit_sizes(rows, sizes_for(), correction="bh")
    slopes = [r for r in fitted if r.term == "size"]
    assert [r.p_adjusted for r in slopes] == pytest.approx(list(benjamini_hochberg([r.p_value for r in slopes])))
    assert all(r.correction == "bh" for r in fitted)
    education = next(r for r in slopes if r.family == "size:fidelity:education")
    assert education.n_obs == len(SIZES) * 8 - 1
    assert education.note.startswith("1 (model, task) value(s) undefined, left out")


def test_without_a_size_for_every_model_the_size_fits_are_skipped_naming_the_models():
    rows, _ = scripted_metrics()
    partial = {m: s for m, s in SIZES.items() if m not in ("a3", "b2")}
    assert fit_sizes(rows, resolve_sizes(given(partial), {}, SIZES)) == (
        [], ["size: no size for model(s) a3, b2: give --model-size MODEL=SIZE (or --model-sizes FILE.csv) for every model in the logs"])
    none = fit_sizes(rows, resolve_sizes({}, {}, SIZES))[1]
    assert none[0].startswith("size: no model sizes given: --model-size MODEL=SIZE") and "1 = 2-3B" in none[0]
    # one size for all: a slope cannot be estimated; said, not fitted
    same = fit_sizes(rows, resolve_sizes(given(dict.fromkeys(SIZES, 2)), {}, SIZES))[1]
    assert "size:advantage:static (mitigation none): needs advantage:static for models of at least 2 sizes" in same[0]


def test_bad_sizes_and_families_are_refused_naming_the_argument():
    for text in ("0", "-1", "nan", "inf", "abc", ""):
        with pytest.raises(SizeError, match="is not a positive number"):
            positive_size(text)
    with pytest.raises(SizeError, match=r"--model-size: no model 'c1' in the logs; they hold: a1, a2, a3, b1, b2, b3"):
        resolve_sizes({"c1": Given(1.0, "--model-size")}, {}, SIZES)
    with pytest.raises(SizeError, match=r"--model-family: no model 'zz'"):
        resolve_sizes(given(SIZES), {"zz": Given("q", "--model-family")}, SIZES)
    with pytest.raises(SizeError, match=r"--model-family: no family for model\(s\) a2, a3, b1, b2, b3; give"):
        resolve_sizes(given(SIZES), {"a1": Given("a", "--model-family")}, SIZES)
    one_family = resolve_sizes(given(SIZES), {}, SIZES)
    assert set(one_family.families.values()) == {"all"} and one_family.missing == ()


def test_metrics_regression_with_model_sizes_and_the_size_panel(tmp_path, monkeypatch, capsys):
    import csv

    from persona_evals.accuracy import results
    from persona_evals.cli import main

    cells = [(m, t) for m in ("m1", "m2", "m3", "m4") for t in ("t1", "t2", "t3")]
    runs = scripted_runs(cells=cells, seed=5)
    monkeypatch.setattr(results, "collect_hits", lambda paths: runs)
    monkeypatch.setattr("persona_evals.logs.find_logs", lambda *a, **k: ["fake.eval"])
    table_file = tmp_path / "sizes.csv"
    table_file.write_text("model,size,family\nm1,1,x\nm2,2,x\nm3,1,y\nm4,9,y\n")
    out = tmp_path / "out"
    argv = ["metrics", "fake.eval", "--out-dir", str(out), "--n-boot", "200", "--regression",
            "--model-sizes", str(table_file), "--model-size", "m4=2"]  # the flag wins over the file's row
    assert main(argv) == 0
    table = list(csv.DictReader((out / "regression.csv").open()))
    size_rows = [r for r in table if r["family"].startswith("size:")]
    assert {r["term"] for r in size_rows} == {"Intercept", "size"}
    assert {r["groups"] for r in size_rows} == {"model family x task"}
    assert {r["groups"] for r in table if not r["family"].startswith("size:")} == {"model x task"}
    assert all("m4 = 2 (y)" in r["note"] for r in size_rows)
    fitted = {r["family"] for r in size_rows}
    assert {"size:advantage:static", "size:fidelity:education"} <= fitted
    text = (out / "regression.md").read_text()
    assert "### size:advantage:static (mitigation: none)" in text and "random intercept per model family x task" in text
    for family in {f"size:{m}" for m in SIZE_METRICS} - fitted:  # the scripted personas differ little: some fits fail
        assert f"skipped {family} (mitigation none): " in text  # and say so
    png = tmp_path / "regression.png"
    assert main(["viz", "persona-regression", "--csv", str(out / "regression.csv"), "--out", str(png)]) == 0
    plotted = list(csv.DictReader(png.with_suffix(".csv").open()))
    assert {r["family"] for r in plotted if r["family"].startswith("size:")} == fitted
    assert png.stat().st_size > 0
    # from the logs, the same sizes give the same rows (fidelity aside: its bootstrap ran 10,000 times here, not 200)
    assert main(["viz", "persona-regression", "fake.eval", "--model-sizes", str(table_file), "--model-size", "m4=2",
                 "--out", str(png), "--overwrite"]) == 0
    again = list(csv.DictReader(png.with_suffix(".csv").open()))

    def coefs(rows):
        return [(r["family"], r["coef"]) for r in rows if not r["family"].startswith("size:fidelity")]
    assert coefs(again) == coefs(plotted) and len(coefs(again)) > len([r for r in again if not r["family"].startswith("size")])


@pytest.mark.parametrize("extra,message", [
    (["--model-size", "m1=0"], "argument --model-size: size '0' is not a positive number in 'm1=0'"),
    (["--model-size", "m1=nan"], "argument --model-size: size 'nan' is not a positive number"),
    (["--model-size", "m1"], "argument --model-size: expected MODEL=SIZE, got 'm1'"),
    (["--model-family", "m1="], "argument --model-family: expected MODEL=FAMILY, got 'm1='"),
])
def test_bad_size_arguments_are_refused_while_parsing(tmp_path, capsys, extra, message):
    from persona_evals.cli import main

    with pytest.raises(SystemExit) as ex:
        main(["metrics", "fake.eval", "--out-dir", str(tmp_path / "out"), "--regression", *extra])
    assert ex.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra,file,message", [
    (["--model-size", "nosuch=1"], None, "--model-size: no model 'nosuch' in the logs; they hold: m1, m2, m3"),
    (["--model-size", "m1=1", "--model-size", "m1=2"], None, "--model-size: model 'm1' given twice (1.0 at --model-size, now 2.0)"),
    (["--model-sizes", "{file}"], "model,size\nm1,1\nm2,-3\n", "--model-sizes {file} line 3: size '-3' is not a positive number"),
    (["--model-sizes", "{file}"], "model,size\nm1,1\nm1,2\n", "--model-sizes {file} line 3: model 'm1' given twice"),
    (["--model-sizes", "{file}"], "name,size\nm1,1\n", "--model-sizes {file} lacks the column(s) model"),
    (["--model-sizes", "{file}"], "model,size\nm9,1\n", "--model-sizes {file} line 2: no model 'm9' in the logs"),
])
def test_bad_sizes_are_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, extra, file, message):
    from persona_evals.accuracy import results
    from persona_evals.cli import main

    monkeypatch.setattr(results, "collect_hits", lambda paths: scripted_runs())
    monkeypatch.setattr("persona_evals.logs.find_logs", lambda *a, **k: ["fake.eval"])
    path = tmp_path / "sizes.csv"
    if file:
        path.write_text(file)
    argv = ["metrics", "fake.eval", "--out-dir", str(tmp_path / "out"), "--n-boot", "100", "--regression"]
    assert main(argv + [a.format(file=path) for a in extra]) == 2
    assert message.format(file=path) in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["metrics", "fake.eval", "--out-dir", str(tmp_path / "out"), "--model-size", "m1=1"]) == 2
    assert "--model-size, --model-family and --model-sizes are for --regression: add it" in capsys.readouterr().err
