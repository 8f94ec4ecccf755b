"""The LLM-written persona tiers: objective table, subjective table (pydantic) and descriptive text.

The tables mirror the field sets of the original benchmark (20 objective fields; the subjective
table adds job detail, Big Five, habits, ideology, party, religion and difficulties). Each reply
is validated against these models (with re-asks through `persona_evals.structured.generate_structured`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["Low", "Average", "High"]


class ObjectiveTable(BaseModel):
    """Facts only: values a census form could hold, no elaboration."""

    model_config = ConfigDict(extra="forbid")

    age: int = Field(ge=18, le=110)
    sex: Literal["Male", "Female"]
    race: str
    state: str
    ancestry: str
    household_language: str
    education: Literal[
        "Less than high school", "High school diploma or GED", "Some college or associate degree",
        "Bachelor's degree", "Graduate or professional degree",
    ]  # fmt: skip
    employment_status: Literal["Employed", "Unemployed", "Not in labor force"]
    class_of_worker: str
    industry_category: str
    occupation_category: str
    income: int = Field(ge=0, le=1_000_000, description="annual personal income in dollars")
    marital_status: Literal["Never married", "Married", "Separated", "Divorced", "Widowed"]
    household_type: str
    family_presence_and_age: str
    place_of_birth: str
    citizenship: str
    veteran_status: Literal["Veteran", "Nonveteran"]
    disability: Literal["None", "Physical", "Mental", "Both"]
    health_insurance: str


class BigFive(BaseModel):
    model_config = ConfigDict(extra="forbid")

    openness: Level
    conscientiousness: Level
    extraversion: Level
    agreeableness: Level
    neuroticism: Level


class SubjectiveTable(ObjectiveTable):
    """The objective facts plus traits, habits and beliefs the writer must invent."""

    detailed_job_description: str
    big_five_scores: BigFive
    defining_quirks: str
    mannerisms: str
    personal_time: str
    lifestyle: str
    ideology: Literal["Very liberal", "Liberal", "Moderate", "Conservative", "Very conservative"]
    political_views: Literal["Democrat", "Republican", "Independent", "Other"]
    religion: str
    cognitive_difficulty: Literal["None", "Some", "Severe"]
    ability_to_speak_english: Literal["Only English", "Very well", "Well", "Not well", "Not at all"]
    vision_difficulty: Literal["None", "Some", "Severe"]
    fertility: str
    hearing_difficulty: Literal["None", "Some", "Severe"]


TABLE_MODELS: dict[str, type[BaseModel]] = {"objective": ObjectiveTable, "subjective": SubjectiveTable}

WRITER_SYSTEM = (
    "You write realistic, specific and varied personas of people living in the United States, for "
    "social-science simulations. Every census fact you are given is fixed: keep it exactly. Fill in "
    "only what is asked, in a way that fits those facts, without stereotypes and without making "
    "everyone alike."
)

OBJECTIVE_PROMPT = (
    "Census record of one adult:\n{meta}\n\nWrite this person's objective profile as a JSON object. "
    "Only facts a census form could hold; pick values from the allowed lists; make ranges exact "
    "(one age, one income in dollars)."
)

SUBJECTIVE_PROMPT = (
    "Census record of one adult:\n{meta}\n\nWrite this person's profile as a JSON object: the "
    "objective facts, then the subjective fields (job in detail, Big Five levels, quirks, "
    "mannerisms, free time, lifestyle, ideology, party, religion, difficulties). Pick values from "
    "the allowed lists; make ranges exact."
)

DESCRIPTIVE_PROMPT = (
    "Census record of one adult:\n{meta}\n\nWrite a vivid description of this person in 150 to 250 "
    "words of prose: who they are, their work, family, days and concerns. Keep every census fact and "
    "turn ranges into exact values. Reply with the description only."
)

TIER_PROMPTS = {
    "objective": OBJECTIVE_PROMPT,
    "subjective": SUBJECTIVE_PROMPT,
    "descriptive": DESCRIPTIVE_PROMPT,
}


def clean_descriptive(text: str) -> str:
    """Drop a leading ``Persona:``/``Description:`` label a writer may add; the text must remain."""
    stripped = text.strip()
    for label in ("persona:", "description:"):
        if stripped.lower().startswith(label):
            stripped = stripped[len(label) :].strip()
    return stripped
