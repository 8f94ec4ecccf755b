"""The persona_accuracy solver chain of each mitigation, its arguments checked before any data loads."""

from __future__ import annotations

from typing import Literal

from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import Solver, generate

from persona_evals.accuracy.dynamic import WRITER_ROLE, ExpertCache, default_cache_path, dynamic_experts
from persona_evals.accuracy.refine import (
    check_baseline_covers,
    read_baseline_answers,
    refine_persona,
)

Mitigation = Literal["none", "instruction", "refine", "refine_basic"]
MITIGATIONS: tuple[str, ...] = ("none", "instruction", "refine", "refine_basic")
from persona_evals.accuracy.prompts import BASELINE_SYSTEMS, NEUTRAL_SYSTEM_PROMPT, with_constraints
from persona_evals.args import needs_role
from persona_evals.solvers.persona import PERSONA_SLOT, PLACEMENTS, persona_message


def check_solver_args(
    mitigation: str = "none",
    persona_placement: str = "system",
    baseline_log: str | None = None,
    experts_cache: str | None = None,
    baseline_system: str = "none",
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
    if baseline_system not in BASELINE_SYSTEMS:
        raise ValueError(f"baseline_system must be one of {', '.join(BASELINE_SYSTEMS)}, got {baseline_system!r}")
    if baseline_system != "none" and mitigation.startswith("refine"):
        raise ValueError(
            f"baseline_system={baseline_system} sets the empty persona's system prompt; mitigation={mitigation} "
            "has no system prompt (it refines the no-persona answer): use mitigation none or instruction"
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
    baseline_system: str = "none",
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
            persona_message(
                persona_placement,
                template=with_constraints(PERSONA_SLOT) if mitigation == "instruction" else PERSONA_SLOT,
                absent=NEUTRAL_SYSTEM_PROMPT if baseline_system == "neutral" else None,
            ),
            generate(),
        ]  # type: ignore[arg-type]
    return chain
