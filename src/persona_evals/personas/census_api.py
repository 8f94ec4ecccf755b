"""Refresh the ACS marginals from the Census Bureau API (``persona-evals personas refresh-census``).

Variables are found by their published labels (``Estimate!!MARITAL STATUS!!Males 15 years and
over!!Never married``), not by variable codes, because codes shift between ACS vintages while
labels mostly do not. Labels are compared case-insensitively with quotes, colons and extra
spaces removed; a label that cannot be found raises an error naming it, so a changed vintage
fails loudly instead of producing wrong marginals. The tables are rebuilt in the layout of
``shared/data/acs2023`` and reduced by the same `derive_state_marginals` as the shipped file.

Needs network access; not exercised by the offline tests. A key (``$CENSUS_API_KEY``) is
optional for a handful of calls.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from persona_evals.personas.census_data import (
    ACS_VINTAGE,
    AGE_BINS,
    EDUCATION,
    LANGUAGES,
    MARITAL,
    RACES,
    RELATIONSHIPS,
    WORLD_REGIONS,
    derive_state_marginals,
    load_marginals,
)
from persona_evals.personas.states import STATE_NAMES

API = "https://api.census.gov/data/{year}/acs/acs1/{kind}"
GROUPS = {"DP02": "profile", "DP03": "profile", "DP05": "profile", "S2301": "subject", "S2401": "subject"}
Fetch = Callable[[str], Any]

STATE_FIPS = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09", "DE": "10",
    "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17", "IN": "18", "IA": "19", "KS": "20",
    "KY": "21", "LA": "22", "ME": "23", "MD": "24", "MA": "25", "MI": "26", "MN": "27", "MS": "28",
    "MO": "29", "MT": "30", "NE": "31", "NV": "32", "NH": "33", "NJ": "34", "NM": "35", "NY": "36",
    "NC": "37", "ND": "38", "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44", "SC": "45",
    "SD": "46", "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53", "WV": "54",
    "WI": "55", "WY": "56",
}  # fmt: skip


def _norm(part: str) -> str:
    return re.sub(r"\s+", " ", part.replace('"', "").replace(":", "")).strip().lower()


class CensusUnavailableError(OSError):
    """api.census.gov could not be reached (offline, blocked, or down)."""


def _fetch_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 (fixed https host)
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as ex:  # reached, but refused: a bad key, year or table
        raise CensusUnavailableError(
            f"the Census API answered HTTP {ex.code} ({ex.reason}) for {url.split('?')[0]}: check --year and "
            "--api-key (or $CENSUS_API_KEY)"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as ex:
        reason = getattr(ex, "reason", ex)
        raise CensusUnavailableError(
            f"could not reach api.census.gov ({reason}): are you offline? Build the marginals from local "
            "tables in the acs2023 layout instead: --from-dir DIR"
        ) from None


class Table:
    """One table for one state: normalised label path -> estimate."""

    def __init__(self, group: str, values: dict[tuple[str, ...], float]) -> None:
        self.group = group
        self.values = values

    def get(self, section: str, *suffix: str) -> float:
        """The estimate under `section` whose label ends with `suffix` (shortest label wins)."""
        want = tuple(_norm(s) for s in suffix)
        sec = _norm(section)
        hits = [p for p in self.values if p and p[0].startswith(sec) and p[-len(want) :] == want]
        if not hits:
            raise ValueError(
                f"Census API {self.group}: no estimate labelled {section}!!...!!{'!!'.join(suffix)}; "
                "the table's labels changed: use --from-dir with tables in the acs2023 layout"
            )
        return self.values[min(hits, key=len)]

    def count(self, section: str, *suffix: str) -> dict[str, int]:
        return {"count": int(self.get(section, *suffix))}


def fetch_tables(
    year: int, states: list[str], api_key: str | None = None, fetch: Fetch = _fetch_json
) -> dict[str, dict[str, Table]]:
    """state -> group -> Table, two calls per group (labels, then all states' estimates)."""
    key = api_key or os.environ.get("CENSUS_API_KEY")
    out: dict[str, dict[str, Table]] = {s: {} for s in states}
    by_fips = {STATE_FIPS[s]: s for s in states}
    for group, kind in GROUPS.items():
        base = API.format(year=year, kind=kind)
        labels = fetch(f"{base}/groups/{group}.json")["variables"]
        query = {"get": f"group({group})", "for": "state:*"} | ({"key": key} if key else {})
        rows = fetch(f"{base}?{urllib.parse.urlencode(query)}")
        header, body = rows[0], rows[1:]
        for row in body:
            record = dict(zip(header, row))
            st = by_fips.get(str(record.get("state")))
            if st is None:
                continue
            values = {}
            for code, value in record.items():
                meta = labels.get(code)
                if not meta or not code.endswith("E") or value in (None, ""):
                    continue
                parts = tuple(_norm(p) for p in meta["label"].split("!!"))
                if parts[0] != "estimate":
                    continue
                try:
                    values[parts[1:]] = float(value)
                except ValueError:
                    continue
            out[st][group] = Table(group, values)
    return out


def raw_layout(t: dict[str, Table]) -> dict[str, dict[str, Any]]:
    """The five tables in the acs2023 layout that `derive_state_marginals` reads."""
    dp05, dp02, dp03, s2301, s2401 = (t[g] for g in ("DP05", "DP02", "DP03", "S2301", "S2401"))
    sa = "sex and age"
    adults = int(dp05.get(sa, "total population", "18 years and over"))
    bins = {b: int(dp05.get(sa, "total population", b)) for b in AGE_BINS[1:]}
    bins = {AGE_BINS[0]: adults - sum(bins.values())} | bins  # DP05 has no 18-19 bin: 18+ minus 20+
    race = {r: dp05.count("race", "one race", r) for r in RACES[:-1]} | {
        RACES[-1]: dp05.count("race", "total population", "two or more races")
    }
    hisp = "hispanic or latino and race"
    hh = "households by type"
    hh_keys = {"Married-couple": "married-couple household", "Cohabiting couple": "cohabiting couple household",
               "Male householder": "male householder, no spouse/partner present",
               "Female householder": "female householder, no spouse/partner present"}  # fmt: skip
    hh_node = {
        k: dp02.count(hh, v)
        | {"With children under 18": dp02.count(hh, v, "with children of the householder under 18 years")}
        for k, v in hh_keys.items()
    }
    edu_labels = dict(zip(EDUCATION, EDUCATION)) | {
        "High school graduate": "High school graduate (includes equivalency)"
    }
    lang = "language spoken at home"
    pob = "place of birth"
    ins = "health insurance coverage"
    inc = "income and benefits"
    dp05_raw = {
        "SEX AND AGE": {
            "Total population": int(dp05.get(sa, "total population")),
            "Age Groups": {b: {"count": n} for b, n in bins.items()},
            "18 years and over": {"count": adults},
            "18 years and over Male": dp05.count(sa, "18 years and over", "male"),
            "18 years and over Female": dp05.count(sa, "18 years and over", "female"),
        },
        "RACE": race,
        "HISPANIC OR LATINO AND RACE": {
            "Hispanic or Latino (of any race)": dp05.count(
                hisp, "total population", "hispanic or latino (of any race)"
            ),
            "Not Hispanic or Latino": dp05.count(hisp, "total population", "not hispanic or latino"),
        },
    }
    dp02_raw = {
        "HOUSEHOLDS BY TYPE": {
            "Family households": {k: hh_node[k] for k in ("Married-couple", "Cohabiting couple")},
            "Nonfamily households": {k: hh_node[k] for k in ("Male householder", "Female householder")},
        },
        "RELATIONSHIP": {"Total": int(dp02.get("relationship", "population in households"))}
        | {r: dp02.count("relationship", "population in households", r) for r in RELATIONSHIPS},
        "MARITAL STATUS": {
            f"{sex}s": {
                m: dp02.count("marital status", f"{sex.lower()}s 15 years and over", m) for m in MARITAL
            }
            for sex in ("Male", "Female")
        },
        "EDUCATIONAL ATTAINMENT": {
            e: dp02.count("educational attainment", label) for e, label in edu_labels.items()
        },
        "LANGUAGE SPOKEN AT HOME": {"English only": dp02.count(lang, "english only")}
        | {
            g: dp02.count(lang, g)
            | {
                "Speak English less than very well": dp02.count(
                    lang, g, 'speak english less than "very well"'
                )
            }
            for g in LANGUAGES[1:]
        },
        "VETERAN STATUS": {
            "Total": int(dp02.get("veteran status", "civilian population 18 years and over")),
            "Veteran": dp02.count("veteran status", "civilian veterans"),
        },
        "PLACE OF BIRTH": {
            "Native": {
                "State of residence": dp02.count(pob, "state of residence"),
                "Different state": dp02.count(pob, "different state"),
                "Born in Puerto Rico, U.S. Island areas, or born abroad to American parent(s)": dp02.count(
                    pob, "born in puerto rico, u.s. island areas, or born abroad to american parent(s)"
                ),
            },
            "Foreign born": {
                "US Citizen": dp02.count("u.s. citizenship status", "naturalized u.s. citizen"),
                "Not a U.S. citizen": dp02.count("u.s. citizenship status", "not a u.s. citizen"),
            }
            | {r: dp02.count("world region of birth of foreign born", r) for r in WORLD_REGIONS},
        },
    }
    coverage = {
        status: dp03.count(ins, status, "with health insurance coverage")
        | {
            "Private health insurance": dp03.count(
                ins, status, "with health insurance coverage", "with private health insurance"
            ),
            "Public coverage": dp03.count(
                ins, status, "with health insurance coverage", "with public coverage"
            ),
        }
        for status in ("Employed", "Unemployed", "Not in labor force")
    }
    brackets = list(load_marginals()["states"]["NY"]["household_income"])
    dp03_raw = {
        "HEALTH INSURANCE COVERAGE": {
            "Civilian noninstitutionalized population 19 to 64 years": {
                "With health insurance coverage": coverage,
                "No health insurance coverage": {
                    s: dp03.count(ins, s, "no health insurance coverage")
                    for s in ("Employed", "Unemployed", "Not in labor force")
                },
            }
        },
        "INCOME AND BENEFITS": {b: dp03.count(inc, "total households", b) for b in brackets}
        | {
            "Median household income (dollars)": int(
                dp03.get(inc, "total households", "median household income (dollars)")
            )
        },
    }
    bands = list(load_marginals()["states"]["NY"]["employment_by_age"])
    s2301_raw = {
        "EMPLOYMENT STATISTICS": {
            "Population 16 years and over": {
                "Unemployment rate": s2301.get("unemployment rate", "population 16 years and over")
            },
            "AGE": {
                band: {
                    "Total": s2301.get("total", "age", band),
                    "Labor Force Participation Rate": s2301.get(
                        "labor force participation rate", "age", band
                    ),
                    "Employment/Population Ratio": s2301.get("employment/population ratio", "age", band),
                }
                for band in bands
            },
        }
    }
    labels = load_marginals()["occupation_labels"]
    s2401_raw = {}
    for sex in ("Male", "Female"):
        tree: dict[str, Any] = {}
        for major, leaf in labels:
            node = tree.setdefault(major, {"Subcategories": {}})
            node["Subcategories"][leaf] = {"Total": int(s2401.get(sex, leaf)), "Subcategories": {}}
        s2401_raw[sex] = tree
    return {"DP05": dp05_raw, "DP02": dp02_raw, "DP03": dp03_raw, "S2301": s2301_raw, "S2401": s2401_raw}


def fetch_marginals(
    year: int, states: list[str], api_key: str | None = None, fetch: Fetch = _fetch_json
) -> dict[str, Any]:
    """Marginals in the shipped format, straight from the API."""
    tables = fetch_tables(year, states, api_key, fetch)
    per_state = {st: derive_state_marginals(raw_layout(tables[st]), st) for st in states}
    labels = load_marginals()["occupation_labels"]
    for m in per_state.values():
        m["occupation"] = {sex: [row[2] for row in rows] for sex, rows in m["occupation"].items()}
    return {
        "source": ACS_VINTAGE.replace("2023", str(year)) + " via api.census.gov",
        "note": "counts from the U.S. Census Bureau (public domain); sampler renormalises from counts",
        "occupation_labels": labels,
        "states": per_state,
    }


__all__ = ["STATE_FIPS", "STATE_NAMES", "fetch_marginals", "fetch_tables", "raw_layout"]
