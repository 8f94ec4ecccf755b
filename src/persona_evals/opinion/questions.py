"""Question ("context") files: election items and opinion topics, validated with pydantic.

A context file is a JSON object of topics, the layout the original benchmark used, extended with
optional fields (``kind``, ``year``, ``scale``, per-option ``party``, ``ordinal`` and ``refusal``)::

    {"topic_1": {"question_id": "pres_2024", "topic": "2024 U.S. presidential election",
                 "question": "Who do you vote for?", "kind": "election", "year": 2024,
                 "candidates": {"A": {"stance": "Donald Trump", "party": "REP"},
                                "B": {"stance": "Kamala Harris", "party": "DEM"}}}}

Shipped contexts: ``election_2016``, ``election_2020``, ``election_2024`` and ``custom``; any
user file in the same schema works too. JSON objects with a repeated key (two options "A") are
rejected rather than silently keeping the last one, as ``json.loads`` would.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from persona_evals.paths import user_path

SHIPPED_CONTEXTS = ("election_2016", "election_2020", "election_2024", "custom")
ELECTION_YEARS = (2016, 2020, 2024)


class QuestionFileError(ValueError):
    """A context file that fails its schema; the message names the file and the topic."""


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stance: str = Field(min_length=1)
    party: str | None = None
    ordinal: float | None = None
    refusal: bool = False

    @field_validator("stance")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("stance must not be blank")
        return v.strip()


class Question(BaseModel):
    """One multiple-choice item; option keys are the original letters (never shown shuffled)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question_id: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    question: str | None = None
    kind: Literal["election", "opinion"] = "opinion"
    category: str | None = None
    year: int | None = None
    scale: Literal["nominal", "ordinal"] = "nominal"
    candidates: dict[str, Option]

    @field_validator("question_id", mode="before")
    @classmethod
    def _id_as_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("candidates")
    @classmethod
    def _letters(cls, v: dict[str, Option]) -> dict[str, Option]:
        if len(v) < 2:
            raise ValueError(f"needs at least 2 options, got {len(v)}")
        bad = [k for k in v if len(k) != 1 or not ("A" <= k <= "Z")]
        if bad:
            raise ValueError(f"option letters must be single capitals A-Z, got {bad}")
        stances = [o.stance.lower() for o in v.values()]
        if len(set(stances)) != len(stances):
            raise ValueError("two options have the same stance text")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind == "election":
            if self.year not in ELECTION_YEARS:
                raise ValueError(f"an election item needs year in {ELECTION_YEARS}, got {self.year}")
            parties = [o.party for o in self.candidates.values()]
            if parties.count("DEM") != 1 or parties.count("REP") != 1:
                raise ValueError("an election item needs exactly one option with party DEM and one with REP")
        if self.scale == "ordinal":
            missing = [k for k, o in self.candidates.items() if not o.refusal and o.ordinal is None]
            if missing:
                raise ValueError(f"an ordinal item needs an 'ordinal' value on options {missing}")
        return self

    @property
    def letters(self) -> list[str]:
        return list(self.candidates)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise QuestionFileError(
            f"duplicate key(s) {dupes} in one JSON object (e.g. two options with the same letter)"
        )
    return dict(pairs)


def parse_context(text: str, source: str = "<context>") -> list[Question]:
    """Questions of a context file's text; raises QuestionFileError naming `source` and the topic."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except QuestionFileError as ex:
        raise QuestionFileError(f"{source}: {ex}") from None
    except json.JSONDecodeError as ex:
        raise QuestionFileError(f"{source}: not valid JSON ({ex})") from None
    if not isinstance(data, dict) or not data:
        raise QuestionFileError(f'{source}: expected a JSON object of topics like {{"topic_1": {{...}}}}')
    questions: list[Question] = []
    for key, item in data.items():
        try:
            questions.append(Question.model_validate(item))
        except ValidationError as ex:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in ex.errors()
            )
            raise QuestionFileError(f"{source}: topic {key!r}: {problems}") from None
    ids = [q.question_id for q in questions]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise QuestionFileError(f"{source}: duplicate question_id(s) {dupes}")
    return questions


def load_context(context: str | int) -> list[Question]:
    """A shipped context by name (see `SHIPPED_CONTEXTS`), an election year, or a user file path.

    ``-T context=2020`` arrives as an int: it means the shipped ``election_2020``.
    """
    if isinstance(context, int) or (isinstance(context, str) and context.isdigit()):
        context = election_context(int(context))
    if context in SHIPPED_CONTEXTS:
        path = resources.files("persona_evals.opinion") / "data" / "contexts" / f"{context}.json"
        return parse_context(path.read_text(), source=context)
    if user_path(context).is_file():
        return parse_context(user_path(context).read_text(), source=context)
    raise QuestionFileError(
        f"context: {context!r} is neither a shipped context ({', '.join(SHIPPED_CONTEXTS)}) nor an existing file"
    )


def election_context(year: int) -> str:
    """The shipped context name for an election year; unknown years raise with the valid ones."""
    if year not in ELECTION_YEARS:
        raise ValueError(f"year: no election data for {year}; expected one of {ELECTION_YEARS}")
    return f"election_{year}"
