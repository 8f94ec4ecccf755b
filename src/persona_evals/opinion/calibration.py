"""Calibration: an LLM consistency check that redraws implausible census draws under a value budget.

The sampler draws attributes from marginals, so some combinations are implausible (a 23-year-old
widowed householder with a graduate degree). Calibration runs in rounds
(`opinion.pipeline.calibrate_personas`), each an inspect eval (the registered task
``persona_calibration``, here) of the personas still pending: the verifier judges every record
once; an accepted persona is final; a rejected one is redrawn (state, age, sex, race and Hispanic
origin stay) and judged again in the next round, for at most `max_rounds` redraws. Every persona
is checked, the loop is seeded (seed = persona index, round), and personas never accepted are
kept and flagged.

The per-value budget of the original study (reference ``opinion_simulation.md`` section 4) keeps
the marginals roughly intact: per state and attribute, the budget of a value starts at its count
among the input personas, and each accepted persona takes one unit from each of its values (never
below 1). Without it, acceptance tilts the marginals toward combinations the verifier likes. A
redraw is one of `CANDIDATES` structurally valid draws from the census conditionals (never an
occupation for someone not employed), picked with probability proportional to its budget weight:
the product over attributes of remaining / initial budget of its value. A value no input persona
of the state has weighs 0, as it has no budget (if every candidate weighs 0, one is picked
uniformly). Budgets change only between rounds, so a redraw never depends on which sample of a
round finished first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, ModelOutput, get_model
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver
from pydantic import BaseModel, Field

from persona_evals.args import task_args
from persona_evals.opinion.records import CalibrationVerdict, PersonaRecord, read_personas
from persona_evals.personas.census_rules import ANCHOR_ATTRIBUTES, PERSONA_ORDER
from persona_evals.personas.persona import Persona
from persona_evals.solvers.writer import WRITTEN
from persona_evals.structured import ask_verdict

CANDIDATES = 16
MAX_ROUNDS = 100  # the original study's iteration cap
BUDGETED: tuple[str, ...] = tuple(a for a in PERSONA_ORDER if a not in ANCHOR_ATTRIBUTES)


class ConsistencyVerdict(BaseModel):
    consistent: bool = Field(
        description="true if a real person could plausibly have all these attributes at once"
    )
    issues: list[str] = Field(default_factory=list, description="each implausible combination, briefly")


class ValueBudget:
    """Per (state, attribute), how many more accepted personas each value may have."""

    def __init__(self, personas: Iterable[Persona], attributes: Sequence[str] = BUDGETED) -> None:
        self.attributes = tuple(attributes)
        self.initial: dict[tuple[str, str], Counter[Any]] = {}
        for persona in personas:
            for key, value in self._values(persona):
                self.initial.setdefault(key, Counter())[value] += 1
        self.remaining = {key: Counter(counts) for key, counts in self.initial.items()}

    def _values(self, persona: Persona) -> list[tuple[tuple[str, str], Any]]:
        state = str(persona["state"])
        return [((state, a), persona[a] if a in persona else None) for a in self.attributes]

    def take(self, persona: Persona) -> None:
        """An accepted persona uses one unit of each of its values (a budget never drops below 1)."""
        for key, value in self._values(persona):
            left = self.remaining.setdefault(key, Counter())
            left[value] = max(left[value] - 1, 1)

    def weight(self, persona: Persona) -> float:
        """Product over attributes of remaining / initial budget of the persona's value."""
        w = 1.0
        for key, value in self._values(persona):
            start = self.initial.get(key, Counter())[value]
            w *= self.remaining[key][value] / start if start else 0.0
        return w

    def redraw(
        self, persona: Persona, sampler: Any, rng: np.random.Generator, candidates: int = CANDIDATES
    ) -> Persona:
        """One of `candidates` census redraws of the non-anchor attributes, picked by budget weight."""
        drawn = sampler.redraw_non_anchor(persona, rng, candidates)
        weights = np.array([self.weight(p) for p in drawn])
        if weights.sum() <= 0:
            return drawn[int(rng.integers(len(drawn)))]
        return drawn[int(rng.choice(len(drawn), p=weights / weights.sum()))]


def calibration_samples(personas: Sequence[tuple[int, Persona]], round_: int) -> list[Sample]:
    return [
        Sample(
            id=str(p.id),
            input=VERIFIER_PROMPT.format(record=p.render()),
            metadata={"index": index, "round": round_, "meta": dict(p.attributes)},
        )
        for index, p in personas
    ]


@solver
def verify_persona(max_retries: int = 1) -> Solver:
    """Ask the verifier once, seeded by persona index and round; store the verdict."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        config = GenerateConfig(seed=int(state.metadata["index"]) * 1000 + int(state.metadata["round"]))
        verdict = await ask_verdict(model, state.input_text, ConsistencyVerdict, max_retries=max_retries, config=config)
        if verdict.value is None:
            accepted, issues = False, [f"verifier reply invalid: {verdict.error}"]
        else:
            accepted, issues = verdict.value.consistent, list(verdict.value.issues)
        result = {"meta": state.metadata["meta"], "verdict": {"accepted": accepted, "issues": issues}}
        state.store.set(WRITTEN, result)
        state.output = ModelOutput.from_content(str(model), "accepted" if accepted else "rejected")
        return state

    return solve


@scorer(metrics=[accuracy()])
def calibration_outcome():
    async def score(state: TaskState, target: Target) -> Score:
        verdict = state.store.get(WRITTEN)["verdict"]
        return Score(
            value=CORRECT if verdict["accepted"] else INCORRECT,
            explanation="; ".join(verdict["issues"]) or "consistent",
        )

    return score


def calibration_round(personas: Sequence[tuple[int, Persona]], round_: int = 0) -> Task:
    """One round: the verifier judges each (index, persona) once."""
    return Task(
        name="persona_calibration",
        dataset=MemoryDataset(calibration_samples(personas, round_), name="census_personas"),
        solver=verify_persona(),
        scorer=calibration_outcome(),
        config=GenerateConfig(temperature=0.0, max_tokens=512),
        metadata={"round": round_},
    )


@task
@task_args(round=(0, MAX_ROUNDS))
def persona_calibration(personas: str, round: int = 0) -> Task:
    """One calibration round: a verifier model judges each census persona of a JSONL file once.

    ``persona-evals personas calibrate`` runs the rounds: after each, accepted personas take
    from the per-value budget and rejected ones are redrawn under it for the next.

    Args:
        personas: personas JSONL (``persona-evals personas sample``).
        round: the round number (seeds the verifier with persona index * 1000 + round).
    """
    return calibration_round(list(enumerate(r.persona for r in read_personas(personas))), round)


def merge_calibration(
    record: PersonaRecord, final: Persona, accepted: bool, rounds: int, issues: list[str], model: str, logs: list[str]
) -> PersonaRecord:
    """The record with its final meta, its verdict and the original draw when it changed."""
    meta = dict(final.attributes)
    verdict = CalibrationVerdict(
        accepted=accepted, rounds=rounds, issues=issues, original_meta=record.meta if meta != record.meta else None
    )
    provenance = dict(
        record.provenance,
        calibration={"model": model, "logs": logs, "budget": "per value (anchor)", "sample_id": record.id},
    )
    # tiers written from the old draw no longer describe the person: drop them when it changed
    tiers = record.tiers if meta == record.meta else {}
    dropped = sorted(t for t, v in record.tiers.items() if v and t not in tiers)
    if dropped:  # recorded, so the loss is visible: regenerate them with `personas generate`
        provenance["calibration"]["tiers_dropped"] = dropped
    return record.model_copy(update={"meta": meta, "calibration": verdict, "provenance": provenance, "tiers": tiers})


VERIFIER_PROMPT = (
    "Below is a synthetic census record of one adult in the United States. Could a real person "
    "have all of these attributes at the same time? Look only for combinations that are impossible "
    "or very unlikely together (age against education, marital status or household role, "
    "employment against occupation or insurance, and so on); unusual but possible is fine.\n\n"
    "{record}\n\nReply as JSON with `consistent` (true or false) and `issues` (a list of short "
    "strings, empty when consistent)."
)
