"""Drafting a new trait's artifacts with an LLM, as a one-sample registered task (so it is logged).

The model writes 5 instruction pairs, 40 questions and a rubric in one structured reply
(`TraitDraft`, validated with instructor and re-asked on failure); the first 20 questions become
the extract split and the last 20 the eval split, which share the pairs and the rubric.
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from pydantic import BaseModel, ConfigDict, Field, field_validator

from persona_evals.args import task_args
from persona_evals.solvers.writer import read_written, structured_writer
from persona_evals.structured import MAX_RETRIES
from persona_evals.traits.artifact import InstructionPair, Rubric, TraitArtifact
from persona_evals.traits.prompts import DRAFT_PROMPT

PAIRS = 5
QUESTIONS_PER_SPLIT = 20


class TraitDraft(BaseModel):
    """What the drafting model must return: both splits' material in one object."""

    model_config = ConfigDict(extra="forbid")

    instruction: list[InstructionPair] = Field(min_length=PAIRS, max_length=PAIRS)
    questions: list[str] = Field(min_length=2 * QUESTIONS_PER_SPLIT, max_length=2 * QUESTIONS_PER_SPLIT)
    eval_prompt: Rubric

    @field_validator("questions")
    @classmethod
    def _distinct(cls, questions: list[str]) -> list[str]:
        normalised = [" ".join(q.lower().split()) for q in questions]
        if any(not q for q in normalised):
            raise ValueError("questions must not be blank")
        if len(set(normalised)) != len(normalised):
            raise ValueError("questions must all be different")
        return questions

    def splits(self) -> tuple[TraitArtifact, TraitArtifact]:
        """(extract, eval): the first and last 20 questions, sharing pairs and rubric."""
        shared = {"instruction": self.instruction, "eval_prompt": self.eval_prompt}
        return (
            TraitArtifact(questions=self.questions[:QUESTIONS_PER_SPLIT], **shared),
            TraitArtifact(questions=self.questions[QUESTIONS_PER_SPLIT:], **shared),
        )


@solver
def draft_trait(name: str, description: str, max_retries: int = 2) -> Solver:
    """Ask the model under evaluation for a `TraitDraft`; store it (or the failure reason)."""
    prompt = DRAFT_PROMPT.replace("<NAME>", name).replace("<DESCRIPTION>", description.strip())
    write = structured_writer(TraitDraft, max_retries=max_retries)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages = [ChatMessageUser(content=prompt)]
        return await write(state, generate)

    return solve


@task
@task_args(max_retries=(0, MAX_RETRIES))
def trait_draft(name: str, description: str, max_retries: int = 2) -> Task:
    """Draft a new trait's artifacts (5 instruction pairs, 40 questions, a judge rubric).

    ``persona-evals traits draft`` runs it and writes ``<name>_extract.json`` and
    ``<name>_eval.json``; a log of ``inspect eval persona_evals/trait_draft`` reads back with
    `draft_from_log`.

    Args:
        name: the trait's name (lower case, e.g. ``stubborn``).
        description: what the trait is, in a sentence or two.
        max_retries: re-asks when the draft does not validate.
    """
    return Task(
        dataset=[Sample(id=name, input=description, metadata={"trait": name})],
        solver=draft_trait(name, description, max_retries),
        name="trait_draft",
    )


def draft_from_log(log: EvalLog) -> tuple[TraitArtifact, TraitArtifact]:
    """(extract, eval) artifacts from a trait_draft log (RuntimeError naming why there are none)."""
    written = list(read_written(log, "drafting").values())
    if not written:
        raise RuntimeError(f"the drafting eval has no sample; log: {log.location}")
    if written[0].value is None:
        raise RuntimeError(f"{written[0].error or 'no draft was produced'}; log: {log.location}")
    return TraitDraft.model_validate(written[0].value).splits()
