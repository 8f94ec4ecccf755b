"""refresh-census from the API, offline: a fake fetcher serves NY's real numbers under ACS-style labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from persona_evals.personas.census_api import fetch_marginals
from persona_evals.personas.census_data import load_marginals

RAW = Path(__file__).parents[1] / "fixtures" / "opinion" / "acs2023"


def _labels_for_ny() -> dict[str, dict[str, float]]:
    """group -> {label: estimate}, labels in the style the Census API publishes."""

    def raw(table, name):
        return json.loads((RAW / table / f"ny_{name}.json").read_text())

    dp05, dp02, dp03 = (
        raw("DP05", "structured_data"),
        raw("DP02", "dp02_structured"),
        raw("DP03", "dp03_structured"),
    )
    s2301, s2401 = raw("s2301", "s2301_structured"), raw("s2401", "s2401_structured")
    out: dict[str, dict[str, float]] = {g: {} for g in ("DP02", "DP03", "DP05", "S2301", "S2401")}
    sa = dp05["SEX AND AGE"]
    e = "Estimate!!SEX AND AGE!!Total population"
    out["DP05"][e] = sa["Total population"]
    for b, v in sa["Age Groups"].items():
        if b != "18 to 19 years":
            out["DP05"][f"{e}!!{b}"] = v["count"]
    out["DP05"][f"{e}!!18 years and over"] = sa["18 years and over"]["count"]
    for s in ("Male", "Female"):
        out["DP05"][f"{e}!!18 years and over!!{s}"] = sa[f"18 years and over {s}"]["count"]
        out["DP05"][f"{e}!!65 years and over!!{s}"] = 1  # a decoy with the same last part
    for r, v in dp05["RACE"].items():
        if r == "Two or More Races":
            out["DP05"]["Estimate!!RACE!!Total population!!Two or More Races"] = v["count"]
        elif r != "Total population":
            out["DP05"][f"Estimate!!RACE!!Total population!!One race!!{r}"] = v["count"]
    h = dp05["HISPANIC OR LATINO AND RACE"]
    for k in ("Hispanic or Latino (of any race)", "Not Hispanic or Latino"):
        out["DP05"][f"Estimate!!HISPANIC OR LATINO AND RACE!!Total population!!{k}"] = h[k]["count"]
    d = out["DP02"]
    hh = dp02["HOUSEHOLDS BY TYPE"]
    names = {"Married-couple": "Married-couple household", "Cohabiting couple": "Cohabiting couple household",
             "Male householder": "Male householder, no spouse/partner present:",
             "Female householder": "Female householder, no spouse/partner present:"}  # fmt: skip
    for section in ("Family households", "Nonfamily households"):
        for k, v in hh[section].items():
            base = f"Estimate!!HOUSEHOLDS BY TYPE!!Total households!!{names[k]}"
            d[base] = v["count"]
            d[f"{base}!!With children of the householder under 18 years"] = v["With children under 18"][
                "count"
            ]
    rel = dp02["RELATIONSHIP"]
    d["Estimate!!RELATIONSHIP!!Population in households"] = rel["Total"]
    for k, v in rel.items():
        if k != "Total":
            d[f"Estimate!!RELATIONSHIP!!Population in households!!{k}"] = v["count"]
    for sex, node in dp02["MARITAL STATUS"].items():
        for k, v in node.items():
            if k != "Total":
                d[f"Estimate!!MARITAL STATUS!!{sex} 15 years and over!!{k}"] = v["count"]
    for k, v in dp02["EDUCATIONAL ATTAINMENT"].items():
        if k != "Total":
            k = "High school graduate (includes equivalency)" if k == "High school graduate" else k
            d[f"Estimate!!EDUCATIONAL ATTAINMENT!!Population 25 years and over!!{k}"] = v["count"]
    for k, v in dp02["LANGUAGE SPOKEN AT HOME"].items():
        if k == "Total":
            continue
        base = (
            "Estimate!!LANGUAGE SPOKEN AT HOME!!Population 5 years and over!!"
            + ("" if k == "English only" else "Language other than English!!")
            + k
        )
        d[base] = v["count"]
        if "Speak English less than very well" in v:
            d[base + '!!Speak English less than "very well"'] = v["Speak English less than very well"][
                "count"
            ]
    vet = dp02["VETERAN STATUS"]
    d["Estimate!!VETERAN STATUS!!Civilian population 18 years and over"] = vet["Total"]
    d["Estimate!!VETERAN STATUS!!Civilian population 18 years and over!!Civilian veterans"] = vet["Veteran"][
        "count"
    ]
    pob = dp02["PLACE OF BIRTH"]
    for k, v in pob["Native"].items():
        if k not in ("count", "percentage"):
            d[f"Estimate!!PLACE OF BIRTH!!Total population!!Native!!Born in United States!!{k.strip()}"] = v[
                "count"
            ]
    fb = pob["Foreign born"]
    d["Estimate!!U.S. CITIZENSHIP STATUS!!Foreign-born population!!Naturalized U.S. citizen"] = fb[
        "US Citizen"
    ]["count"]
    d["Estimate!!U.S. CITIZENSHIP STATUS!!Foreign-born population!!Not a U.S. citizen"] = fb[
        "Not a U.S. citizen"
    ]["count"]
    for r in ("Europe", "Asia", "Africa", "Oceania", "Latin America", "Northern America"):
        d[
            f"Estimate!!WORLD REGION OF BIRTH OF FOREIGN BORN!!Foreign-born population, excluding population born at sea!!{r}"
        ] = fb[r]["count"]
    ins = dp03["HEALTH INSURANCE COVERAGE"]["Civilian noninstitutionalized population 19 to 64 years"]
    base = "Estimate!!HEALTH INSURANCE COVERAGE!!Civilian noninstitutionalized population 19 to 64 years"
    for status in ("Employed", "Unemployed", "Not in labor force"):
        path = (
            f"{base}!!In labor force:!!{status}:" if status != "Not in labor force" else f"{base}!!{status}:"
        )
        w = ins["With health insurance coverage"][status]
        out["DP03"][f"{path}!!With health insurance coverage"] = w["count"]
        out["DP03"][f"{path}!!With health insurance coverage!!With private health insurance"] = w[
            "Private health insurance"
        ]["count"]
        out["DP03"][f"{path}!!With health insurance coverage!!With public coverage"] = w["Public coverage"][
            "count"
        ]
        out["DP03"][f"{path}!!No health insurance coverage"] = ins["No health insurance coverage"][status][
            "count"
        ]
    inc = dp03["INCOME AND BENEFITS"]
    ib = "Estimate!!INCOME AND BENEFITS (IN 2023 INFLATION-ADJUSTED DOLLARS)"
    for k, v in inc.items():
        if isinstance(v, dict):
            out["DP03"][f"{ib}!!Total households!!{k}"] = v["count"]
            out["DP03"][f"{ib}!!Families!!{k}"] = 7  # same bracket for families: a decoy
    out["DP03"][f"{ib}!!Total households!!Median household income (dollars)"] = inc[
        "Median household income (dollars)"
    ]
    emp = s2301["EMPLOYMENT STATISTICS"]
    out["S2301"]["Estimate!!Unemployment rate!!Population 16 years and over"] = emp[
        "Population 16 years and over"
    ]["Unemployment rate"]
    for band, row in emp["AGE"].items():
        out["S2301"][f"Estimate!!Total!!Population 16 years and over!!AGE!!{band}"] = row["Total"]
        out["S2301"][
            f"Estimate!!Labor Force Participation Rate!!Population 16 years and over!!AGE!!{band}"
        ] = row["Labor Force Participation Rate"]
        out["S2301"][f"Estimate!!Employment/Population Ratio!!Population 16 years and over!!AGE!!{band}"] = (
            row["Employment/Population Ratio"]
        )
    for sex in ("Male", "Female"):
        for major, group in s2401[sex].items():
            if major == "Total":
                continue
            for sub, node in group["Subcategories"].items():
                leaves = node["Subcategories"] or {sub: node["Total"]}
                for leaf, n in leaves.items():
                    path = f"Estimate!!{sex}!!Civilian employed population 16 years and over!!{major}:!!" + (
                        f"{sub}:!!{leaf}" if leaf != sub else sub
                    )
                    out["S2401"][path] = n
    return out


def test_refresh_from_api_rebuilds_the_shipped_marginals():
    tables = _labels_for_ny()
    calls = []

    def fetch(url):
        calls.append(url)
        group = next(
            g
            for g in tables
            if f"{g}.json" in url or f"group({g})" in url.replace("%28", "(").replace("%29", ")")
        )
        codes = {f"{group}_{i:04d}E": label for i, label in enumerate(tables[group])}
        if url.endswith(".json"):
            return {
                "variables": {c: {"label": lab} for c, lab in codes.items()}
                | {"NAME": {"label": "Geographic Area Name"}}
            }
        header = [*codes, "NAME", "state"]
        ny = [str(tables[group][lab]) for lab in codes.values()] + ["New York", "36"]
        ca = ["0"] * len(codes) + ["California", "06"]
        return [header, ca, ny]

    built = fetch_marginals(2023, ["NY"], fetch=fetch)
    shipped = load_marginals()
    assert len(calls) == 10
    assert built["occupation_labels"] == shipped["occupation_labels"]
    ny, ref = built["states"]["NY"], shipped["states"]["NY"]
    for key in ref:
        assert (
            ny[key] == pytest.approx(ref[key]) if not isinstance(ref[key], dict) else ny[key] == ref[key]
        ), key


def test_missing_label_fails_loudly():
    tables = _labels_for_ny()
    tables["DP02"] = {k: v for k, v in tables["DP02"].items() if "Civilian veterans" not in k}

    def fetch(url):
        group = next(g for g in tables if f"{g}.json" in url or f"group%28{g}%29" in url)
        codes = {f"{group}_{i:04d}E": label for i, label in enumerate(tables[group])}
        if url.endswith(".json"):
            return {"variables": {c: {"label": lab} for c, lab in codes.items()}}
        return [[*codes, "state"], [*[str(tables[group][lab]) for lab in codes.values()], "36"]]

    with pytest.raises(
        ValueError, match=r"DP02: no estimate labelled veteran status!!...!!civilian veterans"
    ):
        fetch_marginals(2023, ["NY"], fetch=fetch)
