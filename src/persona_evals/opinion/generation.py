"""Persona writing as an inspect eval: one sample per (persona, tier), the model under eval writes.

The registered task ``persona_generation`` (``inspect eval persona_evals/persona_generation -T
personas=<jsonl>``, or ``persona-evals personas generate``) makes every writer call a logged,
replayable inspect call, through the shared writer (`persona_evals.solvers.writer`);
``merge_generation_log`` folds the log back into the personas JSONL with per-tier provenance.
Table tiers are validated pydantic objects; a tier that never validates is stored as null with
its error in provenance (never dropped silently; the simulation task then refuses it).
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.scorer import Score, Scorer, Target, accuracy, scorer
from inspect_ai.solver import Solver, TaskState, solver

from persona_evals.args import task_args
from persona_evals.opinion.records import WRITTEN_TIERS, PersonaRecord, read_personas
from persona_evals.opinion.tiers import TABLE_MODELS, TIER_PROMPTS, WRITER_SYSTEM, clean_descriptive
from persona_evals.solvers.writer import read_written, structured_writer, written_score
from persona_evals.structured import MAX_RETRIES

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
    return structured_writer(
        lambda state: TABLE_MODELS.get(state.metadata["tier"]),
        max_retries=max_retries,
        seed_key="seed",
        clean=clean_descriptive,
        empty_error="empty description",
    )


@scorer(metrics=[accuracy()])
def tier_valid() -> Scorer:
    """CORRECT when the tier was written (tables: validated), with the error as explanation."""

    async def score(state: TaskState, target: Target) -> Score:
        return written_score(state)

    return score


def generation_task(records: list[PersonaRecord], tiers: list[str], max_retries: int = 2) -> Task:
    """The writer eval over `records` (what `persona-evals personas generate` runs)."""
    return Task(
        name="persona_generation",
        dataset=MemoryDataset(generation_samples(records, tiers), name="census_personas"),
        solver=write_persona_tier(max_retries=max_retries),
        scorer=tier_valid(),
        config=WRITER_CONFIG,
    )


@task
@task_args(max_retries=(0, MAX_RETRIES))
def persona_generation(
    personas: str, tiers: str | list[str] = WRITTEN_TIERS, max_retries: int = 2
) -> Task:
    """LLM-written persona tiers for the census personas of a JSONL file.

    Args:
        personas: personas JSONL (``persona-evals personas sample``).
        tiers: ``objective``, ``subjective``, ``descriptive`` or a list (``a,b`` works too).
        max_retries: re-asks when a table does not validate.
    """
    names = [t.strip() for t in (tiers.split(",") if isinstance(tiers, str) else tiers) if t.strip()]
    return generation_task(read_personas(personas), names, max_retries)


def merge_generation_log(records: list[PersonaRecord], log: EvalLog) -> list[PersonaRecord]:
    """Records with the log's tiers filled in and per-tier provenance (model, log, sample, error)."""
    written = read_written(log, "persona generation")
    by_id = {r.id: r.model_copy(deep=True) for r in records}
    for sample in log.samples or []:
        pid, tier = sample.metadata["persona_id"], sample.metadata["tier"]
        record = by_id[pid]
        record.tiers[tier] = written[str(sample.id)].value
        record.provenance.setdefault("tiers", {})[tier] = {
            "model": log.eval.model,
            "log": log.location,
            "sample_id": sample.id,
            "seed": sample.metadata["seed"],
            "config": WRITER_CONFIG.model_dump(exclude_none=True),
            "error": written[str(sample.id)].error,
        }
    return [by_id[r.id] for r in records]
