"""Persona placement solvers: the persona sentence as a system message or in the user turn.

``placement="auto"`` puts it in the user turn when the chat template has no system role, and in a
system message otherwise. For local models (`steer`, `hf`) the template itself is checked; for
API models, whose templates we cannot see, the model name decides (Gemma has no system role); the choice is logged in the sample store
(``persona_placement``), because the anchor mixed placements across models silently.
"""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.model import ChatMessageSystem, ChatMessageUser, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from persona_evals.accuracy.prompts import with_constraints

Placement = Literal["system", "user", "auto"]
PLACEMENTS: tuple[str, ...] = ("system", "user", "auto")
NO_SYSTEM_ROLE: tuple[str, ...] = ("gemma",)


def resolve_placement(
    placement: str, model_name: str, tokenizer: Any = None
) -> Literal["system", "user"]:
    """`system` or `user` for a model; `auto` is `user` for templates without a system role."""
    if placement == "auto":
        if tokenizer is not None:
            from persona_evals.steering.chat import supports_system_role

            return "system" if supports_system_role(tokenizer) else "user"
        return "user" if any(key in model_name.lower() for key in NO_SYSTEM_ROLE) else "system"
    if placement not in ("system", "user"):
        raise ValueError(
            f"persona_placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}"
        )
    return placement  # type: ignore[return-value]


def persona_sentence(state: TaskState) -> str | None:
    """The persona text of a sample (None for the empty persona); dynamic experts fill it in."""
    return state.metadata.get("persona_sentence")


@solver
def persona_message(placement: Placement = "system", instruction: bool = False) -> Solver:
    """Add the sample's persona sentence (plus the mitigation constraints when `instruction`).

    Args:
        placement: ``system`` message, prepended to the ``user`` turn, or ``auto``.
        instruction: append the `instruction` mitigation's constraints to the persona sentence.
    """
    resolve_placement(placement, "")  # validate eagerly

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        sentence = persona_sentence(state)
        model = get_model()
        where = resolve_placement(placement, model.name, _local_tokenizer(model))
        state.store.set("persona_placement", where)
        if sentence is None:  # the empty persona: the bare task
            return state
        text = with_constraints(sentence) if instruction else sentence
        if where == "system":
            state.messages.insert(0, ChatMessageSystem(content=text))
        else:
            user = next(i for i, m in enumerate(state.messages) if isinstance(m, ChatMessageUser))
            state.messages[user] = ChatMessageUser(content=f"{text}\n\n{state.messages[user].text}")
        return state

    return solve


def _local_tokenizer(model: Any) -> Any:
    """The tokenizer of a local model (`steer` or inspect's `hf`), else None."""
    api = model.api
    shared = getattr(api, "shared", None)
    return getattr(shared, "tokenizer", None) or getattr(api, "tokenizer", None)
