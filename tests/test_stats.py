from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binomtest, kendalltau, pearsonr

from persona_evals.stats.correlation import bootstrap_tau, pearson, pearson_ci, roc_auc
from persona_evals.stats.intervals import mean_covariance, ratio_se
from persona_evals.stats.significance import (
    adjust_pvalues,
    benjamini_hochberg,
    holm,
    mcnemar_exact,
    sign_test,
    verdict,
)


def test_mcnemar_hand_computed():
    # b = 3 (persona right, baseline wrong), c = 1: p = 2 * (C(4,0)+C(4,1)) / 16 = 0.625
    persona = [1, 1, 1, 0, 1, 0]
    base = [0, 0, 0, 1, 1, 0]
    assert mcnemar_exact(persona, base) == (pytest.approx(0.625), 3, 1)
    assert mcnemar_exact([1, 0], [1, 0]) == (1.0, 0, 0)  # no discordant pair
    assert mcnemar_exact([1] * 6, [0] * 6)[0] == pytest.approx(2 / 64)


@pytest.mark.parametrize("seed", range(8))
def test_mcnemar_matches_scipy_binomial_test(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    p, b, c = mcnemar_exact(x, y)
    assert p == pytest.approx(binomtest(b, b + c, 0.5).pvalue)


def test_mcnemar_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar_exact([1, 0], [1])
    with pytest.raises(ValueError, match="0/1"):
        mcnemar_exact([0.5, 1], [1, 1])


def _point_tau(counts, items=4):
    """The point tau-b of groups whose hits over `items` items sum to `counts` (group accuracies)."""
    hits = np.array([[int(i < c) for c in counts] for i in range(items)])
    return bootstrap_tau(hits, n_boot=100).tau


def test_point_tau_hand_and_scipy():
    assert _point_tau([1, 2, 3]) == pytest.approx(1.0)
    assert _point_tau([3, 2, 1]) == pytest.approx(-1.0)
    # one tie among 3 values: C - D = 2, tau-b = 2 / sqrt(2 * 3)
    assert _point_tau([1, 1, 3]) == pytest.approx(2 / np.sqrt(6))
    assert np.isnan(_point_tau([2, 2, 2]))
    rng = np.random.default_rng(1)
    for _ in range(20):
        counts = rng.integers(0, 5, 6)
        if len(set(counts)) > 1:
            assert _point_tau(counts) == pytest.approx(kendalltau(counts, np.arange(6)).statistic)


def test_bootstrap_two_groups_is_a_sign_probability():
    # with two groups each replicate's tau is +1, -1 (or undefined when equal)
    rng = np.random.default_rng(3)
    hits = rng.integers(0, 2, (60, 2)).astype(float)
    result = bootstrap_tau(hits, n_boot=2000)
    assert result.tau in (-1.0, 1.0)
    assert -1 <= result.mean <= 1 and result.low in (-1.0, 1.0) and result.high in (-1.0, 1.0)


def test_bootstrap_clear_order_is_significant_and_seeded():
    n = 80
    low = np.r_[np.ones(20), np.zeros(n - 20)]
    mid = np.r_[np.ones(40), np.zeros(n - 40)]
    high = np.r_[np.ones(70), np.zeros(n - 70)]
    result = bootstrap_tau(np.column_stack([low, mid, high]), n_boot=1000)
    assert result.tau == pytest.approx(1.0)
    assert result.low > 0 and result.significant and result.p_value < 0.05
    assert (
        bootstrap_tau(np.column_stack([low, mid, high]), n_boot=1000) == result
    )  # same seed, same result
    reverse = bootstrap_tau(np.column_stack([high, mid, low]), n_boot=1000)
    assert reverse.tau == pytest.approx(-1.0) and reverse.high < 0


def test_bootstrap_without_signal_is_not_significant():
    rng = np.random.default_rng(5)
    hits = rng.integers(0, 2, (30, 3)).astype(float)
    hits[:, 1] = hits[:, 0]
    hits[:, 2] = hits[:, 0]  # identical groups: every replicate is undefined
    result = bootstrap_tau(hits, n_boot=500)
    assert np.isnan(result.mean) and not result.significant


# 3 out-of-domain personas (rows) and 1 in-domain persona on 6 items: both groups get exactly half
# right (9/18 and 3/6), but the out group's soft mean in floating point is 0.5000000000000001
OUT = np.array([[1, 0, 0, 1, 1, 0], [1, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 1]])
IN = np.array([1, 1, 1, 0, 0, 0])


def _exact_two_group_taus(out_right, out_members, in_hits, n_boot, seed=42):
    """Each replicate's tau from fractions (+1 in > out, -1 in < out, None tied), with the
    resampling of stats.bootstrap_tau (seed, chunks of 1,000)."""
    n = len(in_hits)
    rng = np.random.default_rng(seed)
    taus = []
    for start in range(0, n_boot, 1000):
        for counts in rng.multinomial(n, np.full(n, 1.0 / n), size=min(1000, n_boot - start)):
            out = Fraction(int(counts @ out_right), out_members * n)
            inn = Fraction(int(counts @ in_hits), n)
            taus.append(None if out == inn else 1.0 if inn > out else -1.0)
    return taus


def test_equal_soft_accuracies_tie_exactly_where_floating_point_orders_them():
    assert OUT.mean(axis=0).mean() != IN.mean()  # the premise: in floats, out > in by 1e-16
    result = bootstrap_tau(np.column_stack([OUT.sum(axis=0), IN]), members=[3, 1], n_boot=3000)
    assert np.isnan(result.tau)  # equal accuracies: tau undefined (floats gave -1)
    taus = _exact_two_group_taus(OUT.sum(axis=0), 3, IN, 3000)
    defined = [t for t in taus if t is not None]
    assert result.mean == pytest.approx(np.mean(defined))
    assert result.p_value == pytest.approx(2 * min(np.mean(np.array(defined) <= 0), np.mean(np.array(defined) >= 0)))
    # floating-point soft hits would have ordered some of the tied replicates
    rng = np.random.default_rng(42)
    floats = np.column_stack([OUT.mean(axis=0), IN])
    counts = np.concatenate([rng.multinomial(6, np.full(6, 1 / 6), size=1000) for _ in range(3)])
    acc = counts @ floats / 6
    assert int(np.sum(acc[:, 0] != acc[:, 1])) > len(defined)


def test_two_group_fid_leaves_tied_replicates_out():
    """Fid = (P(>) - P(<)) / (1 - P(=)), as the paper's code (pandas skips the NaN of a tie)."""
    rng = np.random.default_rng(7)
    out = rng.integers(0, 2, (3, 6))
    inn = np.array([0, 1, 0, 0, 1, 0])
    result = bootstrap_tau(np.column_stack([out.sum(axis=0), inn]), members=[3, 1], n_boot=2000)
    taus = _exact_two_group_taus(out.sum(axis=0), 3, inn, 2000)
    above, below, tied = (sum(t == v for t in taus) / len(taus) for v in (1.0, -1.0, None))
    assert tied > 0.05  # ties matter here
    assert result.mean == pytest.approx((above - below) / (1 - tied))
    assert result.mean != pytest.approx(2 * above - 1)


def test_bootstrap_refuses_hits_that_are_not_counts():
    with pytest.raises(ValueError, match="whole numbers"):
        bootstrap_tau(np.column_stack([OUT.mean(axis=0), IN]))
    with pytest.raises(ValueError, match="0..members"):
        bootstrap_tau(np.column_stack([OUT.sum(axis=0), IN]))  # 2 right of a group of 1
    with pytest.raises(ValueError, match="members must give each of the 2 groups"):
        bootstrap_tau(np.column_stack([OUT.sum(axis=0), IN]), members=[3])


def test_bootstrap_rejects_a_single_group():
    with pytest.raises(ValueError, match="2 groups"):
        bootstrap_tau(np.ones((5, 1)))


def test_holm_hand_computed():
    # sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, max(0.06, 0.04) = 0.06
    adjusted = holm([0.01, 0.04, 0.03, np.nan])
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("seed", range(6))
def test_benjamini_hochberg_equals_scipy(seed):
    from scipy.stats import false_discovery_control

    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, 25) ** 3  # many small p-values, and ties below
    p[:3] = p[3]
    assert benjamini_hochberg(p) == pytest.approx(false_discovery_control(p, method="bh"))


def test_benjamini_hochberg_hand_computed_and_nan():
    # sorted 0.01, 0.03, 0.04 (m = 3): 0.03, min(0.045, 0.04), 0.04 -> 0.03, 0.04, 0.04
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, np.nan])
    assert adjusted[:3] == pytest.approx([0.03, 0.04, 0.04])
    assert np.isnan(adjusted[3])
    assert adjust_pvalues([0.01, 0.04, 0.03], "none") == pytest.approx([0.01, 0.04, 0.03])
    assert adjust_pvalues([0.01, 0.04, 0.03], "holm") == pytest.approx(holm([0.01, 0.04, 0.03]))
    with pytest.raises(ValueError, match="correction must be one of"):
        adjust_pvalues([0.1], "fdr")


@pytest.mark.parametrize("seed", range(4))
def test_pearson_ci_equals_scipy(seed):
    from scipy.stats import pearsonr

    rng = np.random.default_rng(seed)
    x = rng.normal(size=30)
    y = 0.6 * x + rng.normal(size=30)
    got = pearson_ci(x, y)
    ref = pearsonr(x, y)
    ci = ref.confidence_interval(0.95)  # scipy's own Fisher-z interval
    assert (got.r, got.p_value, got.n) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue), 30)
    assert (got.low, got.high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_pearson_ci_undefined_cases():
    assert np.isnan(pearson_ci([1, 2, 3], [5, 5, 5]).r)  # constant side
    small = pearson_ci([1, 2, 3], [1, 3, 2])
    assert small.r == pytest.approx(0.5) and np.isnan(small.low)  # n < 4: no interval


@pytest.mark.parametrize("seed", range(6))
def test_roc_auc_is_the_mann_whitney_u_over_n_pos_n_neg(seed):
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(seed)
    pos = np.round(rng.normal(1, 1, 17), 1)  # rounding makes ties across classes
    neg = np.round(rng.normal(0, 1, 23), 1)
    u = mannwhitneyu(pos, neg).statistic
    assert roc_auc(pos, neg) == pytest.approx(u / (17 * 23))


def test_roc_auc_hand_computed():
    # pairs (pos > neg): 3 > 1, 3 > 2, 2 = 2 (half), 2 > 1 -> 3.5 of 4
    assert roc_auc([3, 2], [1, 2]) == pytest.approx(0.875)
    assert roc_auc([0, 1], [2, 3]) == 0.0
    with pytest.raises(ValueError, match="0 positive and 2 negative"):
        roc_auc([], [1, 2])


def test_verdicts():
    assert verdict(0.1, True) == "Positive"
    assert verdict(-0.1, True) == "Negative"
    assert verdict(0.1, False) == "Not significant"
    assert verdict(0.0, True) == "Not significant"


@pytest.mark.parametrize("seed", range(6))
def test_sign_test_matches_scipy_on_paired_epoch_means(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, 50) / 3  # means over 3 epochs
    y = rng.integers(0, 4, 50) / 3
    p, b, c = sign_test(x, y)
    assert (b, c) == (int((x > y).sum()), int((x < y).sum()))
    assert p == pytest.approx(binomtest(b, b + c, 0.5).pvalue)
    hits_x, hits_y = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    assert sign_test(hits_x, hits_y) == mcnemar_exact(hits_x, hits_y)  # McNemar is its 0/1 case


@pytest.mark.parametrize("paired", [False, True])
def test_ratio_se_matches_the_spread_of_simulated_ratios(paired):
    """Delta-method SE of mean_a / mean_b against the SD of 4,000 simulated ratios (independent check)."""
    rng = np.random.default_rng(7)
    n, p_a, p_b, sims = 400, 0.45, 0.3, 4000
    base = rng.random((sims, n))
    b = (base < p_b).astype(float)
    # paired: a shares b's uniform draw (strong positive correlation); else its own draw
    a = ((base if paired else rng.random((sims, n))) < p_a).astype(float)
    ratios = a.mean(axis=1) / b.mean(axis=1)
    predicted = []
    for i in range(0, sims, 400):  # the formula on one simulated data set at a time
        ma, mb = a[i].mean(), b[i].mean()
        sa, sb = a[i].std(ddof=1) / np.sqrt(n), b[i].std(ddof=1) / np.sqrt(n)
        cov = mean_covariance(list(a[i]), list(b[i]), n, n) if paired else 0.0
        predicted.append(ratio_se(ma, sa, mb, sb, cov))
    assert np.mean(predicted) == pytest.approx(ratios.std(ddof=1), rel=0.06)
    if paired:  # ignoring the pairing would overstate the error by far
        wrong = ratio_se(a[0].mean(), a[0].std(ddof=1) / np.sqrt(n), b[0].mean(), b[0].std(ddof=1) / np.sqrt(n))
        assert wrong > 1.5 * ratios.std(ddof=1)


def test_mean_covariance_is_the_covariance_of_means_when_fully_paired():
    rng = np.random.default_rng(3)
    x, y = rng.random(30), rng.random(30)
    assert mean_covariance(list(x), list(y), 30, 30) == pytest.approx(np.cov(x, y)[0, 1] / 30)
    # 10 of 30 and 10 of 40 units shared: n_c s_xy / (n_x n_y)
    assert mean_covariance(list(x[:10]), list(y[:10]), 30, 40) == pytest.approx(10 * np.cov(x[:10], y[:10])[0, 1] / 1200)
    assert ratio_se(0.5, 0.1, 0.0, 0.1) != ratio_se(0.5, 0.1, 0.0, 0.1)  # nan when the base mean is 0


def test_pearson_matches_scipy_and_is_nan_for_a_constant_side():
    x, y = [1.0, 2.0, 3.5, 4.0], [10.0, 20.0, 30.0, 45.0]
    assert pearson(x, y) == pytest.approx(pearsonr(x, y).statistic)
    assert pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert np.isnan(pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # r is undefined, scipy would warn
