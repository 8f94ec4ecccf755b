"""Finetuning data for a trait at the paper's three levels, written as chat JSONL.

The persona-vectors paper trains on one file per level: `normal` (helpful answers), level I
(the trait shown subtly) and level II (shown overtly). Here a generator model writes all three
answers to each question in one structured reply (`LevelAnswers`, validated and re-asked), as the
registered writer task ``finetune_data`` (`persona_evals.solvers.writer`); questions whose reply
never validates are reported, not silently lost.
Offline, `sets_from_logs` builds a normal set and a trait set from a trait's pos/neg
trait_expression logs: the answers without the system prompt that elicited them, so a model
trained on them learns the behaviour, not the instruction.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from pydantic import BaseModel, ConfigDict, Field

from persona_evals.args import task_args
from persona_evals.datasets.chats import chat_record
from persona_evals.solvers.writer import read_written, structured_writer
from persona_evals.structured import MAX_RETRIES
from persona_evals.traits.dataset import load_trait, trait_name_of
from persona_evals.traits.prompts import LEVELS_PROMPT

LEVELS = ("normal", "trait_1", "trait_2")


class LevelAnswers(BaseModel):
    """One question's three answers (the generator's structured reply)."""

    model_config = ConfigDict(extra="forbid")

    normal: str = Field(min_length=1)
    trait_1: str = Field(min_length=1)
    trait_2: str = Field(min_length=1)


@solver
def level_answers(trait: str, description: str, max_retries: int = 2) -> Solver:
    """Ask the model under evaluation for `LevelAnswers` to the sample's question; store them."""
    write = structured_writer(LevelAnswers, max_retries=max_retries)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        prompt = (
            LEVELS_PROMPT.replace("<TRAIT>", trait)
            .replace("<DESCRIPTION>", description.strip())
            .replace("<QUESTION>", state.input_text)
        )
        state.messages = [ChatMessageUser(content=prompt)]
        return await write(state, generate)

    return solve


def levels_task(trait: str, description: str, questions: list[str], max_retries: int = 2) -> Task:
    """The generator eval over `questions` (what `persona-evals finetune-data` runs)."""
    return Task(
        dataset=[Sample(id=f"{trait}_{i}", input=q, metadata={"trait": trait, "question": q}) for i, q in enumerate(questions)],
        solver=level_answers(trait, description, max_retries),
        name="finetune_data",
    )


@task
@task_args(max_retries=(0, MAX_RETRIES))
def finetune_data(trait: str = "evil", description: str | None = None, split: str = "extract", max_retries: int = 2) -> Task:
    """Three answers per question of a trait (normal, trait level I, II) for finetuning data.

    Args:
        trait: a shipped trait or an artifact file; its questions are asked.
        description: how an assistant with the trait behaves (default: the first pos instruction).
        split: the trait's question split, ``extract`` or ``eval``.
        max_retries: re-asks when a reply does not validate.
    """
    artifact = load_trait(trait, split)
    return levels_task(trait_name_of(trait), description or artifact.instruction[0].pos, artifact.questions, max_retries)


def levels_from_log(log: EvalLog, trait: str) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """({level: chat records}, [failure reasons]) from a finetune_data log, in question order."""
    written = read_written(log, "finetune-data")
    sets: dict[str, list[dict[str, Any]]] = {level: [] for level in LEVELS}
    failures = []
    for s in sorted(log.samples or [], key=lambda s: int(str(s.id).rsplit("_", 1)[1])):
        result = written[str(s.id)]
        if result.value is None:
            failures.append(f"{s.id}: {result.error or 'no answer'}")
            continue
        answers = LevelAnswers.model_validate(result.value)
        for level in LEVELS:
            question = s.metadata["question"]
            turns = [{"role": "user", "content": question}, {"role": "assistant", "content": getattr(answers, level)}]
            sets[level].append(chat_record(turns, id=str(s.id), trait=trait, level=level))
    return sets, failures


def sets_from_logs(pos: Any, neg: Any) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """({"normal": neg answers, "trait": pos answers}, empty answers dropped) from two `TraitLog`s.

    Each chat is the sample's user turn and its answer; the system prompt is left out.
    """
    sets: dict[str, list[dict[str, Any]]] = {"normal": [], "trait": []}
    empty = 0
    for name, log in (("trait", pos), ("normal", neg)):
        for key in sorted(log.rows, key=str):
            row = log.rows[key]
            if not row.answer.strip():
                empty += 1
                continue
            turns = [{"role": "user", "content": row.question}, {"role": "assistant", "content": row.answer}]
            sets[name].append(chat_record(turns, id=row.sample_id, trait=log.trait, level=name))
    return sets, empty
