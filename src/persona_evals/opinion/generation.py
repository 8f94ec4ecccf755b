"""Persona writing as an inspect eval: one sample per (persona, tier), the model under eval writes.

Running it through ``inspect_ai.eval`` makes every writer call a logged, replayable inspect call;
``merge_generation_log`` folds the log back into the personas JSONL with per-tier provenance.
Table tiers are validated pydantic objects; a tier that never validates is stored as null with
its error in provenance (never dropped silently; the simulation task then refuses it).
"""

from __future__ import annotations

import json
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, ModelOutput, get_model
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver

from persona_evals.opinion.records import WRITTEN_TIERS, PersonaRecord
from persona_evals.opinion.tiers import TABLE_MODELS, TIER_PROMPTS, WRITER_SYSTEM, clean_descriptive
from persona_evals.structured import StructuredOutputError, generate_structured

WRITER_CONFIG = GenerateConfig(temperature=0.8, top_p=0.9, max_tokens=1024)


def generation_samples(records: list[PersonaRecord], tiers: list[str]) -> list[Sample]:
    """Writer prompts; the seed of each call is the persona's index (reproducible per persona)."""
    bad = [t for t in tiers if t not in WRITTEN_TIERS]
    if bad or not tiers:
        raise ValueError(f"tiers: expected some of {', '.join(WRITTEN_TIERS)}, got {tiers}")
    samples = []
    for index, record in enumerate(records):
        meta = record.render("meta")
        for tier in tiers:
            samples.append(
                Sample(
                    id=f"{record.id}:{tier}",
                    input=[
                        ChatMessageSystem(content=WRITER_SYSTEM),
                        ChatMessageUser(content=TIER_PROMPTS[tier].format(meta=meta)),
                    ],
                    metadata={"persona_id": record.id, "tier": tier, "state": record.state, "seed": index},
                )
            )
    return samples


@solver
def write_persona_tier(max_retries: int = 2) -> Solver:
    """Write one tier; tables go through instructor validation, text is cleaned of labels."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        tier = state.metadata["tier"]
        config = GenerateConfig(seed=int(state.metadata["seed"]))
        value: Any = None
        error: str | None = None
        if tier in TABLE_MODELS:
            try:
                table = await generate_structured(
                    model, state.messages, TABLE_MODELS[tier], max_retries=max_retries, config=config
                )
                value = table.model_dump()
            except StructuredOutputError as ex:
                error = ex.reason
            text = json.dumps(value) if value is not None else ""
        else:
            output = await model.generate(state.messages, config=config)
            text = clean_descriptive(output.completion)
            value = text or None
            error = None if text else "empty description"
        state.output = ModelOutput.from_content(str(model), text)
        state.store.set("tier_value", value)
        state.store.set("tier_error", error)
        return state

    return solve


@scorer(metrics=[accuracy()])
def tier_valid():
    """CORRECT when the tier was written (tables: validated), with the error as explanation."""

    async def score(state: TaskState, target: Target) -> Score:
        error = state.store.get("tier_error")
        return Score(value=INCORRECT if error else CORRECT, explanation=error or "valid")

    return score


def persona_generation(records: list[PersonaRecord], tiers: list[str], max_retries: int = 2) -> Task:
    return Task(
        name="persona_generation",
        dataset=MemoryDataset(generation_samples(records, tiers), name="census_personas"),
        solver=write_persona_tier(max_retries=max_retries),
        scorer=tier_valid(),
        config=WRITER_CONFIG,
    )


def merge_generation_log(records: list[PersonaRecord], log: EvalLog) -> list[PersonaRecord]:
    """Records with the log's tiers filled in and per-tier provenance (model, log, sample, error)."""
    if log.status != "success":
        raise RuntimeError(f"persona generation eval ended with status {log.status}: {log.error}")
    by_id = {r.id: r.model_copy(deep=True) for r in records}
    for sample in log.samples or []:
        pid, tier = sample.metadata["persona_id"], sample.metadata["tier"]
        record = by_id[pid]
        record.tiers[tier] = sample.store.get("tier_value")
        record.provenance.setdefault("tiers", {})[tier] = {
            "model": log.eval.model,
            "log": log.location,
            "sample_id": sample.id,
            "seed": sample.metadata["seed"],
            "config": WRITER_CONFIG.model_dump(exclude_none=True),
            "error": sample.store.get("tier_error"),
        }
    return [by_id[r.id] for r in records]
