"""Trait artifacts: the instruction pairs, questions and judge rubric that define one trait.

The file format follows the persona-vectors one (``instruction`` / ``questions`` / ``eval_prompt``,
one file per trait and split), so artifacts written elsewhere in that format load unchanged.
``instruction`` may also be written as two parallel lists ``{"pos": [...], "neg": [...]}``.
"""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

RUBRIC_SLOTS: frozenset[str] = frozenset({"question", "answer"})


class TraitArtifactError(ValueError):
    """An artifact that fails the schema; the message names the failing field(s)."""


def check_rubric(rubric: str) -> None:
    """Raise ValueError unless `rubric` has exactly the ``{question}`` and ``{answer}`` slots.

    Rubrics are filled with ``str.format``, so any other brace (a stray ``{`` or a ``{score}``
    field) would break formatting at judge time; we reject it at load time instead.
    """
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(rubric) if name is not None}
    except ValueError as ex:
        raise ValueError(f"is not a valid format template ({ex}); write literal braces as {{{{ }}}}") from ex
    missing = sorted(RUBRIC_SLOTS - fields)
    extra = sorted(fields - RUBRIC_SLOTS)
    if missing:
        raise ValueError(f"is missing the {', '.join('{' + m + '}' for m in missing)} slot(s)")
    if extra:
        raise ValueError(
            f"has unknown slot(s) {', '.join('{' + e + '}' for e in extra)}; "
            "only {question} and {answer} are filled"
        )


def _rubric(rubric: str) -> str:
    check_rubric(rubric)
    return rubric


Rubric = Annotated[str, AfterValidator(_rubric)]
"""A judge rubric: a format template with exactly the ``{question}`` and ``{answer}`` slots."""


class InstructionPair(BaseModel):
    """A system instruction that elicits the trait (`pos`) and one that suppresses it (`neg`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pos: str = Field(min_length=1)
    neg: str = Field(min_length=1)

    @field_validator("pos", "neg")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class TraitArtifact(BaseModel):
    """One split (extract or eval) of a trait: instruction pairs, questions and the judge rubric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instruction: list[InstructionPair] = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    eval_prompt: Rubric = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _pair_parallel_lists(cls, data: Any) -> Any:
        """Accept ``instruction: {"pos": [...], "neg": [...]}`` and zip it into pairs."""
        if not isinstance(data, dict) or not isinstance(data.get("instruction"), dict):
            return data
        lists = data["instruction"]
        pos, neg = lists.get("pos"), lists.get("neg")
        if not isinstance(pos, list) or not isinstance(neg, list):
            raise ValueError("instruction: as a mapping it needs two lists, 'pos' and 'neg'")
        if len(pos) != len(neg):
            raise ValueError(
                f"instruction: 'pos' has {len(pos)} entries but 'neg' has {len(neg)}; "
                "every pos instruction needs its neg counterpart"
            )
        return {**data, "instruction": [{"pos": p, "neg": n} for p, n in zip(pos, neg)]}

    @field_validator("questions")
    @classmethod
    def _questions_distinct(cls, questions: list[str]) -> list[str]:
        blank = [i for i, q in enumerate(questions) if not q.strip()]
        if blank:
            raise ValueError(f"question(s) at index {blank} are blank")
        seen: set[str] = set()
        dupes = [q for q in questions if q in seen or seen.add(q)]  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"duplicate question(s): {dupes[:3]}")
        return questions


def parse_artifact(data: Any, source: str = "artifact") -> TraitArtifact:
    """Validate raw data as a `TraitArtifact`, raising `TraitArtifactError` naming each bad field."""
    try:
        return TraitArtifact.model_validate(data)
    except ValidationError as ex:
        raise TraitArtifactError(f"{source} fails the trait schema: {describe_errors(ex)}") from ex


def describe_errors(ex: ValidationError) -> str:
    """One line per pydantic error: ``field.path: message``."""
    parts = []
    for err in ex.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)
