"""Seeded question-persona pairing and the samples built from pairs.

Pairs are a seeded random draw without replacement from all question x persona combinations,
the seed and draw index are recorded in sample metadata, and sample ids are built from the
sources' own ids: ``<question id>__<persona id>[__<variant>]__<mode>``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from inspect_ai.dataset import Sample
from pydantic import BaseModel, ConfigDict

from persona_evals.datasets.questions import Question
from persona_evals.personas.persona import Persona

DEFAULT_PAIRS = 300
MAX_PAIRS = 100_000  # a bound checked before any data loads (a huge count would only hang)


class Pair(BaseModel):
    """One question asked on behalf of one persona; ``index`` is its position in the draw."""

    model_config = ConfigDict(frozen=True)

    index: int
    seed: int
    question: Question
    persona: Persona

    @property
    def id(self) -> str:
        return f"{self.question.id}__{self.persona.id}"


def draw_pairs(
    questions: Sequence[Question], personas: Sequence[Persona], pairs: int | None, seed: int
) -> list[Pair]:
    """`pairs` distinct (question, persona) combinations drawn with `seed`.

    ``pairs=None`` means `DEFAULT_PAIRS`, or every combination when there are fewer.
    """
    if not questions:
        raise ValueError("no questions to pair: the question source is empty")
    if not personas:
        raise ValueError("no personas to pair: the persona source (or the selected slice) is empty")
    total = len(questions) * len(personas)
    n = min(DEFAULT_PAIRS, total) if pairs is None else pairs
    if n < 1 or n > total:
        raise ValueError(
            f"pairs={pairs} must be between 1 and {total} "
            f"({len(questions)} questions x {len(personas)} personas)"
        )
    draw = random.Random(seed).sample(range(total), n)
    return [
        Pair(index=i, seed=seed, question=questions[k // len(personas)], persona=personas[k % len(personas)])
        for i, k in enumerate(draw)
    ]


def pair_sample(
    pair: Pair,
    mode: str,
    *,
    shown: Persona | None = None,
    variant: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Sample:
    """The sample for a pair in a generate mode.

    ``persona`` in metadata is always the full persona (what the critic judges against);
    ``shown_persona`` is what the target model is told (a sub-persona in leave-one-out).
    """
    shown = pair.persona if shown is None else shown
    parts = [pair.id, *([variant] if variant else []), mode]
    return Sample(
        id="__".join(parts),
        input=pair.question.text,
        metadata={
            "pair_id": pair.id,
            "pair_index": pair.index,
            "pairing_seed": pair.seed,
            "question": pair.question.text,
            "question_id": pair.question.id,
            "question_source": pair.question.source,
            "persona_id": pair.persona.id,
            "persona": dict(pair.persona.attributes),
            "shown_persona": dict(shown.attributes),
            "mode": mode,
            **(metadata or {}),
        },
    )
