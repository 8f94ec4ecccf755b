"""Personas from ``SynthLabsAI/Synthetic-Personas`` (gated), the PERSONA Bench persona pool.

Rows have up to 33 lower-case keys (`PERSONA_ATTRIBUTES`); keys that do not apply (fertility,
the difficulty keys) may be absent, and ``age``/``income`` may arrive as strings. We coerce those
two to numbers so typed intersection clauses work, and keep every other value as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from persona_evals.ids import content_hash
from persona_evals.personas.attributes import NUMERIC_ATTRIBUTES, coerce_numeric
from persona_evals.personas.persona import Persona

SYNTHETIC_PERSONAS_DATASET = "SynthLabsAI/Synthetic-Personas"  # gated, unpinned: see datasets.revisions


def persona_id(prefix: str, row: Mapping[str, Any]) -> str:
    """A stable id from the row's content (the data set has no id column)."""
    return f"{prefix}-{content_hash(json.dumps(row, sort_keys=True, default=str))}"


def record_to_persona(row: Mapping[str, Any]) -> Persona:
    """One Synthetic-Personas row as a `Persona` (row key order kept, age/income numeric)."""
    attributes = {
        str(k).strip().lower(): (coerce_numeric(v) if str(k).strip().lower() in NUMERIC_ATTRIBUTES else v)
        for k, v in row.items()
    }
    return Persona(id=persona_id("sp", row), attributes=attributes)


def unique_ids(personas: Iterable[Persona]) -> list[Persona]:
    """Suffix repeated ids (identical rows) with ``.2``, ``.3`` ... so sample ids stay unique."""
    seen: dict[str | None, int] = {}
    result = []
    for p in personas:
        seen[p.id] = seen.get(p.id, 0) + 1
        result.append(p if seen[p.id] == 1 else p.model_copy(update={"id": f"{p.id}.{seen[p.id]}"}))
    return result


def load_synthetic_personas(split: str = "train") -> list[Persona]:
    """All personas of one split (needs ``HF_TOKEN`` with access; see `GatedDatasetError`)."""
    from persona_evals.datasets.hub import load_rows

    rows = load_rows(SYNTHETIC_PERSONAS_DATASET, split=split, gated=True)
    return unique_ids(record_to_persona(r) for r in rows)
