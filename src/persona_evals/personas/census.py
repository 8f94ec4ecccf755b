"""Census-grounded meta personas: a seeded per-state sampler over ACS 2023 marginals.

Each adult is drawn attribute by attribute from the state's ACS marginals (vectorised with a
``numpy.random.Generator``; the same seed, state and count always give the same personas):

- shares are renormalised from counts, never read from published percentages (DP05's "18 to
  19" percentage is over the whole population, so its adult percentages sum to 99.1-99.4 %);
- Hispanic origin is its own axis (``hispanic_origin``) drawn beside race, so Hispanics are not
  counted twice;
- education and marital status depend on age (see `census_rules.SAMPLER_ASSUMPTIONS`): nobody
  is 19 with a graduate degree, and the adult marginals still match the ACS;
- every draw is seeded, and the assumptions behind each conditional are recorded.

Attributes with no value for a person (occupation of someone not employed, household type of a
non-householder) are left out of the persona rather than set to "Not Applicable".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from persona_evals.ids import keyed_rng
from persona_evals.personas.census_data import (
    ACS_VINTAGE,
    AGE_BINS,
    EDUCATION,
    MARITAL,
    MARRIED,
    available_states,
    load_marginals,
)
from persona_evals.personas.census_rules import (
    AGE_RANGE,
    ANCHOR_ATTRIBUTES,
    EDU_CAP,
    EMPLOYMENT,
    GROUP_QUARTERS,
    PERSONA_ORDER,
    S2301_BAND,
    SAMPLER_ASSUMPTIONS,
    SAMPLER_VERSION,
    YOUNG,
)
from persona_evals.personas.persona import Persona
from persona_evals.personas.states import normalize_states


def shares(counts: Mapping[str, float]) -> dict[str, float]:
    """Counts -> shares summing to 1."""
    total = float(sum(counts.values()))
    if total <= 0:
        raise ValueError(f"no positive counts in {dict(counts)}")
    return {k: float(v) / total for k, v in counts.items()}


def _choice(rng: np.random.Generator, dist: Mapping[str, float], n: int) -> np.ndarray:
    labels = list(dist)
    p = np.array([dist[k] for k in labels], dtype=float)
    p = np.clip(p, 0.0, None)
    return np.array(labels, dtype=object)[rng.choice(len(labels), size=n, p=p / p.sum())]


MAX_PER_STATE = 10_000  # the most personas per state a command or task draws (the paper used 1,000)


def state_rng(seed: int, state: str) -> np.random.Generator:
    """One generator per (seed, state): adding a state never changes another state's personas."""
    return keyed_rng(seed, key=state)


class CensusSampler:
    """Draws adult meta personas for a state from shipped (or refreshed) ACS marginals."""

    def __init__(self, marginals: dict[str, Any] | None = None) -> None:
        self.marginals = load_marginals() if marginals is None else marginals
        self.states = available_states(self.marginals)
        self._occupations = [tuple(x) for x in self.marginals["occupation_labels"]]

    def state(self, code: str) -> dict[str, Any]:
        return self.marginals["states"][normalize_states(code, self.states, arg="state")[0]]

    # -- conditional distributions -------------------------------------------------------------

    def marital_distributions(self, code: str) -> dict[tuple[str, str], dict[str, float]]:
        """P(marital | sex, under 25 or 25+) such that the adult marginal by sex matches DP02."""
        m = self.state(code)
        age = shares(m["age"])
        w_young = sum(age[b] for b in YOUNG)
        out = {}
        for sex in ("Male", "Female"):
            counts = dict(m["marital"][sex])
            teens = max(0, sum(counts.values()) - m["sex"][sex])  # the 15-17 year olds in DP02
            counts["Never married"] = max(0, counts["Never married"] - teens)
            adult = shares(counts)
            old = {
                k: (adult[k] - (w_young if k == "Never married" else 0.0)) / (1 - w_young) for k in MARITAL
            }
            out[(sex, "young")] = {k: float(k == "Never married") for k in MARITAL}
            out[(sex, "old")] = shares({k: max(v, 0.0) for k, v in old.items()})
        return out

    def adult_marital_shares(self, code: str, sex: str) -> dict[str, float]:
        """The DP02 marital shares by sex with the 15-17 year olds removed (the sampler's target)."""
        m = self.state(code)
        counts = dict(m["marital"][sex])
        counts["Never married"] -= max(0, sum(counts.values()) - m["sex"][sex])
        return shares(counts)

    def education_distribution(self, code: str, age_group: str) -> dict[str, float]:
        base = shares(self.state(code)["education_25plus"])
        cap = EDU_CAP.get(age_group)
        if cap is None:
            return base
        allowed = EDUCATION[: EDUCATION.index(cap) + 1]
        return shares({k: base[k] for k in allowed})

    def relationship_distribution(self, code: str) -> dict[str, float]:
        """Adults' household relationship: DP02 minus the under-18 children, plus group quarters."""
        return shares(self._adult_relationship_counts(code))

    def _adult_relationship_counts(self, code: str) -> dict[str, float]:
        m = self.state(code)
        counts = {k: float(v) for k, v in m["relationship"].items()}
        counts["Child"] = max(0.0, counts["Child"] - (m["population"] - m["adults"]))
        counts[GROUP_QUARTERS] = float(max(0, m["population"] - m["household_population"]))
        return counts

    def relationship_by_marriage(self, code: str) -> tuple[dict[str, dict[str, float]], float]:
        """P(relationship | married or not) with the adult relationship marginal kept.

        Every spouse and every married-couple householder is married; the married people left
        over (spouse absent) spread over the other roles in proportion. Returns the two
        distributions and the share of married householders who head a married-couple household.
        """
        m = self.state(code)
        counts = self._adult_relationship_counts(code)
        sex = shares(m["sex"])
        married_share = sum(sex[s] * self.adult_marital_shares(code, s)[MARRIED] for s in sex)
        total_married = married_share * sum(counts.values())
        couples = min(float(m["household_types"]["Married-couple household"]["total"]), counts["Spouse"])
        paired = couples + counts["Spouse"]
        scale = min(1.0, total_married / paired) if paired else 1.0
        married = {"Householder": couples * scale, "Spouse": counts["Spouse"] * scale}
        pool = {k: counts[k] for k in ("Child", "Other relatives", "Other nonrelatives", GROUP_QUARTERS)}
        pool["Householder"] = max(counts["Householder"] - couples, 0.0)
        rest = min(max(total_married - sum(married.values()), 0.0), sum(pool.values()))
        for k, v in pool.items():
            married[k] = married.get(k, 0.0) + rest * v / sum(pool.values())
        not_married = {k: max(v - married.get(k, 0.0), 0.0) for k, v in counts.items()}
        couple_heads = couples * scale / married["Householder"] if married["Householder"] else 0.0
        return {"married": shares(married), "not married": shares(not_married)}, couple_heads

    def employment_distribution(self, code: str, age_group: str) -> dict[str, float]:
        rows = [self.state(code)["employment_by_age"][b] for b in S2301_BAND[age_group]]
        total = sum(r["total"] for r in rows)
        lfp = sum(r["participation_pct"] * r["total"] for r in rows) / total / 100
        emp = sum(r["employment_pct"] * r["total"] for r in rows) / total / 100
        return {"Employed": emp, "Unemployed": max(lfp - emp, 0.0), "Not in labor force": 1 - lfp}

    def insurance_distribution(self, code: str, employment: str) -> dict[str, float]:
        row = self.state(code)["insurance_19_64"][employment]
        both = max(0, row["private"] + row["public"] - row["insured"])
        return shares(
            {
                "Private health insurance": max(row["private"] - both, 0),
                "Public health coverage": max(row["public"] - both, 0),
                "Private and public coverage": both,
                "No health insurance": row["uninsured"],
            }
        )

    # -- sampling ------------------------------------------------------------------------------

    def sample_columns(
        self, code: str, n: int, rng: np.random.Generator, fixed: Mapping[str, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """`n` people as columns (object arrays; ``None`` = not applicable).

        `fixed` supplies columns to keep instead of drawing (calibration keeps the anchors).
        """
        m = self.state(code)
        fixed = dict(fixed or {})
        col: dict[str, np.ndarray] = {}

        def draw(name: str, dist: Mapping[str, float], size: int | None = None) -> np.ndarray:
            return fixed[name] if name in fixed else _choice(rng, dist, size or n)

        col["age_group"] = draw("age_group", shares(m["age"]))
        if "age" in fixed:
            col["age"] = fixed["age"]
        else:
            lo = np.array([AGE_RANGE[g][0] for g in col["age_group"]])
            hi = np.array([AGE_RANGE[g][1] for g in col["age_group"]])
            col["age"] = (lo + rng.integers(0, hi - lo + 1)).astype(object)
        col["sex"] = draw("sex", shares(m["sex"]))
        col["race"] = draw("race", shares(m["race"]))
        col["hispanic_origin"] = draw("hispanic_origin", shares(m["hispanic"]))

        marital = self.marital_distributions(code)
        col["marital_status"] = self._by_group(
            rng,
            n,
            [(s, "young" if g in YOUNG else "old") for s, g in zip(col["sex"], col["age_group"])],
            marital,
        )
        col["education"] = self._by_group(
            rng, n, list(col["age_group"]), {g: self.education_distribution(code, g) for g in AGE_BINS}
        )
        rel_dists, couple_heads = self.relationship_by_marriage(code)
        is_married = col["marital_status"] == MARRIED
        col["household_relationship"] = self._by_group(
            rng, n, ["married" if x else "not married" for x in is_married], rel_dists
        )
        col["household_type"] = self._household_type(
            m, rng, col["sex"], col["household_relationship"], is_married, couple_heads
        )

        lang = m["language"]
        col["language_at_home"] = _choice(rng, shares({k: v["total"] for k, v in lang.items()}), n)
        limited = np.array(
            [lang[g]["limited_english"] / max(lang[g]["total"], 1) for g in col["language_at_home"]]
        )
        is_limited = rng.random(n) < limited
        col["english_ability"] = np.array(
            [
                None
                if g == "English only"
                else ("Speaks English less than very well" if lim else "Speaks English very well")
                for g, lim in zip(col["language_at_home"], is_limited)
            ],
            dtype=object,
        )
        col.update(self._birth(m, rng, n))
        col["veteran_status"] = _choice(rng, shares(m["veteran"]), n)

        col["employment_status"] = self._by_group(
            rng, n, list(col["age_group"]), {g: self.employment_distribution(code, g) for g in AGE_BINS}
        )
        col["occupation_group"], col["occupation"] = self._occupation(
            m, rng, col["sex"], col["employment_status"]
        )
        ins_groups = ["65+" if int(a) >= 65 else e for a, e in zip(col["age"], col["employment_status"])]
        ins_dists = {e: self.insurance_distribution(code, e) for e in EMPLOYMENT}
        ins_dists["65+"] = {"Medicare (public coverage)": 1.0}
        col["health_insurance"] = self._by_group(rng, n, ins_groups, ins_dists)
        income = _choice(rng, shares(m["household_income"]), n)
        in_gq = col["household_relationship"] == GROUP_QUARTERS
        col["household_income"] = np.where(in_gq, None, income)
        return col

    def _by_group(
        self, rng: np.random.Generator, n: int, groups: list[Any], dists: Mapping[Any, Mapping[str, float]]
    ) -> np.ndarray:
        out = np.empty(n, dtype=object)
        keys = np.empty(n, dtype=object)
        keys[:] = groups
        for g in dict.fromkeys(groups):
            idx = np.flatnonzero(np.array([k == g for k in keys]))
            out[idx] = _choice(rng, dists[g], len(idx))
        return out

    def _household_type(
        self,
        m: dict[str, Any],
        rng: np.random.Generator,
        sex: np.ndarray,
        rel: np.ndarray,
        married: np.ndarray,
        couple_heads: float,
    ) -> np.ndarray:
        """Married householders head a married-couple household (unless the spouse is absent);
        the others a cohabiting-couple household or one with no spouse or partner, by sex."""
        types = m["household_types"]
        own = {
            "Male": "Male householder, no spouse or partner",
            "Female": "Female householder, no spouse or partner",
        }
        cohab = "Cohabiting-couple household"
        dists: dict[Any, dict[str, float]] = {
            # cohabiting-couple householders are assumed half men, half women
            (s, False): shares({cohab: types[cohab]["total"] / 2, own[s]: types[own[s]]["total"]})
            for s in own
        }
        for s in own:
            dists[(s, True)] = {"Married-couple household": couple_heads, own[s]: 1.0 - couple_heads}
        kind = self._by_group(rng, len(sex), [(s, bool(x)) for s, x in zip(sex, married)], dists)
        kids = rng.random(len(sex)) < np.array(
            [types[k]["with_children"] / max(types[k]["total"], 1) for k in kind]
        )
        labels = [
            f"{k}, with children under 18" if c else f"{k}, no children under 18" for k, c in zip(kind, kids)
        ]
        return np.where(rel == "Householder", np.array(labels, dtype=object), None)

    def _birth(self, m: dict[str, Any], rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        b = m["birth"]
        native_total = sum(b["native"].values())
        foreign_total = sum(b["foreign_citizenship"].values())
        native = rng.random(n) < native_total / (native_total + foreign_total)
        where = _choice(rng, shares(b["native"]), n)
        cit = _choice(rng, shares(b["foreign_citizenship"]), n)
        region = _choice(rng, shares(b["foreign_region"]), n)
        return {
            "place_of_birth": np.where(native, where, "Born outside the U.S. (foreign born)"),
            "citizenship": np.where(native, "U.S. citizen by birth", cit),
            "birth_region": np.where(native, None, region),
        }

    def _occupation(
        self, m: dict[str, Any], rng: np.random.Generator, sex: np.ndarray, employment: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        labels = [f"{major}|{leaf}" for major, leaf in self._occupations]
        dists = {s: shares(dict(zip(labels, m["occupation"][s]))) for s in ("Male", "Female")}
        picked = self._by_group(rng, len(sex), list(sex), dists)
        employed = employment == "Employed"
        group = np.array([p.split("|")[0] for p in picked], dtype=object)
        leaf = np.array([p.split("|")[1] for p in picked], dtype=object)
        return np.where(employed, group, None), np.where(employed, leaf, None)

    def sample(self, code: str, n: int, seed: int = 0) -> list[Persona]:
        """`n` adult meta personas of state `code`; the same (seed, state, n) gives the same list."""
        code = normalize_states(code, self.states, arg="state")[0]
        if n < 1:
            raise ValueError(f"n: expected a positive number of personas per state, got {n}")
        cols = self.sample_columns(code, n, state_rng(seed, code))
        return [self._persona(code, cols, i, f"{code}-s{seed}-{i:05d}") for i in range(n)]

    def redraw_non_anchor(self, persona: Persona, rng: np.random.Generator, n: int) -> list[Persona]:
        """`n` independent redraws of every attribute except the anchors (state, age, sex, race,
        Hispanic origin), in one vectorised draw."""
        code = str(persona["state"])
        fixed = {
            k: np.array([persona[k]] * n, dtype=object)
            for k in ANCHOR_ATTRIBUTES
            if k in persona and k not in ("state", "state_name")
        }
        cols = self.sample_columns(code, n, rng, fixed=fixed)
        return [self._persona(code, cols, i, persona.id) for i in range(n)]

    def _persona(self, code: str, cols: dict[str, np.ndarray], i: int, pid: str | None) -> Persona:
        attrs: dict[str, Any] = {"state": code, "state_name": self.state(code)["name"]}
        for name in PERSONA_ORDER:
            value = cols[name][i]
            attrs[name] = int(value) if name == "age" else value
        return Persona(id=pid, attributes=attrs)


def sample_meta_personas(
    states: str | list[str], n_per_state: int, seed: int = 0, marginals: dict[str, Any] | None = None
) -> list[Persona]:
    """Meta personas for several states (``"NY,WY"``, a list, or ``"all"``), `n_per_state` each."""
    sampler = CensusSampler(marginals)
    codes = normalize_states(states, sampler.states)
    return [p for code in codes for p in sampler.sample(code, n_per_state, seed)]


def sampler_provenance(seed: int) -> dict[str, Any]:
    """What every sampled record carries: data vintage, sampler version, seed and assumptions."""
    return {
        "source": ACS_VINTAGE,
        "sampler": SAMPLER_VERSION,
        "seed": seed,
        "assumptions": list(SAMPLER_ASSUMPTIONS),
    }
