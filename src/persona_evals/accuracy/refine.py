"""The refine mitigations: revise the model's own no-persona answer while adopting the persona.

Three turns, no system message: the task; the model's no-persona answer to that same item; a
request to revise it as the persona (``refine`` adds the instruction constraints and a format
rule; ``refine_basic`` does not). The no-persona answer comes from ``baseline_log`` (looked up by
item id, never row order) or is generated once per item in this run and shared by all its
personas. The empty persona's
sample simply records that no-persona answer, so a refine log carries its own baseline.

A stored baseline must come from the very model being refined, steering included: its
`ModelIdentity` key (model name plus steering terms, adapter, ...) must equal the running model's
(names alone would accept an unsteered baseline for a steered run).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from persona_evals.accuracy.prompts import refine_request
from persona_evals.identity import ModelIdentity, log_identity, model_identity
from persona_evals.paths import user_path


def read_baseline_answers(path: str | Path) -> tuple[ModelIdentity, dict[str, str]]:
    """(model identity, item id -> completion) of the empty-persona samples of a persona_accuracy log.

    Raises:
        ValueError: when the log does not exist, did not complete (the rule of every log reader:
            an interrupted run's answers would be taken for a whole run's) or holds no
            empty-persona sample.
    """
    from persona_evals.logs import read_task_log

    path = user_path(path)
    if not path.exists():
        raise ValueError(f"baseline_log {path} does not exist")
    log = read_task_log(path, "persona_accuracy", arg="baseline_log", finished=True)
    answers: dict[str, str] = {}
    for sample in log.samples or []:
        meta = sample.metadata or {}
        if meta.get("persona_id") == "empty" and sample.output is not None and not sample.error:
            answers[str(meta["item_id"])] = sample.output.completion
    if not answers:
        raise ValueError(f"baseline_log {path} has no completed empty-persona sample to refine")
    return log_identity(log), answers


def check_same_model(baseline: ModelIdentity, path: str) -> None:
    """Raise unless the running model (with its steering) is the one that made the baseline."""
    model = get_model()
    mine = model_identity(str(model), model.model_args)
    if mine.key != baseline.key:
        detail = "" if mine.label != baseline.label else f" (steering {baseline.key} vs {mine.key})"
        raise ValueError(f"baseline_log {path} was made by {baseline.label}, not {mine.label}{detail}")


def check_baseline_covers(answers: dict[str, str], item_ids: list[str], path: str) -> None:
    """Raise naming the first items that have no baseline answer in `path`."""
    missing = [i for i in item_ids if i not in answers]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ValueError(f"baseline_log {path} has no no-persona answer for item(s) {shown}")


@solver
def refine_persona(with_instruction: bool, baseline_log: str | None = None) -> Solver:
    """Three-turn refine (``with_instruction``: the paper's Refine + Instruction, code ``refine``).

    Args:
        with_instruction: add the instruction constraints and the format rule to the last turn.
        baseline_log: a log whose empty-persona answers are refined; None generates them here.
    """
    stored: tuple[ModelIdentity, dict[str, str]] | None = (
        read_baseline_answers(baseline_log) if baseline_log else None
    )
    pending: dict[str, asyncio.Task[str]] = {}

    async def baseline(state: TaskState) -> str:
        item = str(state.metadata["item_id"])
        if stored is not None:
            made_by, answers = stored
            check_same_model(made_by, str(baseline_log))
            if item not in answers:
                raise ValueError(
                    f"baseline_log {baseline_log} has no no-persona answer for item {item}"
                )
            return answers[item]
        if item not in pending:  # first persona of this item: generate once, share with the others
            task_prompt = state.input_text
            pending[item] = asyncio.ensure_future(_generate(task_prompt))
        return await pending[item]

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        answer = await baseline(state)
        sentence = state.metadata.get("persona_sentence")
        task_turn = ChatMessageUser(content=state.input_text)
        if sentence is None:  # the empty persona: its output is the no-persona answer itself
            state.messages = [task_turn, ChatMessageAssistant(content=answer)]
            state.output = ModelOutput.from_content(str(get_model()), answer)
            return state
        state.messages = [
            task_turn,
            ChatMessageAssistant(content=answer),
            ChatMessageUser(content=refine_request(sentence, with_instruction)),
        ]
        return await generate(state)

    return solve


async def _generate(prompt: str) -> str:
    output = await get_model().generate([ChatMessageUser(content=prompt)])
    return output.completion
