"""The personas JSONL: one census persona per line with its LLM-written tiers and provenance.

Each line is a `PersonaRecord`: the meta persona (census attributes), the tiers written so far
(``objective`` and ``subjective`` tables as objects, ``descriptive`` as text; absent or null =
not written or failed), the calibration verdict if any, and provenance (sampler seed and ACS
vintage; per tier the writer model, eval log and sample id, and validation outcome).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persona_evals.paths import user_path, write_text_atomic
from persona_evals.personas.persona import AttributeValue, Persona
from persona_evals.personas.states import STATE_NAMES

TIERS: tuple[str, ...] = ("meta", "objective", "subjective", "descriptive")
WRITTEN_TIERS: tuple[str, ...] = TIERS[1:]


class PersonaFileError(ValueError):
    """A personas file line that fails validation; the message carries file and line number."""


class CalibrationVerdict(BaseModel):
    """Outcome of the consistency check: kept for every persona, accepted or not."""

    accepted: bool
    rounds: int = Field(ge=0)
    issues: list[str] = Field(default_factory=list)
    original_meta: dict[str, AttributeValue] | None = None  # the draw before any resampling


class PersonaRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    state: str = Field(min_length=2, max_length=2)
    meta: dict[str, AttributeValue]
    tiers: dict[str, dict[str, Any] | str | None] = Field(default_factory=dict)
    calibration: CalibrationVerdict | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        """An unknown code is refused when the file is read, not later by `opinion metrics`."""
        if value not in STATE_NAMES:
            raise ValueError(f"unknown state {value!r}: expected a US postal code such as NY or DC")
        return value

    @classmethod
    def from_persona(cls, persona: Persona, provenance: dict[str, Any] | None = None) -> PersonaRecord:
        return cls(
            id=str(persona.id),
            state=str(persona["state"]),
            meta=dict(persona.attributes),
            provenance=provenance or {},
        )

    @property
    def persona(self) -> Persona:
        return Persona(id=self.id, attributes=self.meta)

    def has_tier(self, tier: str) -> bool:
        return tier == "meta" or bool(self.tiers.get(tier))

    def render(self, tier: str) -> str:
        """The persona as the simulator reads it: a ``key: value`` block for meta and tables."""
        if tier == "meta":
            return self.persona.render()
        value = self.tiers.get(tier)
        if not value:
            raise KeyError(f"persona {self.id} has no {tier!r} tier")
        if isinstance(value, str):
            return value.strip()
        return "\n".join(_flatten(value))


def _flatten(value: dict[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for key, v in value.items():
        name = f"{prefix}{key.lower().replace('_', ' ')}"
        if isinstance(v, dict):
            lines.append(f"{name}: " + ", ".join(f"{k.lower().replace('_', ' ')} {x}" for k, x in v.items()))
        else:
            lines.append(f"{name}: {v}")
    return lines


def read_personas(path: str | Path) -> list[PersonaRecord]:
    """All records of a personas JSONL; a bad line raises PersonaFileError with its line number."""
    path = user_path(path)
    if not path.is_file():
        raise PersonaFileError(f"personas: file {path} does not exist")
    records: list[PersonaRecord] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = PersonaRecord.model_validate(json.loads(line))
        except json.JSONDecodeError as ex:
            raise PersonaFileError(f"{path}:{lineno}: not valid JSON ({ex.msg})") from None
        except ValidationError as ex:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in ex.errors()
            )
            raise PersonaFileError(f"{path}:{lineno}: {problems}") from None
        if record.id in seen:
            raise PersonaFileError(
                f"{path}:{lineno}: duplicate persona id {record.id!r} (first on line {seen[record.id]})"
            )
        seen[record.id] = lineno
        records.append(record)
    if not records:
        raise PersonaFileError(f"{path}: no personas in the file")
    return records


def write_personas(path: str | Path, records: Iterable[PersonaRecord], overwrite: bool = False) -> Path:
    """One JSON record per line, written atomically; an existing file is replaced only with `overwrite`."""
    return write_text_atomic(path, "".join(r.model_dump_json(exclude_none=False) + "\n" for r in records), overwrite)


def require_tier(records: list[PersonaRecord], tier: str, source: str = "personas") -> None:
    """Raise when `tier` is unknown or any record lacks it (listing the first ids)."""
    if tier not in TIERS:
        raise ValueError(f"tier: expected one of {', '.join(TIERS)}, got {tier!r}")
    missing = [r.id for r in records if not r.has_tier(tier)]
    if missing:
        raise PersonaFileError(
            f"{source}: {len(missing)} of {len(records)} personas lack the {tier!r} tier "
            f"(e.g. {', '.join(missing[:5])}); generate it with `persona-evals personas generate --tiers {tier}`"
        )
