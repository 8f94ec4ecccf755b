"""Invented rows in the real schemas of the PERSONA Bench sources, for offline runs and tests.

Every row here was written for this package; none comes from a gated data set. Files:
``synthetic_personas.jsonl`` (SynthLabsAI/Synthetic-Personas: 33 keys, one row without
``fertility``, a minor with "Not applicable" fields, income as a float-like string),
``prism_filter.jsonl`` (SynthLabsAI/PRISM-Filter: ``question``), ``prism_survey.jsonl`` and
``prism_conversations.jsonl`` (HannahRoseKirk/prism-alignment ``survey`` and ``conversations``).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

FIXTURES: tuple[str, ...] = ("synthetic_personas", "prism_filter", "prism_survey", "prism_conversations")


def fixture_rows(name: str) -> list[dict[str, Any]]:
    """The invented rows of one fixture file."""
    if name not in FIXTURES:
        raise ValueError(f"unknown fixture {name!r}; valid: {', '.join(FIXTURES)}")
    text = resources.files("persona_evals.datasets").joinpath(f"fixtures/{name}.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
