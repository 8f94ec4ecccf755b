"""The rules of the census sampler: age bands, conditional caps, and the assumptions it records.

Kept apart from the sampler so the assumptions can be read (and cited in provenance) in one place.
"""

from __future__ import annotations

SAMPLER_VERSION = "census-marginals/1"
ANCHOR_ATTRIBUTES = ("state", "state_name", "age", "age_group", "sex", "race", "hispanic_origin")

SAMPLER_ASSUMPTIONS = (
    "age, sex, race and Hispanic origin are drawn independently (no joint table ships)",
    "exact age is uniform within its ACS bin; 85+ is spread over 85-94",
    "marital status: adults under 25 are never married; the 15-17 year olds in DP02 are removed "
    "from 'Never married' and the 25+ shares are solved so the adult marginal by sex matches DP02",
    "education: 25+ from DP02; 18-19 capped at 'Some college, no degree' and 20-24 at "
    "\"Bachelor's degree\", each with the state's shares renormalised over the allowed levels",
    "household relationship: DP02 counts with the under-18 population removed from 'Child', "
    "plus group quarters (population minus household population); drawn given marital status so "
    "that every spouse and married-couple householder is married and the adult marginal is kept",
    "household type and children only for householders: married ones head a married-couple "
    "household unless their spouse is absent; others a cohabiting (householders assumed half "
    "men) or no-spouse household by sex",
    "employment by age band from S2301 (25-34 pools 25-29 and 30-34; 75+ one band)",
    "occupation (S2401, by sex) only for the employed",
    "health insurance for 18-64 from DP03 (19-64, by employment status; private/public overlap "
    "split into private only, public only, both); 65+ assumed covered by Medicare",
    "household income (a household distribution) assigned to people living in households",
    "language at home, English ability, place of birth, citizenship and veteran status "
    "drawn independently of the rest",
)

EDU_CAP = {"18 to 19 years": "Some college, no degree", "20 to 24 years": "Bachelor's degree"}
YOUNG = ("18 to 19 years", "20 to 24 years")
S2301_BAND = {
    "18 to 19 years": ["16 to 19 years"],
    "20 to 24 years": ["20 to 24 years"],
    "25 to 34 years": ["25 to 29 years", "30 to 34 years"],
    "35 to 44 years": ["35 to 44 years"],
    "45 to 54 years": ["45 to 54 years"],
    "55 to 59 years": ["55 to 59 years"],
    "60 to 64 years": ["60 to 64 years"],
    "65 to 74 years": ["65 to 74 years"],
    "75 to 84 years": ["75 years and over"],
    "85 years and over": ["75 years and over"],
}
AGE_RANGE = {
    "18 to 19 years": (18, 19), "20 to 24 years": (20, 24), "25 to 34 years": (25, 34),
    "35 to 44 years": (35, 44), "45 to 54 years": (45, 54), "55 to 59 years": (55, 59),
    "60 to 64 years": (60, 64), "65 to 74 years": (65, 74), "75 to 84 years": (75, 84),
    "85 years and over": (85, 94),
}  # fmt: skip
GROUP_QUARTERS = "Lives in group quarters"
EMPLOYMENT = ("Employed", "Unemployed", "Not in labor force")


PERSONA_ORDER = (
    "age", "age_group", "sex", "race", "hispanic_origin", "marital_status", "education",
    "household_relationship", "household_type", "language_at_home", "english_ability",
    "place_of_birth", "citizenship", "birth_region", "veteran_status", "employment_status",
    "occupation_group", "occupation", "health_insurance", "household_income",
)  # fmt: skip
