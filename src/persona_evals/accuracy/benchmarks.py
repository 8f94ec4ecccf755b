"""The 27 tasks of Principled Personas and how a ``-T dataset`` value selects them.

A task id is ``family`` or ``family:subset`` with a CLI-friendly slug for the subset
(``mmlu_pro:computer_science``, ``math:counting_and_probability``); the source's own spelling
(``"computer science"``, ``"Counting & Probability"``) is accepted too. A bare family selects all
of its tasks, ``all`` selects the 27.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AnswerType = Literal["choice", "number", "boxed"]

MMLU_PRO_CATEGORIES: tuple[str, ...] = (
    "biology", "business", "chemistry", "computer science", "economics", "engineering", "health",
    "history", "law", "math", "other", "philosophy", "physics", "psychology",
)  # fmt: skip
MATH_SUBJECTS: tuple[str, ...] = (
    "Algebra", "Counting & Probability", "Geometry", "Intermediate Algebra", "Number Theory",
    "Prealgebra", "Precalculus",
)  # fmt: skip
BIGBENCH_SUBTASKS: tuple[str, ...] = (
    "logic_grid_puzzle", "strategyqa", "tracking_shuffled_objects",
    "contextual_parametric_knowledge_conflicts",
)  # fmt: skip


@dataclass(frozen=True)
class TaskSpec:
    """One task: its id, source family, the source's own subset value and its answer type."""

    id: str
    family: str
    subset: str | None
    answer_type: AnswerType


def slug(value: str) -> str:
    """``"Counting & Probability"`` -> ``"counting_and_probability"``."""
    return re.sub(r"[^a-z0-9]+", "_", value.lower().replace("&", "and")).strip("_")


def _specs() -> dict[str, TaskSpec]:
    specs = [
        TaskSpec("truthfulqa", "truthfulqa", None, "choice"),
        TaskSpec("gsm8k", "gsm8k", None, "number"),
    ]
    specs += [TaskSpec(f"mmlu_pro:{slug(c)}", "mmlu_pro", c, "choice") for c in MMLU_PRO_CATEGORIES]
    specs += [TaskSpec(f"math:{slug(s)}", "math", s, "boxed") for s in MATH_SUBJECTS]
    specs += [TaskSpec(f"bigbench:{s}", "bigbench", s, "choice") for s in BIGBENCH_SUBTASKS]
    return {spec.id: spec for spec in specs}


TASKS: dict[str, TaskSpec] = _specs()
FAMILIES: tuple[str, ...] = ("truthfulqa", "gsm8k", "mmlu_pro", "math", "bigbench")


def resolve_tasks(dataset: str | list[str]) -> list[TaskSpec]:
    """The tasks a ``-T dataset`` value names (a task, a family, ``all``, or a list of those).

    Raises:
        ValueError: for an unknown dataset or subset, listing the valid values.
    """
    values = [dataset] if isinstance(dataset, str) else list(dataset)
    if not values:
        raise ValueError("dataset must name at least one task")
    chosen: dict[str, TaskSpec] = {}
    for value in values:
        for spec in _resolve_one(str(value).strip()):
            chosen.setdefault(spec.id, spec)
    return list(chosen.values())


def _resolve_one(value: str) -> list[TaskSpec]:
    if value == "all":
        return list(TASKS.values())
    family, _, subset = value.partition(":")
    family = family.strip().lower().replace("-", "_")
    if family not in FAMILIES:
        raise ValueError(
            f"unknown dataset {value!r}: expected one of {', '.join(FAMILIES)}, 'all', "
            f"or family:subset (e.g. mmlu_pro:biology)"
        )
    members = [spec for spec in TASKS.values() if spec.family == family]
    if not subset:
        return members
    key = f"{family}:{slug(subset)}"
    if key not in TASKS:
        valid = ", ".join(spec.id.partition(":")[2] for spec in members) or "(none: no subsets)"
        raise ValueError(
            f"unknown {family} subset {subset!r} in dataset {value!r}: valid subsets are {valid}"
        )
    return [TASKS[key]]
