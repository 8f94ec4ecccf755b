"""Structured verdicts: one route for every judge that answers with a pydantic object.

`persona_evals.structured.ask_verdict` asks a model for a validated instance (re-asking on
validation errors) and hands back the instance or the reason it never validated, without raising;
`structured_judge` is the scorer body built on it: resolve the judge's model role inside the scorer (so ``--model-role``
binds it, and the model under evaluation never grades itself), build the request from the sample,
ask, and map the verdict to a `Score`. A verdict that never validates leaves the sample unscored
(``grader_failed``) with the reason and the judge's last reply, never a silent 0.

Used by the PERSONA Bench critic, pairwise, subtlety and fidelity scorers; the census calibration
verifier of the opinion benchmark and the writer tasks (`persona_evals.solvers.writer`) use
`ask_verdict` directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from inspect_ai.model import ChatMessage, Model, get_model
from inspect_ai.scorer import Score, Scorer, Target
from inspect_ai.solver import TaskState
from pydantic import BaseModel

from persona_evals.args import needs_role
from persona_evals.structured import ask_verdict

T = TypeVar("T", bound=BaseModel)


@dataclass
class JudgeRequest:
    """What to ask the judge for one sample, the answer being judged, and metadata to keep."""

    input: str | list[ChatMessage]
    answer: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


# builds the request for a sample (it may call the judge first, e.g. for a debate), or returns
# a Score when the judge does not apply to the sample (unscored with the reason)
RequestBuilder = Callable[[TaskState, Model], Awaitable["JudgeRequest | Score"]]


def structured_judge(
    request: RequestBuilder,
    response_model: type[T],
    to_score: Callable[[T, JudgeRequest], Score],
    *,
    role: str,
    name: str,
    max_retries: int = 2,
) -> Scorer:
    """A scorer body: `request` -> the `role` model's `response_model` verdict -> `to_score`.

    Wrap it in an ``@scorer`` factory (which gives the registry name and metrics). The request's
    metadata is merged into the score's; an invalid verdict is unscored with the explanation
    ``"<name> invalid: <reason>"``.

    Args:
        request: builds the judge's input for a sample (see `RequestBuilder`).
        response_model: the pydantic verdict the judge must return.
        to_score: maps a valid verdict (and its request) to the sample's `Score`.
        role: the judge's model role (required: bind it with ``--model-role <role>=<model>``).
        name: what the verdict is called in explanations (``critic verdict``).
        max_retries: re-asks when a reply does not validate.
    """
    needs_role(role)  # checked while the task is built, before any sample generates

    async def score(state: TaskState, target: Target) -> Score:
        judge = get_model(role=role, required=True)
        built = await request(state, judge)
        if isinstance(built, Score):
            return built
        verdict = await ask_verdict(judge, built.input, response_model, max_retries=max_retries)
        if verdict.value is None:
            return Score.unscored(
                reason="grader_failed",
                answer=built.answer,
                explanation=f"{name} invalid: {verdict.error}",
                metadata={**built.metadata, "last_text": verdict.last_text},
            )
        result = to_score(verdict.value, built)
        if built.metadata:
            result.metadata = {**built.metadata, **(result.metadata or {})}
        return result

    return score


def not_applicable(why: str) -> Score:
    """The unscored score of a sample the judge does not apply to (e.g. baseline mode)."""
    return Score.unscored(reason="scoring_failed", explanation=why)


