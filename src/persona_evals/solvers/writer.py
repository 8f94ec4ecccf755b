"""Writer tasks: a model writes one validated object (or a text) per sample, kept in the log.

The persona tiers and the census calibration of opinion_simulation and the trait drafts of
trait_expression are ordinary registered tasks built on this: the solver stores what was written
(or why nothing valid was) in the sample store, the eval log is the record, and a command folds
the log back into its files with `read_written`. A reply that never validates is kept as an
error, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, get_model
from inspect_ai.scorer import CORRECT, INCORRECT, Score
from inspect_ai.solver import Generate, Solver, TaskState
from pydantic import BaseModel

from persona_evals.args import needs_role
from persona_evals.structured import ask_verdict

WRITTEN = "written"
WRITE_ERROR = "write_error"


@dataclass(frozen=True)
class Written:
    """What a writer produced for a sample: a JSON-able value, or None and the reason."""

    value: Any
    error: str | None = None


async def write(
    model: Model,
    input: str | list[ChatMessage],
    response_model: type[BaseModel] | None = None,
    *,
    max_retries: int = 2,
    config: GenerateConfig | None = None,
    clean: Callable[[str], str] | None = None,
    empty_error: str = "empty reply",
) -> Written:
    """A validated `response_model` (dumped to a dict), or with no model the reply text (`clean`ed)."""
    if response_model is not None:
        verdict = await ask_verdict(model, input, response_model, max_retries=max_retries, config=config)
        return Written(verdict.value.model_dump(), None) if verdict.value else Written(None, verdict.error)
    output = await model.generate(input, config=config or GenerateConfig())
    text = clean(output.completion) if clean else output.completion.strip()
    return Written(text, None) if text else Written(None, empty_error)


def structured_writer(
    response_model: type[BaseModel] | Callable[[TaskState], type[BaseModel] | None] | None,
    *,
    role: str | None = None,
    max_retries: int = 2,
    seed_key: str | None = None,
    clean: Callable[[str], str] | None = None,
    empty_error: str = "empty reply",
) -> Solver:
    """A solver body that writes from the sample's messages and stores the result.

    Wrap it in an ``@solver`` factory (which names it in the registry).

    Args:
        response_model: the pydantic type to write, a function of the sample choosing it (None
            for free text), or None for free text always.
        role: a model role to write with (required when given); default the model under evaluation.
        max_retries: re-asks when a reply does not validate.
        seed_key: a metadata field with the sample's generation seed (reproducible per sample).
        clean: post-processing of free text (an empty result is the error `empty_error`).
    """
    if role:
        needs_role(role)  # checked while the task is built, before any sample generates

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model(role=role, required=True) if role else get_model()
        chosen = response_model(state) if callable(response_model) and not isinstance(response_model, type) else response_model
        config = GenerateConfig(seed=int(state.metadata[seed_key])) if seed_key else None
        written = await write(
            model, state.messages, chosen, max_retries=max_retries, config=config, clean=clean, empty_error=empty_error
        )
        text = written.value if isinstance(written.value, str) else json.dumps(written.value) if written.value is not None else ""
        state.output = ModelOutput.from_content(str(model), text)
        state.store.set(WRITTEN, written.value)
        state.store.set(WRITE_ERROR, written.error)
        return state

    return solve


def written_score(state: TaskState) -> Score:
    """CORRECT when something valid was written, else INCORRECT with the reason."""
    error = state.store.get(WRITE_ERROR)
    return Score(value=INCORRECT if error else CORRECT, explanation=error or "valid")


def read_written(log: EvalLog, what: str) -> dict[str, Written]:
    """Sample id -> what the writer of `log` produced (RuntimeError when the eval did not succeed)."""
    if log.status != "success":
        message = log.error.message if log.error else log.status
        raise RuntimeError(f"the {what} eval ended with status {log.status} ({message}); log: {log.location}")
    return {
        str(s.id): Written(s.store.get(WRITTEN), s.store.get(WRITE_ERROR)) for s in log.samples or []
    }
