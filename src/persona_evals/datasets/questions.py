"""Open-ended questions for PERSONA Bench: PRISM-Filter (gated) or PRISM opening turns (open).

``SynthLabsAI/PRISM-Filter`` keeps PRISM questions whose best answer could depend on who asks;
its only field is ``question``, so ids are a hash of the text. The open alternative takes the
opening user turn of each PRISM conversation (id: ``conversation_id``), by default only the
"values guided" and "controversy guided" conversations, where answers most plausibly differ by
person. Identical question texts are kept once (the first occurrence), as documented here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from persona_evals.datasets.prism_survey import PRISM_DATASET
from persona_evals.ids import content_hash

PRISM_FILTER_DATASET = "SynthLabsAI/PRISM-Filter"  # gated, unpinned: see persona_evals.datasets.revisions

PRISM_CONVERSATION_TYPES: tuple[str, ...] = ("unguided", "values guided", "controversy guided")
DEFAULT_CONVERSATION_TYPES: tuple[str, ...] = ("values guided", "controversy guided")


class Question(BaseModel):
    """A question with a stable id and the data set it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    source: str


def prism_filter_record(row: Mapping[str, Any]) -> Question:
    text = str(row["question"]).strip()
    return Question(id=f"pf-{content_hash(text)}", text=text, source=PRISM_FILTER_DATASET)


def prism_conversation_record(row: Mapping[str, Any]) -> Question:
    """The opening user turn of a PRISM conversation (``opening_prompt``, else the first user turn)."""
    text = row.get("opening_prompt") or next(
        (t["content"] for t in row.get("conversation_history") or [] if t.get("role") == "user"), ""
    )
    return Question(id=str(row["conversation_id"]), text=str(text).strip(), source=PRISM_DATASET)


def unique_questions(questions: Iterable[Question]) -> list[Question]:
    """Drop empty questions and repeats of the same text (first one kept)."""
    seen: set[str] = set()
    result = []
    for q in questions:
        key = " ".join(q.text.split()).casefold()
        if key and key not in seen:
            seen.add(key)
            result.append(q)
    return result


def check_conversation_types(types: Sequence[str]) -> tuple[str, ...]:
    unknown = [t for t in types if t not in PRISM_CONVERSATION_TYPES]
    if unknown or not types:
        raise ValueError(
            f"conversation_types {list(types)} invalid; choose from {list(PRISM_CONVERSATION_TYPES)}"
        )
    return tuple(types)


def prism_opening_questions(
    rows: Iterable[Mapping[str, Any]], conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES
) -> list[Question]:
    types = check_conversation_types(conversation_types)
    return unique_questions(
        prism_conversation_record(r) for r in rows if r.get("conversation_type") in types
    )


def load_prism_filter_questions() -> list[Question]:
    """PRISM-Filter questions (needs ``HF_TOKEN`` with access)."""
    from persona_evals.datasets.hub import load_rows

    rows = load_rows(PRISM_FILTER_DATASET, gated=True)
    return unique_questions(prism_filter_record(r) for r in rows)


def load_prism_opening_questions(
    conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES,
) -> list[Question]:
    """Opening user turns of PRISM conversations of the given types (open data)."""
    from persona_evals.datasets.hub import load_rows

    rows = load_rows(PRISM_DATASET, name="conversations")
    return prism_opening_questions(rows, conversation_types)
