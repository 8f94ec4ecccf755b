"""Personas from the open PRISM survey (``HannahRoseKirk/prism-alignment``, config ``survey``).

PRISM participants answered a demographic survey; we map its fields onto the PERSONA attribute
names where they mean the same thing, and keep two PRISM-only attributes (country of residence,
self description). Ages are survey buckets ("25-34 years old"), which typed age clauses match as
ranges. Early releases named the category field ``gpt4_categorised``; both names are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from persona_evals.personas.persona import Persona

PRISM_DATASET = "HannahRoseKirk/prism-alignment"  # revision: persona_evals.datasets.revisions

# PERSONA attribute <- PRISM survey field
_FLAT_FIELDS: tuple[tuple[str, str], ...] = (
    ("age", "age"),
    ("sex", "gender"),
    ("education", "education"),
    ("employment status", "employment_status"),
    ("marital status", "marital_status"),
    ("ability to speak english", "english_proficiency"),
)


def _category(value: Any) -> Any:
    if isinstance(value, Mapping):
        for key in ("simplified", "categorised", "gpt4_categorised", "self_described"):
            if value.get(key):
                return value[key]
        return None
    return value


def record_to_persona(row: Mapping[str, Any]) -> Persona:
    """One survey row as a `Persona` with id ``prism-<user_id>``."""
    location = row.get("location") or {}
    attributes: dict[str, Any] = {name: row.get(field) for name, field in _FLAT_FIELDS}
    attributes["race"] = _category(row.get("ethnicity"))
    attributes["religion"] = _category(row.get("religion"))
    attributes["place of birth"] = location.get("birth_country")
    attributes["country of residence"] = location.get("reside_country")
    attributes["self description"] = row.get("self_description")
    return Persona(id=f"prism-{row['user_id']}", attributes=attributes)


def load_prism_personas() -> list[Persona]:
    """One persona per PRISM participant (1,500 in the release)."""
    from persona_evals.datasets.hub import load_rows

    rows = load_rows(PRISM_DATASET, name="survey", split="train")
    return [record_to_persona(r) for r in rows]
