"""ACS 2023 1-year marginals per state: derived from the raw per-state tables, shipped as one JSON.

The raw layout (one JSON per state and table: DP02, DP03, DP05, S2301, S2401; see
``shared/data/acs2023/README.md``) is reduced to the counts the census sampler needs. Counts are
kept, not the published percentages, because some percentages use a different denominator
(DP05's "18 to 19 years" is a share of the whole population, the other adult bins of 18+): the
sampler renormalises from counts.

``build_marginals(raw_dir)`` makes the shipped file; ``load_marginals()`` reads it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from persona_evals.paths import read_json
from persona_evals.personas.states import STATE_NAMES

MARGINALS_FILE = "acs2023_marginals.json"
ACS_VINTAGE = "ACS 2023 1-year estimates (DP02, DP03, DP05, S2301, S2401)"

AGE_BINS = (
    "18 to 19 years", "20 to 24 years", "25 to 34 years", "35 to 44 years", "45 to 54 years",
    "55 to 59 years", "60 to 64 years", "65 to 74 years", "75 to 84 years", "85 years and over",
)  # fmt: skip
RACES = (
    "White", "Black or African American", "American Indian and Alaska Native", "Asian",
    "Native Hawaiian and Other Pacific Islander", "Some Other Race", "Two or More Races",
)  # fmt: skip
MARITAL = ("Never married", "Now married, except separated", "Separated", "Widowed", "Divorced")
MARRIED = MARITAL[1]
EDUCATION = (
    "Less than 9th grade", "9th to 12th grade, no diploma", "High school graduate",
    "Some college, no degree", "Associate's degree", "Bachelor's degree",
    "Graduate or professional degree",
)  # fmt: skip
RELATIONSHIPS = (
    "Householder",
    "Spouse",
    "Unmarried partner",
    "Child",
    "Other relatives",
    "Other nonrelatives",
)
LANGUAGES = (
    "English only", "Spanish", "Other Indo-European languages",
    "Asian and Pacific Islander languages", "Other languages",
)  # fmt: skip
HOUSEHOLD_TYPES = {  # raw (section, key) -> our label
    ("Family households", "Married-couple"): "Married-couple household",
    ("Family households", "Cohabiting couple"): "Cohabiting-couple household",
    ("Nonfamily households", "Male householder"): "Male householder, no spouse or partner",
    ("Nonfamily households", "Female householder"): "Female householder, no spouse or partner",
}
BORN_ABROAD_KEY = "Born in Puerto Rico, U.S. Island areas, or born abroad to American parent(s)"
WORLD_REGIONS = ("Europe", "Asia", "Africa", "Oceania", "Latin America", "Northern America")
EMPLOYMENT_STATUSES = ("Employed", "Unemployed", "Not in labor force")

RAW_FILES = {  # table -> file name pattern in the raw layout
    "DP05": "DP05/{st}_structured_data.json",
    "DP02": "DP02/{st}_dp02_structured.json",
    "DP03": "DP03/{st}_dp03_structured.json",
    "S2301": "s2301/{st}_s2301_structured.json",
    "S2401": "s2401/{st}_s2401_structured.json",
}


def _count(node: Any) -> int:
    return int(node["count"] if isinstance(node, dict) else node)


def _strip_keys(node: Any) -> Any:
    """The raw files have keys with trailing spaces (the PR/abroad birth key): strip them all."""
    if isinstance(node, dict):
        return {k.strip(): _strip_keys(v) for k, v in node.items()}
    return node


def derive_state_marginals(tables: dict[str, dict[str, Any]], state: str) -> dict[str, Any]:
    """The compact marginals of one state from its five raw tables (keyed DP02, DP03, ...)."""
    dp05, dp02, dp03 = (_strip_keys(tables[t]) for t in ("DP05", "DP02", "DP03"))
    s2301, s2401 = _strip_keys(tables["S2301"]), _strip_keys(tables["S2401"])
    sex_age, race, hisp = dp05["SEX AND AGE"], dp05["RACE"], dp05["HISPANIC OR LATINO AND RACE"]
    hh = dp02["HOUSEHOLDS BY TYPE"]
    pob = dp02["PLACE OF BIRTH"]
    lang = dp02["LANGUAGE SPOKEN AT HOME"]
    vet = dp02["VETERAN STATUS"]
    ins = dp03["HEALTH INSURANCE COVERAGE"]["Civilian noninstitutionalized population 19 to 64 years"]
    income = dp03["INCOME AND BENEFITS"]
    employment = s2301["EMPLOYMENT STATISTICS"]
    return {
        "name": STATE_NAMES[state],
        "population": int(sex_age["Total population"]),
        "adults": _count(sex_age["18 years and over"]),
        "age": {b: _count(sex_age["Age Groups"][b]) for b in AGE_BINS},
        "sex": {s: _count(sex_age[f"18 years and over {s}"]) for s in ("Male", "Female")},
        "race": {r: _count(race[r]) for r in RACES},
        "hispanic": {
            "Hispanic or Latino": _count(hisp["Hispanic or Latino (of any race)"]),
            "Not Hispanic or Latino": _count(hisp["Not Hispanic or Latino"]),
        },
        "household_population": int(dp02["RELATIONSHIP"]["Total"]),
        "relationship": {r: _count(dp02["RELATIONSHIP"][r]) for r in RELATIONSHIPS},
        "household_types": {
            label: {
                "total": _count(hh[section][key]),
                "with_children": _count(hh[section][key]["With children under 18"]),
            }
            for (section, key), label in HOUSEHOLD_TYPES.items()
        },
        "marital": {
            sex: {m: _count(dp02["MARITAL STATUS"][f"{sex}s"][m]) for m in MARITAL}
            for sex in ("Male", "Female")
        },
        "education_25plus": {e: _count(dp02["EDUCATIONAL ATTAINMENT"][e]) for e in EDUCATION},
        "language": {
            g: {
                "total": _count(lang[g]),
                "limited_english": _count(lang[g]["Speak English less than very well"])
                if g != "English only"
                else 0,
            }
            for g in LANGUAGES
        },
        "veteran": {
            "Veteran": _count(vet["Veteran"]),
            "Nonveteran": int(vet["Total"]) - _count(vet["Veteran"]),
        },
        "birth": {
            "native": {
                "Born in this state": _count(pob["Native"]["State of residence"]),
                "Born in another state": _count(pob["Native"]["Different state"]),
                "Born in Puerto Rico, a U.S. island area, or abroad to U.S. parents": _count(
                    pob["Native"][BORN_ABROAD_KEY]
                ),
            },
            "foreign_citizenship": {
                "Naturalized U.S. citizen": _count(pob["Foreign born"]["US Citizen"]),
                "Not a U.S. citizen": _count(pob["Foreign born"]["Not a U.S. citizen"]),
            },
            "foreign_region": {r: _count(pob["Foreign born"][r]) for r in WORLD_REGIONS},
        },
        "insurance_19_64": {
            status: {
                "insured": _count(ins["With health insurance coverage"][status]),
                "private": _count(ins["With health insurance coverage"][status]["Private health insurance"]),
                "public": _count(ins["With health insurance coverage"][status]["Public coverage"]),
                "uninsured": _count(ins["No health insurance coverage"][status]),
            }
            for status in EMPLOYMENT_STATUSES
        },
        "household_income": {k: _count(v) for k, v in income.items() if isinstance(v, dict) and "count" in v},
        "median_household_income": int(income["Median household income (dollars)"]),
        "employment_by_age": {
            band: {
                "total": int(row["Total"]),
                "participation_pct": float(row["Labor Force Participation Rate"]),
                "employment_pct": float(row["Employment/Population Ratio"]),
            }
            for band, row in employment["AGE"].items()
        },
        "unemployment_rate_16plus": float(employment["Population 16 years and over"]["Unemployment rate"]),
        "occupation": {sex: _occupation_leaves(s2401[sex]) for sex in ("Male", "Female")},
    }


def _occupation_leaves(node: dict[str, Any]) -> list[list[Any]]:
    # Factored into labels + counts by build_marginals.
    """``[major group, occupation, count]`` rows: the deepest level S2401 gives for each branch."""
    rows: list[list[Any]] = []
    for major, group in node.items():
        if major == "Total":
            continue
        for sub, subnode in group["Subcategories"].items():
            leaves = subnode.get("Subcategories") or {}
            if leaves:
                rows.extend([major, leaf, int(n)] for leaf, n in leaves.items())
            else:
                rows.append([major, sub, int(subnode["Total"])])
    return rows


def read_raw_state(raw_dir: str | Path, state: str) -> dict[str, dict[str, Any]]:
    """The five raw tables of `state` from a directory in the acs2023 layout."""
    raw_dir = Path(raw_dir)
    tables = {}
    for table, pattern in RAW_FILES.items():
        path = raw_dir / pattern.format(st=state.lower())
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing (expected the ACS layout of {raw_dir})")
        tables[table] = read_json(path, "--from-dir")  # a broken table is named with its line
    return tables


def build_marginals(raw_dir: str | Path, states: list[str] | None = None) -> dict[str, Any]:
    """Marginals of every state with raw files in `raw_dir` (or of `states`), plus provenance."""
    raw_dir = Path(raw_dir)
    if states is None:
        found = sorted(
            p.name.split("_")[0].upper() for p in (raw_dir / "DP05").glob("*_structured_data.json")
        )
        states = [s for s in found if s in STATE_NAMES]
    per_state = {st: derive_state_marginals(read_raw_state(raw_dir, st), st) for st in states}
    # Occupation labels are the same everywhere: store them once and keep counts per state.
    labels = [row[:2] for row in next(iter(per_state.values()))["occupation"]["Male"]] if per_state else []
    for st, m in per_state.items():
        for sex, rows in m["occupation"].items():
            if [r[:2] for r in rows] != labels:
                raise ValueError(f"{st}: S2401 occupation groups for {sex} differ from the other states")
            m["occupation"][sex] = [r[2] for r in rows]
    return {
        "source": ACS_VINTAGE,
        "note": "counts from the U.S. Census Bureau (public domain); sampler renormalises from counts",
        "occupation_labels": labels,
        "states": per_state,
    }


@cache
def _shipped() -> dict[str, Any]:
    path = resources.files("persona_evals.personas") / "data" / MARGINALS_FILE
    return json.loads(path.read_text())


class MarginalsError(ValueError):
    """A marginals file that is missing, not JSON, or not in the shipped format (names file and line)."""


def load_marginals(path: str | Path | None = None) -> dict[str, Any]:
    """The shipped marginals, or a file written by ``persona-evals personas refresh-census``.

    A user file is checked against the shipped format (every state has the same fields), so an
    empty or foreign file is an error, never a silent fall-back to the shipped marginals.
    """
    if path is None:
        return _shipped()
    path = Path(path)
    if not path.is_file():
        raise MarginalsError(f"--marginals {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise MarginalsError(f"--marginals {path} is empty; write one with `persona-evals personas refresh-census`")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as ex:
        raise MarginalsError(f"--marginals {path}:{ex.lineno}: not valid JSON ({ex.msg}, column {ex.colno})") from None
    states = data.get("states") if isinstance(data, dict) else None
    if not isinstance(states, dict) or not states or not isinstance(data.get("occupation_labels"), list):
        raise MarginalsError(
            f"--marginals {path} is not a marginals file: expected an object with 'states' (one entry per "
            "state) and 'occupation_labels', as `persona-evals personas refresh-census` writes"
        )
    fields = set(next(iter(_shipped()["states"].values())))
    for code, entry in states.items():
        missing = sorted(fields - set(entry)) if isinstance(entry, dict) else ["(not an object)"]
        if missing:
            raise MarginalsError(f"--marginals {path}: state {code!r} lacks {', '.join(missing)}")
    return data


def available_states(marginals: dict[str, Any] | None = None) -> list[str]:
    return sorted((load_marginals() if marginals is None else marginals)["states"])
