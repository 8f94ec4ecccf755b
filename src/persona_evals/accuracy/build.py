"""Assemble the persona_accuracy dataset (items x personas) and its solver chain.

One sample per item and persona, id ``<item id>#<persona id>``, with the task, item id and
persona (id, group, rank, sentence) in its metadata, so every desideratum can be computed from the
log afterwards and items are paired across personas by id.
"""

from __future__ import annotations

from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import Solver, generate

from persona_evals.accuracy.benchmarks import resolve_tasks
from persona_evals.accuracy.catalog import select_personas
from persona_evals.accuracy.data import check_source, load_items
from persona_evals.accuracy.dynamic import WRITER_ROLE, ExpertCache, default_cache_path, dynamic_experts
from persona_evals.accuracy.refine import (
    check_baseline_covers,
    read_baseline_answers,
    refine_persona,
)

Mitigation = Literal["none", "instruction", "refine", "refine_basic"]
MITIGATIONS: tuple[str, ...] = ("none", "instruction", "refine", "refine_basic")
from persona_evals.accuracy.prompts import with_constraints
from persona_evals.args import needs_role
from persona_evals.solvers.persona import PERSONA_SLOT, PLACEMENTS, persona_message


def as_list(value: str | list[str]) -> list[str]:
    """``-T`` values may arrive as a list (``a,b``) or one string; accept both."""
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def build_dataset(
    dataset: str | list[str], personas: str | list[str], items: int | None = None, source: str = "hub"
) -> MemoryDataset:
    """Samples for every selected task, item (first `items` per task) and persona, item-major.

    Every task, persona selection and the source are checked before the first item loads.
    """
    if items is not None and int(items) < 1:
        raise ValueError(f"items must be a positive number of items per task, got {items!r}")
    tasks = resolve_tasks(as_list(dataset))
    check_source(tasks, source)
    chosen = {task.id: select_personas(task, as_list(personas)) for task in tasks}
    samples: list[Sample] = []
    for task in tasks:
        for item in load_items(task, source)[: int(items) if items else None]:
            for persona in chosen[task.id]:
                metadata = {
                    **(item.metadata or {}),
                    "task": task.id,
                    "family": task.family,
                    "answer_type": task.answer_type,
                    "persona_id": persona.id,
                    "persona_group": persona.group,
                    "persona_rank": persona.rank,
                    "persona_sentence": persona.sentence,
                }
                samples.append(
                    Sample(
                        id=f"{item.id}#{persona.id}",
                        input=item.input,
                        target=item.target,
                        choices=item.choices,
                        metadata=metadata,
                    )
                )
    name = "persona_accuracy:" + ",".join(t.id for t in tasks)
    return MemoryDataset(samples, name=name)


def check_solver_args(
    mitigation: str = "none",
    persona_placement: str = "system",
    baseline_log: str | None = None,
    experts_cache: str | None = None,
) -> dict[str, str] | None:
    """Check every solver argument before any data loads (a bad file fails before the Hub is read).

    Returns the no-persona answers of `baseline_log` by item id (None without one).
    """
    if mitigation not in MITIGATIONS:
        raise ValueError(f"mitigation must be one of {', '.join(MITIGATIONS)}, got {mitigation!r}")
    if persona_placement not in PLACEMENTS:
        raise ValueError(
            f"persona_placement must be one of {', '.join(PLACEMENTS)}, got {persona_placement!r}"
        )
    if baseline_log and not mitigation.startswith("refine"):
        raise ValueError(
            f"baseline_log is only used by the refine mitigations, not mitigation={mitigation}"
        )
    if experts_cache is not None:
        ExpertCache(experts_cache)  # parses and validates the file when it exists
    return read_baseline_answers(baseline_log)[1] if baseline_log else None


def build_solver(
    dataset: MemoryDataset,
    mitigation: str = "none",
    persona_placement: str = "system",
    baseline_log: str | None = None,
    experts_cache: str | None = None,
    baseline_answers: dict[str, str] | None = None,
) -> list[Solver]:
    """The solver chain of a mitigation, for arguments `check_solver_args` accepted."""
    chain: list[Solver] = []
    dynamic = {str(s.metadata["item_id"]) for s in dataset if (s.metadata or {}).get("persona_group") == "dynamic"}
    if dynamic:
        cache = experts_cache or default_cache_path()
        if not dynamic <= ExpertCache(cache).entries.keys():
            needs_role(WRITER_ROLE)  # items the cache lacks are written by that role's model
        chain.append(dynamic_experts(cache))
    if mitigation.startswith("refine"):
        if baseline_log:
            answers = baseline_answers if baseline_answers is not None else read_baseline_answers(baseline_log)[1]
            item_ids = list(dict.fromkeys(str((s.metadata or {})["item_id"]) for s in dataset))
            check_baseline_covers(answers, item_ids, baseline_log)
        chain.append(
            refine_persona(with_instruction=mitigation == "refine", baseline_log=baseline_log)
        )
    else:
        chain += [
            persona_message(persona_placement, template=with_constraints(PERSONA_SLOT) if mitigation == "instruction" else PERSONA_SLOT),
            generate(),
        ]  # type: ignore[arg-type]
    return chain
