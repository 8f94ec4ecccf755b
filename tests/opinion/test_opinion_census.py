"""Census sampler: marginals match ACS shares, seeds reproduce, age conditionals hold, data derive."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from persona_evals.personas.census import CensusSampler, sample_meta_personas, shares
from persona_evals.personas.census_data import build_marginals, load_marginals

RAW = Path(__file__).parents[1] / "fixtures" / "opinion" / "acs2023"
N = 40_000


@pytest.fixture(scope="module")
def sampler() -> CensusSampler:
    return CensusSampler()


@pytest.fixture(scope="module")
def draws(sampler):
    return {st: sampler.sample(st, N, seed=7) for st in ("NY", "WY", "CA", "TX")}


def _freq(personas, attr, where=lambda p: True):
    sel = [p[attr] for p in personas if where(p) and attr in p]
    counts = Counter(sel)
    return {k: v / len(sel) for k, v in counts.items()}


def _close(observed: dict, expected: dict, tol: float) -> None:
    for key, share in expected.items():
        assert abs(observed.get(key, 0.0) - share) < tol, (key, observed.get(key, 0.0), share)


@pytest.mark.parametrize("state", ["NY", "WY", "CA", "TX"])
def test_marginals_match_acs_shares(draws, state):
    m = load_marginals()["states"][state]
    ps = draws[state]
    _close(_freq(ps, "age_group"), shares(m["age"]), 0.01)
    _close(_freq(ps, "sex"), shares(m["sex"]), 0.01)
    _close(_freq(ps, "race"), shares(m["race"]), 0.01)
    _close(_freq(ps, "hispanic_origin"), shares(m["hispanic"]), 0.01)
    _close(_freq(ps, "veteran_status"), shares(m["veteran"]), 0.01)
    _close(_freq(ps, "household_income"), shares(m["household_income"]), 0.01)
    lang = {k: v["total"] for k, v in m["language"].items()}
    _close(_freq(ps, "language_at_home"), shares(lang), 0.01)
    # education among people 25+ is DP02's 25+ table
    _close(_freq(ps, "education", lambda p: p["age"] >= 25), shares(m["education_25plus"]), 0.012)


def test_published_reference_figures(sampler):
    ny, wy, ca = (load_marginals()["states"][s] for s in ("NY", "WY", "CA"))
    assert ny["population"] == 19_571_216 and ny["adults"] == 15_620_467
    assert shares(ny["hispanic"])["Hispanic or Latino"] == pytest.approx(0.1978, abs=5e-4)
    assert shares(ca["hispanic"])["Hispanic or Latino"] == pytest.approx(0.4045, abs=5e-4)
    assert ny["median_household_income"] == 82_095 and wy["population"] == 584_057
    assert shares(wy["veteran"])["Veteran"] == pytest.approx(0.087, abs=5e-4)
    # the anchor's quirk: DP05 percentages of the adult bins do not sum to 100; our shares do
    assert sum(shares(ny["age"]).values()) == pytest.approx(1.0)


def test_marital_status_by_sex_matches_adult_acs_and_depends_on_age(sampler, draws):
    for state in ("NY", "TX"):
        ps = draws[state]
        for sex in ("Male", "Female"):
            _close(
                _freq(ps, "marital_status", lambda p: p["sex"] == sex),
                sampler.adult_marital_shares(state, sex),
                0.012,
            )
        assert {p["marital_status"] for p in ps if p["age"] < 25} == {"Never married"}


def test_education_respects_age(draws):
    ps = draws["NY"]
    teen = {p["education"] for p in ps if p["age"] < 20}
    young = {p["education"] for p in ps if 20 <= p["age"] < 25}
    assert "Bachelor's degree" not in teen and "Graduate or professional degree" not in teen
    assert "Graduate or professional degree" not in young and "Bachelor's degree" in young


def test_conditional_attributes_only_where_they_apply(draws):
    for p in draws["WY"][:5000]:
        assert ("occupation" in p) == (p["employment_status"] == "Employed")
        assert ("household_type" in p) == (p["household_relationship"] == "Householder")
        assert ("birth_region" in p) == (p["citizenship"] != "U.S. citizen by birth")
        if p["age"] >= 65:
            assert p["health_insurance"].startswith("Medicare")
        assert 18 <= p["age"] <= 94


def test_employment_follows_s2301_by_age(sampler, draws):
    ps = draws["NY"]
    for band in ("25 to 34 years", "65 to 74 years"):
        expected = sampler.employment_distribution("NY", band)
        _close(_freq(ps, "employment_status", lambda p: p["age_group"] == band), expected, 0.02)


def test_same_seed_same_personas_other_seed_differs():
    a = sample_meta_personas("NY,WY", 50, seed=3)
    b = sample_meta_personas(["ny", "wy"], 50, seed=3)
    c = sample_meta_personas("NY,WY", 50, seed=4)
    assert a == b
    assert [p.attributes for p in a] != [p.attributes for p in c]
    # adding a state does not change the others
    d = sample_meta_personas("CA,NY,WY", 50, seed=3)
    assert [p for p in d if p["state"] == "NY"] == [p for p in a if p["state"] == "NY"]


def test_unknown_state_names_valid_codes():
    with pytest.raises(ValueError, match=r"unknown state code\(s\) ZZ.*WY"):
        sample_meta_personas("NY,ZZ", 5)
    with pytest.raises(ValueError, match="DC"):  # no ACS tables for DC ship
        sample_meta_personas("DC", 5)


def test_resample_keeps_anchors(sampler):
    import numpy as np

    p = sampler.sample("CA", 1, seed=0)[0]
    rng = np.random.default_rng(0)
    changed = False
    for _ in range(5):
        (q,) = sampler.redraw_non_anchor(p, rng, 1)
        for key in ("state", "age", "sex", "race", "hispanic_origin"):
            assert q[key] == p[key]
        changed |= q.attributes != p.attributes
    assert changed


def test_shipped_marginals_derive_from_raw_acs_tables():
    built = build_marginals(RAW)
    shipped = load_marginals()
    assert sorted(built["states"]) == ["NY", "WY"]
    assert built["occupation_labels"] == shipped["occupation_labels"]
    for st in ("NY", "WY"):
        assert built["states"][st] == shipped["states"][st]
    assert len(shipped["states"]) == 50


def test_relationship_is_consistent_with_marital_status_and_keeps_its_marginal(sampler, draws):
    married = "Now married, except separated"
    for state in ("NY", "TX", "WY"):
        ps = draws[state]
        _close(_freq(ps, "household_relationship"), sampler.relationship_distribution(state), 0.01)
        assert all(p["marital_status"] == married for p in ps if p["household_relationship"] == "Spouse")
        heads = [p for p in ps if "household_type" in p]
        couples = [p for p in heads if p["household_type"].startswith("Married-couple")]
        assert all(p["marital_status"] == married for p in couples)
        acs = shares({k: v["total"] for k, v in load_marginals()["states"][state]["household_types"].items()})
        assert len(couples) / len(heads) == pytest.approx(acs["Married-couple household"], abs=0.015)
