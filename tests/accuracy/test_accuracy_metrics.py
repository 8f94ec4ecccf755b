import numpy as np
import pytest
from scipy.stats import kendalltau

from persona_evals.accuracy.metrics import compute_metrics
from persona_evals.accuracy.results import LogMixError, Run
from persona_evals.accuracy.tables import markdown

ITEMS = ["i1", "i2", "i3", "i4"]


def make_run(
    personas: dict[str, tuple[str, int, list[int]]], mitigation="none", model="m", task="t"
) -> Run:
    run = Run(model, mitigation, task)
    for pid, (group, rank, hits) in personas.items():
        run.hits[pid] = dict(zip(ITEMS, hits, strict=True))
        run.groups[pid], run.ranks[pid], run.sources[pid] = group, rank, "log"
    return run


BASE = {
    "empty": ("empty", 0, [1, 0, 1, 0]),
    "in_domain:x": ("in_domain", 0, [1, 1, 1, 1]),
    "related:y": ("related", 0, [1, 1, 0, 0]),
    "out_of_domain:a": ("out_of_domain", 0, [0, 0, 1, 0]),
    "out_of_domain:b": ("out_of_domain", 0, [0, 0, 0, 0]),
    "color:red": ("colors", 0, [0, 0, 0, 0]),
    "color:blue": ("colors", 0, [1, 0, 1, 1]),
    "education:low": ("education", 0, [0, 0, 0, 1]),
    "education:mid": ("education", 1, [1, 0, 0, 1]),
    "education:high": ("education", 2, [1, 1, 1, 0]),
    "dynamic:level1": ("dynamic", 0, [1, 1, 1, 0]),
    "dynamic:level2": ("dynamic", 1, [1, 0, 1, 0]),
    "dynamic:level3": ("dynamic", 2, [1, 0, 0, 0]),
}


def by_metric(rows):
    return {r.metric: r for r in rows}


def test_advantage_and_robustness_hand_computed():
    rows = by_metric(compute_metrics([make_run(BASE)], n_boot=500))
    adv = rows["advantage:static"]
    assert adv.value == pytest.approx(0.5) and adv.p_value == pytest.approx(0.5)  # b=2, c=0
    assert adv.verdict == "Not significant" and adv.baseline_accuracy == 0.5 and adv.n_items == 4
    rob = rows["robustness:colors"]
    assert (
        rob.persona == "color:red"
        and rob.value == pytest.approx(-0.5)
        and rob.p_value == pytest.approx(0.5)
    )
    assert rows["advantage:level3"].value == pytest.approx(-0.25)
    assert "robustness:names" not in rows  # no names were run: no row, not a made-up one


def test_fidelity_point_tau_matches_scipy_on_group_accuracies():
    rows = by_metric(compute_metrics([make_run(BASE)], n_boot=500))
    edu = rows["fidelity:education"]
    assert edu.tau_point == pytest.approx(kendalltau([0.25, 0.5, 0.75], [0, 1, 2]).statistic)  # = 1
    assert edu.ci_low <= edu.value <= edu.ci_high
    # domain: out-of-domain soft hits average the two out experts per item
    out_soft = np.mean([[0, 0, 1, 0], [0, 0, 0, 0]], axis=0).mean()
    dom = rows["fidelity:domain"]
    assert dom.persona == "out_of_domain < related < in_domain"
    assert dom.tau_point == pytest.approx(kendalltau([out_soft, 0.5, 1.0], [0, 1, 2]).statistic)
    spec = rows["fidelity:specialization"]
    assert spec.tau_point == pytest.approx(-1.0)


def test_domain_fidelity_ties_equal_soft_accuracies():
    """3 out-of-domain experts get 9 of 18 right, the in-domain one 3 of 6: equal accuracies,
    though the float mean of the soft hits is 0.5000000000000001: tau is undefined, not -1."""
    items = [f"i{k}" for k in range(6)]
    run = Run("m", "none", "t")
    for pid, group, hits in [
        ("empty", "empty", [1, 0, 1, 0, 1, 0]),
        ("in_domain:x", "in_domain", [1, 1, 1, 0, 0, 0]),
        ("out_of_domain:a", "out_of_domain", [1, 0, 0, 1, 1, 0]),
        ("out_of_domain:b", "out_of_domain", [1, 1, 1, 0, 0, 0]),
        ("out_of_domain:c", "out_of_domain", [0, 1, 1, 0, 0, 1]),
    ]:
        run.hits[pid] = dict(zip(items, hits, strict=True))
        run.groups[pid], run.ranks[pid], run.sources[pid] = group, 0, "log"
    soft = np.mean([[1, 0, 0, 1, 1, 0], [1, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 1]], axis=0)
    assert soft.mean() != 0.5  # what floating point made of 9/18
    dom = by_metric(compute_metrics([run], n_boot=500))["fidelity:domain"]
    assert dom.persona == "out_of_domain < in_domain" and np.isnan(dom.tau_point)


def test_significant_effects_get_verdicts_and_the_correction_is_chosen():
    n = 30
    items = [f"i{k}" for k in range(n)]
    run = Run("m", "none", "t")
    for pid, group, hits in [
        ("empty", "empty", [0] * n),
        ("in_domain:x", "in_domain", [1] * n),
        ("color:red", "colors", [0] * n),
    ]:
        run.hits[pid] = dict(zip(items, hits, strict=True))
        run.groups[pid], run.ranks[pid], run.sources[pid] = group, 0, "log"
    rows = by_metric(compute_metrics([run], correction="holm", n_boot=200))
    assert rows["advantage:static"].verdict == "Positive"
    assert rows["advantage:static"].p_value == pytest.approx(2 * 0.5**n)
    assert rows["advantage:static"].p_adjusted == pytest.approx(2 * 2 * 0.5**n)  # 2 tests in the family
    assert {r.correction for r in rows.values()} == {"holm"}
    assert (
        rows["robustness:colors"].verdict == "Not significant"
        and rows["robustness:colors"].p_value == 1.0
    )
    table = markdown(list(rows.values()), correction="holm")
    assert "p (Holm)" in table and table.startswith("Multiple-testing correction: Holm")
    bh = by_metric(compute_metrics([run], correction="bh", n_boot=200))
    # BH with m = 2: the larger p (1.0) stays, the smaller becomes min(2 p, 1.0)
    assert bh["advantage:static"].p_adjusted == pytest.approx(2 * 2 * 0.5**n)
    assert bh["robustness:colors"].p_adjusted == 1.0
    assert "p (Benjamini-Hochberg)" in markdown(list(bh.values()), correction="bh")
    plain = by_metric(compute_metrics([run], n_boot=200))
    assert {r.correction for r in plain.values()} == {"none"}
    assert all(np.isnan(r.p_adjusted) for r in plain.values())
    assert markdown(list(plain.values())).startswith("Multiple-testing correction: none")
    with pytest.raises(ValueError, match="correction must be one of none, holm, bh"):
        compute_metrics([run], correction="bonferroni")


def test_mitigation_runs_use_the_base_prompt_baseline():
    base = make_run({"empty": BASE["empty"]})
    refined = make_run({"in_domain:x": ("in_domain", 0, [1, 1, 0, 0])}, mitigation="refine")
    rows = compute_metrics([base, refined], n_boot=200)
    [row] = [r for r in rows if r.mitigation == "refine"]
    assert row.value == pytest.approx(0.0) and row.baseline_accuracy == 0.5


def test_missing_baseline_is_an_error_naming_the_run():
    with pytest.raises(LogMixError, match="no empty-persona baseline for model m, task t"):
        compute_metrics([make_run({"color:red": BASE["color:red"]})])


def test_fidelity_headline_is_the_mean_of_the_bootstrap_tau():
    """Fid as the paper reports it: the mean of the item-bootstrap tau, recomputed with scipy."""
    rows = by_metric(compute_metrics([make_run(BASE)], n_boot=1500))
    edu = rows["fidelity:education"]
    hits = np.column_stack([BASE[f"education:{k}"][2] for k in ("low", "mid", "high")]).astype(float)
    rng = np.random.default_rng(42)  # the seed and chunking of stats.bootstrap_tau
    taus = []
    for start in range(0, 1500, 1000):
        counts = rng.multinomial(4, np.full(4, 0.25), size=min(1000, 1500 - start))
        for acc in counts @ hits / 4:
            if len(set(acc)) > 1:  # tau-b is undefined when every group has the same accuracy
                taus.append(kendalltau(acc, [0, 1, 2]).statistic)
    assert edu.value == pytest.approx(np.mean(taus))
    assert edu.tau_point == pytest.approx(kendalltau([0.25, 0.5, 0.75], [0, 1, 2]).statistic)
    assert edu.value < edu.tau_point  # resampling blurs the perfect order: the two differ
    assert "(point +1.000)" in markdown([edu])
    assert np.isnan(rows["advantage:static"].tau_point)


def test_tied_worst_personas_are_all_reported_with_the_largest_p():
    from scipy.stats import binomtest

    n = 20
    items = [f"i{k}" for k in range(n)]
    run = Run("m", "none", "t")
    # both colours get 6 of 20 right; blue only where the baseline is right too (b = 0, c = 6),
    # red on 3 of the baseline's misses and 3 of its hits (b = 3, c = 9): same accuracy,
    # different McNemar p-values
    for pid, group, hits in [
        ("empty", "empty", [1] * 12 + [0] * 8),
        ("color:blue", "colors", [1] * 6 + [0] * 14),
        ("color:red", "colors", [1] * 3 + [0] * 9 + [1] * 3 + [0] * 5),
        ("color:white", "colors", [1] * 20),
    ]:
        run.hits[pid] = dict(zip(items, hits, strict=True))
        run.groups[pid], run.ranks[pid], run.sources[pid] = group, 0, "log"
    rob = by_metric(compute_metrics([run], n_boot=100))["robustness:colors"]
    assert rob.persona == "color:blue|color:red"
    assert rob.value == pytest.approx(6 / 20 - 12 / 20)
    p_blue, p_red = binomtest(0, 6, 0.5).pvalue, binomtest(3, 12, 0.5).pvalue
    assert p_blue < 0.05 < p_red
    assert rob.p_value == pytest.approx(max(p_blue, p_red)) and rob.verdict == "Not significant"
