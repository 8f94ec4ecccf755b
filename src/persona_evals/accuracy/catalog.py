"""Persona groups for a task, read from the package data file ``personas.json``.

Groups: ``empty`` (no persona, the baseline), ``education`` (six levels, low to high), ``names``,
``colors``, the static experts ``in_domain`` / ``related`` / ``out_of_domain`` (disjoint by
construction), and ``dynamic`` (three per-item experts ``level1..3``, written by an LLM; see
`persona_evals.accuracy.dynamic`).

MMLU-Pro's "related" group holds the experts of the same supercategory and "out-of-domain" those
of the other supercategories, so the two never overlap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from persona_evals.accuracy.benchmarks import TaskSpec, slug

GROUPS: tuple[str, ...] = (
    "empty",
    "education",
    "names",
    "colors",
    "in_domain",
    "related",
    "out_of_domain",
    "dynamic",
)
DYNAMIC_LEVELS: tuple[str, ...] = ("level1", "level2", "level3")


@dataclass(frozen=True)
class PersonaSpec:
    """One persona of a task. `sentence` is None for dynamic experts (written per item)."""

    id: str
    group: str
    sentence: str | None
    rank: int = 0  # position in the group's expected order (education levels, dynamic levels)


@cache
def catalog() -> dict[str, Any]:
    """The parsed ``personas.json`` shipped with the package."""
    return json.loads(files("persona_evals.accuracy").joinpath("personas.json").read_text("utf-8"))


def you_are(text: str) -> str:
    return f"You are {text}."


def expert(field: str) -> str:
    return you_are(f"an expert in {field}")


def task_personas(task: TaskSpec) -> dict[str, list[PersonaSpec]]:
    """Every group's personas for `task`, keyed by group name (empty groups kept as [])."""
    data = catalog()
    groups: dict[str, list[PersonaSpec]] = {g: [] for g in GROUPS}
    groups["empty"] = [PersonaSpec("empty", "empty", None)]
    groups["education"] = [
        PersonaSpec(f"education:{e['id']}", "education", you_are(e["text"]), rank)
        for rank, e in enumerate(data["education"])
    ]
    groups["names"] = [PersonaSpec(f"name:{n}", "names", you_are(n)) for n in data["names"]]
    groups["colors"] = [
        PersonaSpec(f"color:{c}", "colors", f"Your favourite colour is {c}.")
        for c in data["colors"]
    ]
    in_field, related, out = expert_fields(task)
    groups["in_domain"] = [
        PersonaSpec(f"in_domain:{slug(in_field)}", "in_domain", expert(in_field))
    ]
    groups["related"] = [PersonaSpec(f"related:{slug(f)}", "related", expert(f)) for f in related]
    groups["out_of_domain"] = [
        PersonaSpec(f"out_of_domain:{slug(f)}", "out_of_domain", expert(f)) for f in out
    ]
    groups["dynamic"] = [
        PersonaSpec(f"dynamic:{level}", "dynamic", None, rank)
        for rank, level in enumerate(DYNAMIC_LEVELS)
    ]
    return groups


def expert_fields(task: TaskSpec) -> tuple[str, list[str], list[str]]:
    """(in-domain field, related fields, out-of-domain fields) for a task; the three are disjoint."""
    data = catalog()
    fields: dict[str, str] = data["fields"]
    in_field = fields[task.id]
    siblings = [t for t in fields if t.partition(":")[0] == task.family and t != task.id]
    if task.family == "mmlu_pro":
        supers: dict[str, list[str]] = data["mmlu_pro_supercategories"]
        mine = next(members for members in supers.values() if task.subset in members)
        related = [fields[f"mmlu_pro:{slug(c)}"] for c in mine if c != task.subset]
        out = [
            fields[f"mmlu_pro:{slug(c)}"]
            for members in supers.values()
            if members is not mine
            for c in members
        ]
    elif task.family in ("math", "bigbench"):
        related = [fields[t] for t in siblings]
        out = list(data["out_of_domain"][task.family])
    else:  # truthfulqa and gsm8k are single tasks: no related experts
        related = []
        out = list(data["out_of_domain"][task.family])
    return in_field, related, out


def select_personas(task: TaskSpec, personas: str | list[str]) -> list[PersonaSpec]:
    """The personas a ``-T personas`` value names: ``all``, group names and/or persona ids.

    Raises:
        ValueError: for an unknown group or persona id, listing the valid groups.
    """
    groups = task_personas(task)
    by_id = {p.id: p for members in groups.values() for p in members}
    values = [personas] if isinstance(personas, str) else list(personas)
    chosen: dict[str, PersonaSpec] = {}
    for value in (str(v).strip() for v in values):
        if value == "all":
            members = list(by_id.values())
        elif value in groups:
            members = groups[value]
        elif value in by_id:
            members = [by_id[value]]
        else:
            raise ValueError(
                f"unknown persona group or id {value!r} in personas: valid groups are "
                f"{', '.join(GROUPS)} or 'all' (or a persona id such as name:Kai)"
            )
        for p in members:
            chosen.setdefault(p.id, p)
    if not chosen:
        raise ValueError(f"personas {personas!r} selects no persona for task {task.id}")
    return list(chosen.values())
