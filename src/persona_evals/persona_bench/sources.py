"""Where personas and questions come from: a Hub data set id, or invented offline fixtures.

``fixture`` uses rows in the SynthLabs schemas (Synthetic-Personas, PRISM-Filter) and
``fixture-prism`` rows in the PRISM schemas (survey, conversations); both go through the same
record functions as the real data.
"""

from __future__ import annotations

from collections.abc import Sequence

from persona_evals.datasets import prism_survey
from persona_evals.datasets import synthetic_personas as synthetic
from persona_evals.datasets.questions import (
    DEFAULT_CONVERSATION_TYPES,
    PRISM_FILTER_DATASET,
    Question,
    load_prism_filter_questions,
    load_prism_opening_questions,
    prism_filter_record,
    prism_opening_questions,
    unique_questions,
)
from persona_evals.personas.persona import Persona

PERSONA_SOURCES: tuple[str, ...] = (
    synthetic.SYNTHETIC_PERSONAS_DATASET,
    prism_survey.PRISM_DATASET,
    "fixture",
    "fixture-prism",
)
QUESTION_SOURCES: tuple[str, ...] = (PRISM_FILTER_DATASET, prism_survey.PRISM_DATASET, "fixture", "fixture-prism")


def load_personas(source: str) -> list[Persona]:
    """Personas from one of `PERSONA_SOURCES`."""
    from persona_evals.datasets.fixture_data import fixture_rows

    if source == synthetic.SYNTHETIC_PERSONAS_DATASET:
        return synthetic.load_synthetic_personas()
    if source == prism_survey.PRISM_DATASET:
        return prism_survey.load_prism_personas()
    if source == "fixture":
        return synthetic.unique_ids(synthetic.record_to_persona(r) for r in fixture_rows("synthetic_personas"))
    if source == "fixture-prism":
        return [prism_survey.record_to_persona(r) for r in fixture_rows("prism_survey")]
    raise ValueError(f"personas={source!r} is not a persona source; valid: {', '.join(PERSONA_SOURCES)}")


def load_questions(
    source: str, conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES
) -> list[Question]:
    """Questions from one of `QUESTION_SOURCES` (``conversation_types`` filters PRISM turns)."""
    from persona_evals.datasets.fixture_data import fixture_rows

    if source == PRISM_FILTER_DATASET:
        return load_prism_filter_questions()
    if source == prism_survey.PRISM_DATASET:
        return load_prism_opening_questions(conversation_types)
    if source == "fixture":
        return unique_questions(prism_filter_record(r) for r in fixture_rows("prism_filter"))
    if source == "fixture-prism":
        return prism_opening_questions(fixture_rows("prism_conversations"), conversation_types)
    raise ValueError(f"questions={source!r} is not a question source; valid: {', '.join(QUESTION_SOURCES)}")
