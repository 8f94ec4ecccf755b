"""The `Persona` type shared by the whole suite.

A persona is an ordered set of named attributes (``age``, ``sex``, ``occupation`` ...). Order is
kept because it is the order a model reads them in; values are strings or numbers, never coerced
silently. Benchmarks build sub-personas by dropping attributes (leave-one-out) and render personas
to text for prompts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

AttributeValue = str | int | float


class Persona(BaseModel):
    """An ordered mapping of attribute name -> value, with an optional id.

    Missing attributes are simply absent; ``None`` and empty-string values are dropped on
    construction so that rendering never prints "attribute: None".
    """

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)

    @field_validator("attributes", mode="before")
    @classmethod
    def _drop_empty(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                str(k): v
                for k, v in value.items()
                if v is not None and not (isinstance(v, str) and not v.strip())
            }
        return value

    @property
    def names(self) -> list[str]:
        return list(self.attributes)

    def __getitem__(self, name: str) -> AttributeValue:
        return self.attributes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.attributes

    def __len__(self) -> int:
        return len(self.attributes)

    def without(self, *names: str) -> Persona:
        """A sub-persona with the named attributes dropped (unknown names raise KeyError)."""
        unknown = [n for n in names if n not in self.attributes]
        if unknown:
            raise KeyError(f"persona has no attribute(s) {unknown}; it has {self.names}")
        return self.model_copy(
            update={"attributes": {k: v for k, v in self.attributes.items() if k not in names}}
        )

    def render(self, style: str = "lines") -> str:
        """Text for a prompt: ``lines`` gives ``name: value`` per line, ``inline`` one sentence."""
        items = [(k.replace("_", " "), v) for k, v in self.attributes.items()]
        if style == "lines":
            return "\n".join(f"{k}: {v}" for k, v in items)
        if style == "inline":
            return "; ".join(f"{k}: {v}" for k, v in items)
        raise ValueError(f"render style must be 'lines' or 'inline', got {style!r}")
