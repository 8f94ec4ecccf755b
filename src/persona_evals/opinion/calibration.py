"""Calibration: an LLM consistency check that resamples implausible census draws, as an inspect eval.

The sampler draws attributes from marginals, so some combinations are implausible (a 23-year-old
widowed householder with a graduate degree). Per persona: the verifier judges the record; on a
rejection every non-anchor attribute is redrawn from the census conditionals (state, age, sex,
race and Hispanic origin stay), for at most `max_rounds` redraws. Fixes over the anchor: every
persona is checked (the anchor only ever checked its first batch of 8), the loop is bounded and
seeded (seed = persona index, round), and personas never accepted are kept and flagged.

Unlike the anchor, no per-value budget steers the redraws, so acceptance can tilt the marginals
toward combinations the verifier likes; `persona-evals personas calibrate` prints the shift.
"""

from __future__ import annotations

import numpy as np
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import GenerateConfig, ModelOutput, get_model
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, mean, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver
from pydantic import BaseModel, Field

from persona_evals.ids import keyed_rng
from persona_evals.opinion.records import CalibrationVerdict, PersonaRecord, read_personas
from persona_evals.personas.census import CensusSampler
from persona_evals.personas.census_data import load_marginals
from persona_evals.personas.persona import Persona
from persona_evals.solvers.writer import WRITTEN, read_written
from persona_evals.structured import ask_verdict


class ConsistencyVerdict(BaseModel):
    consistent: bool = Field(
        description="true if a real person could plausibly have all these attributes at once"
    )
    issues: list[str] = Field(default_factory=list, description="each implausible combination, briefly")


VERIFIER_PROMPT = (
    "Below is a synthetic census record of one adult in the United States. Could a real person "
    "have all of these attributes at the same time? Look only for combinations that are impossible "
    "or very unlikely together (age against education, marital status or household role, "
    "employment against occupation or insurance, and so on); unusual but possible is fine.\n\n"
    "{record}\n\nReply as JSON with `consistent` (true or false) and `issues` (a list of short "
    "strings, empty when consistent)."
)


def calibration_samples(records: list[PersonaRecord]) -> list[Sample]:
    return [
        Sample(
            id=r.id,
            input=VERIFIER_PROMPT.format(record=r.render("meta")),
            metadata={"index": i, "meta": r.meta, "marginals": r.provenance.get("marginals")},
        )
        for i, r in enumerate(records)
    ]


def _round_rng(index: int, round_: int, persona_id: str) -> np.random.Generator:
    return keyed_rng(index, round_, key=persona_id)


@solver
def verify_and_resample(max_rounds: int = 5, max_retries: int = 1) -> Solver:
    """Judge, redraw non-anchor attributes on rejection, repeat; store the final verdict."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        # redraw from the marginals the persona was sampled from (a refreshed file, or the shipped one)
        path = state.metadata.get("marginals")
        sampler = CensusSampler(load_marginals(path) if path else None)
        index = int(state.metadata["index"])
        persona = Persona(id=str(state.sample_id), attributes=state.metadata["meta"])
        issues: list[str] = []
        accepted = False
        rounds = 0
        for round_ in range(max_rounds + 1):
            prompt = VERIFIER_PROMPT.format(record=persona.render())
            config = GenerateConfig(seed=index * 1000 + round_)
            verdict = await ask_verdict(model, prompt, ConsistencyVerdict, max_retries=max_retries, config=config)
            if verdict.value is None:
                accepted, issues = False, [f"verifier reply invalid: {verdict.error}"]
            else:
                accepted, issues = verdict.value.consistent, list(verdict.value.issues)
            if accepted or round_ == max_rounds:
                break
            persona = sampler.resample_non_anchor(persona, _round_rng(index, round_, str(state.sample_id)))
            rounds += 1
        verdict = {"accepted": accepted, "rounds": rounds, "issues": issues}
        state.store.set(WRITTEN, {"meta": dict(persona.attributes), "verdict": verdict})
        state.output = ModelOutput.from_content(str(model), "accepted" if accepted else "rejected")
        return state

    return solve


@scorer(metrics={"accepted": [accuracy()], "rounds": [mean()]})
def calibration_outcome():
    async def score(state: TaskState, target: Target) -> Score:
        verdict = state.store.get(WRITTEN)["verdict"]
        return Score(
            value={"accepted": CORRECT if verdict["accepted"] else INCORRECT, "rounds": verdict["rounds"]},
            explanation="; ".join(verdict["issues"]) or "consistent",
        )

    return score


def calibration_task(records: list[PersonaRecord], max_rounds: int = 5) -> Task:
    """The verifier eval over `records` (what `persona-evals personas calibrate` runs)."""
    if max_rounds < 0:
        raise ValueError(f"max_rounds: expected 0 or more resampling rounds, got {max_rounds}")
    return Task(
        name="persona_calibration",
        dataset=MemoryDataset(calibration_samples(records), name="census_personas"),
        solver=verify_and_resample(max_rounds=max_rounds),
        scorer=calibration_outcome(),
        config=GenerateConfig(temperature=0.0, max_tokens=512),
    )


@task
def persona_calibration(personas: str, max_rounds: int = 5) -> Task:
    """A verifier model checks each census persona of a JSONL file; implausible ones are redrawn.

    Args:
        personas: personas JSONL (``persona-evals personas sample``).
        max_rounds: redraws of the non-anchor attributes after a rejection.
    """
    return calibration_task(read_personas(personas), max_rounds)


def merge_calibration_log(records: list[PersonaRecord], log: EvalLog) -> list[PersonaRecord]:
    """Every record, with its final meta, its verdict and the original draw when it changed."""
    written = read_written(log, "calibration")
    out = []
    for r in records:
        result = written[r.id].value
        meta = result["meta"]
        verdict = CalibrationVerdict(**result["verdict"], original_meta=r.meta if meta != r.meta else None)
        provenance = dict(
            r.provenance, calibration={"model": log.eval.model, "log": log.location, "sample_id": r.id}
        )
        # tiers written from the old draw no longer describe the person: drop them when it changed
        tiers = r.tiers if meta == r.meta else {}
        dropped = sorted(t for t, v in r.tiers.items() if v and t not in tiers)
        if dropped:  # recorded, so the loss is visible: regenerate them with `personas generate`
            provenance["calibration"]["tiers_dropped"] = dropped
        out.append(
            r.model_copy(
                update={"meta": meta, "calibration": verdict, "provenance": provenance, "tiers": tiers}
            )
        )
    return out
