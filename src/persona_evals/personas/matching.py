"""Typed intersection matching: which personas belong to a demographic slice.

An intersection is an AND of clauses. A clause on a numeric attribute (age, income) takes numbers
(``values``) or a closed range (``min``/``max``); a clause on any other attribute takes strings,
compared case-insensitively. Types are checked when the config is parsed, so an age clause
written as ``"values": ["18"]`` is an error instead of a slice that silently matches nothing.

Config (JSON)::

    [{"name": "young women",
      "clauses": [{"attribute": "sex", "values": ["female"]},
                  {"attribute": "age", "min": 18, "max": 34}]}]

The original PERSONA Bench form ``{"attributes": [{"attribute": ..., "values": [...]}]}`` is
accepted too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from persona_evals.paths import loads_json, read_json, user_path
from persona_evals.personas.attributes import PERSONA_ATTRIBUTES, attribute_kind, numeric_interval
from persona_evals.personas.persona import Persona

_CLAUSE_KEYS = {"attribute", "values", "min", "max"}


class Clause(BaseModel):
    """One typed condition on one attribute (build with `parse_clause`, which checks types)."""

    model_config = ConfigDict(frozen=True)

    attribute: str
    values: tuple[str | float, ...] = ()
    min: float | None = None
    max: float | None = None

    @property
    def numeric(self) -> bool:
        return attribute_kind(self.attribute) == "numeric"

    def matches(self, persona: Persona) -> bool:
        if self.attribute not in persona:
            return False
        value = persona[self.attribute]
        if not self.numeric:
            text = str(value).strip().casefold()
            return any(text == str(v).strip().casefold() for v in self.values)
        interval = numeric_interval(value)
        if interval is None:
            return False
        lo, hi = interval
        if self.values and lo == hi and any(lo == v for v in self.values):
            return True
        if self.min is None and self.max is None:
            return False
        low = -math.inf if self.min is None else self.min
        high = math.inf if self.max is None else self.max
        return low <= lo and hi <= high

    @property
    def label(self) -> str:
        if not self.numeric or (self.values and self.min is None and self.max is None):
            return f"{self.attribute}={'|'.join(_fmt(v) for v in self.values)}"
        low = "" if self.min is None else _fmt(self.min)
        high = "" if self.max is None else _fmt(self.max)
        text = f"{self.attribute}={low}-{high}"
        return text + (f"|{'|'.join(_fmt(v) for v in self.values)}" if self.values else "")


class Intersection(BaseModel):
    """A named AND of clauses; ``name`` defaults to the clause labels."""

    model_config = ConfigDict(frozen=True)

    name: str
    clauses: tuple[Clause, ...]

    def matches(self, persona: Persona) -> bool:
        return all(clause.matches(persona) for clause in self.clauses)


def parse_clause(raw: Any, valid_names: Sequence[str] = PERSONA_ATTRIBUTES) -> Clause:
    """Check one clause mapping; raises ValueError naming the problem and the expected form."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"each clause must be an object with 'attribute' and 'values', got {raw!r}")
    extra = set(raw) - _CLAUSE_KEYS
    if extra:
        raise ValueError(f"clause {dict(raw)} has unknown key(s) {sorted(extra)}; allowed: {sorted(_CLAUSE_KEYS)}")
    name = raw.get("attribute")
    if name not in valid_names:
        raise ValueError(f"unknown attribute {name!r} in clause; valid attributes: {', '.join(valid_names)}")
    values = raw.get("values", [])
    if not isinstance(values, list | tuple):
        raise ValueError(f"clause on {name!r}: 'values' must be a list, got {values!r}")
    low, high = raw.get("min"), raw.get("max")
    if attribute_kind(name) == "numeric":
        for v in [*values, *(x for x in (low, high) if x is not None)]:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(
                    f"clause on {name!r}: {name} is numeric, so values/min/max must be numbers, "
                    f"got {v!r} ({type(v).__name__})"
                )
        if not values and low is None and high is None:
            raise ValueError(f"clause on {name!r}: give 'values' (numbers) or 'min'/'max'")
        if low is not None and high is not None and low > high:
            raise ValueError(f"clause on {name!r}: min {low} is greater than max {high}")
        return Clause(attribute=name, values=tuple(float(v) for v in values), min=low, max=high)
    if low is not None or high is not None:
        raise ValueError(f"clause on {name!r}: {name} is categorical, so it takes 'values', not min/max")
    if not values:
        raise ValueError(f"clause on {name!r}: 'values' must list at least one string")
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(
                f"clause on {name!r}: {name} is categorical, so values must be non-empty strings, "
                f"got {v!r} ({type(v).__name__})"
            )
    return Clause(attribute=name, values=tuple(values))


def parse_intersections(config: Any, valid_names: Sequence[str] = PERSONA_ATTRIBUTES) -> list[Intersection]:
    """Intersections from a parsed JSON config (a list, or ``{"intersections": [...]}``)."""
    if isinstance(config, Mapping) and "intersections" in config:
        config = config["intersections"]
    if not isinstance(config, list) or not config:
        raise ValueError("intersections config must be a non-empty JSON list of intersections")
    result: list[Intersection] = []
    for i, item in enumerate(config):
        if not isinstance(item, Mapping):
            raise ValueError(f"intersection #{i} must be an object with 'clauses', got {item!r}")
        raw_clauses = item.get("clauses", item.get("attributes"))
        if not isinstance(raw_clauses, list) or not raw_clauses:
            raise ValueError(f"intersection #{i} needs a non-empty 'clauses' list")
        clauses = tuple(parse_clause(c, valid_names) for c in raw_clauses)
        name = item.get("name") or " & ".join(c.label for c in clauses)
        result.append(Intersection(name=str(name), clauses=clauses))
    names = [x.name for x in result]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"intersection names must be unique; repeated: {duplicates}")
    return result


def load_intersections(
    source: str | Path | list[Any] | Mapping[str, Any], valid_names: Sequence[str] = PERSONA_ATTRIBUTES
) -> list[Intersection]:
    """Intersections from a JSON file path, a JSON string, or an already parsed config."""
    if isinstance(source, str | Path):
        text = str(source)
        if text.lstrip().startswith(("[", "{")):
            config = loads_json(text, "config (inline JSON)")
        else:
            path = user_path(source)
            if not path.exists():
                raise ValueError(f"config: intersections file {path} does not exist")
            config = read_json(path, "config")
    else:
        config = source
    return parse_intersections(config, valid_names)


def members(intersections: Iterable[Intersection], personas: Sequence[Persona]) -> dict[str, list[Persona]]:
    """Personas per intersection (overlaps count toward each); an empty slice is an error."""
    result = {x.name: [p for p in personas if x.matches(p)] for x in intersections}
    empty = [name for name, found in result.items() if not found]
    if empty:
        raise ValueError(f"intersection(s) {empty} match none of the {len(personas)} personas")
    return result


def _fmt(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
