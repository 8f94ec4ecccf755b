"""The 33 PERSONA attribute names and their types.

PERSONA Bench personas (``SynthLabsAI/Synthetic-Personas``) have these 33 lower-case keys, some
with spaces. ``age`` and ``income`` are numbers; every other attribute is a category or free text.
Configs (leave-one-out, intersections) are validated against these names, so a typo is an error
instead of an empty result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

AttributeKind = Literal["numeric", "categorical"]

PERSONA_ATTRIBUTES: tuple[str, ...] = (
    "age",
    "sex",
    "race",
    "ancestry",
    "household language",
    "education",
    "employment status",
    "class of worker",
    "industry category",
    "occupation category",
    "detailed job description",
    "income",
    "marital status",
    "household type",
    "family presence and age",
    "place of birth",
    "citizenship",
    "veteran status",
    "disability",
    "health insurance",
    "big five scores",
    "defining quirks",
    "mannerisms",
    "personal time",
    "lifestyle",
    "ideology",
    "political views",
    "religion",
    "cognitive difficulty",
    "ability to speak english",
    "vision difficulty",
    "fertility",
    "hearing difficulty",
)

NUMERIC_ATTRIBUTES: frozenset[str] = frozenset({"age", "income"})


def attribute_kind(name: str) -> AttributeKind:
    """``numeric`` for age and income, ``categorical`` for everything else."""
    return "numeric" if name in NUMERIC_ATTRIBUTES else "categorical"


_NUMBER = re.compile(r"^\s*\$?-?\d[\d,]*(\.\d+)?\s*$")
# "25-34 years old", "18–24", "65+ years old", "65 or older"
_BUCKET = re.compile(r"^\s*(\d+)\s*[-–]\s*(\d+)\b")
_OPEN_BUCKET = re.compile(r"^\s*(\d+)\s*(\+|or (older|more|over)|and (older|over))")


def numeric_interval(value: object) -> tuple[float, float] | None:
    """A persona value as a closed interval [lo, hi], or None when it is not numeric.

    Numbers give a point; number-like strings ("52000.0", "$41,000") a point; survey buckets
    ("25-34 years old", "65+ years old") their range. "Not applicable", "Prefer not to say"
    and the like give None: such a persona matches no numeric clause.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else (float(value), float(value))
    if not isinstance(value, str):
        return None
    if _NUMBER.match(value):
        number = float(value.strip().lstrip("$").replace(",", ""))
        return (number, number)
    if m := _BUCKET.match(value):
        return (float(m.group(1)), float(m.group(2)))
    if m := _OPEN_BUCKET.match(value):
        return (float(m.group(1)), math.inf)
    return None


def coerce_numeric(value: object) -> int | float | object:
    """A number-like value as int (when whole) or float; anything else unchanged.

    Loaders use this so that ``age`` and ``income`` hold numbers, as the PERSONA schema intends,
    even when a source stores them as strings.
    """
    interval = numeric_interval(value)
    if interval is None or interval[0] != interval[1]:
        return value
    number = interval[0]
    return int(number) if number.is_integer() else number


def valid_attribute_names(pool_names: Iterable[str] = ()) -> tuple[str, ...]:
    """The 33 PERSONA names, then any other attribute the persona pool uses (e.g. PRISM's)."""
    extra = [n for n in dict.fromkeys(pool_names) if n not in PERSONA_ATTRIBUTES]
    return PERSONA_ATTRIBUTES + tuple(extra)
