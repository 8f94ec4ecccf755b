"""Showing a persona to the model: one text, placed as a system message or in the user turn.

Every benchmark that shows a persona goes through `show_persona` (the `persona_message` solver for
persona_accuracy and trait_expression's instructions, the generate modes of PERSONA Bench, the
simulator of opinion_simulation):

- ``system``: a system message before the conversation;
- ``user``: the persona text, a blank line, then the first user turn;
- ``auto``: ``user`` when the chat template has no system role, else ``system``. For local models
  (`steer`, `hf`) the template itself is checked; for API models, whose templates we cannot see,
  the model name decides (Gemma has no system role).

The choice is recorded in the sample store (``persona_placement``) and is what the model saw:
``system`` for a local model whose template has no system role is an error, never a system
message folded silently into the user turn.

Which text to show stays with the benchmark (a persona sentence, a rendered attribute block in a
prompt, an LLM-written tier): the benchmarks' personas are different things (`Persona` attributes,
opinion's `PersonaRecord` tiers, persona_accuracy's catalog sentences), and they meet here as text.
"""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.model import ChatMessage, ChatMessageSystem, ChatMessageUser, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

Placement = Literal["system", "user", "auto"]
PLACEMENTS: tuple[str, ...] = ("system", "user", "auto")
NO_SYSTEM_ROLE: tuple[str, ...] = ("gemma",)
PERSONA_SLOT = "{persona}"
PLACEMENT_KEY = "persona_placement"  # the sample store's record of where the persona was shown


def resolve_placement(placement: str, model_name: str, tokenizer: Any = None) -> Literal["system", "user"]:
    """`system` or `user` for a model; `auto` is `user` for templates without a system role.

    Raises:
        ValueError: an unknown placement, or `system` for a local model (`tokenizer` given)
            whose chat template has no system role.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"persona_placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
    if placement == "user":
        return "user"
    if tokenizer is not None:
        from persona_evals.steering.chat import supports_system_role

        if supports_system_role(tokenizer):
            return "system"
        if placement == "system":
            raise ValueError(
                f"persona_placement=system: the chat template of {model_name} has no system role, so the "
                "persona would reach the model inside the user turn; use persona_placement=user (or auto)"
            )
        return "user"
    if placement == "auto" and any(key in model_name.lower() for key in NO_SYSTEM_ROLE):
        return "user"
    return "system"


def show_persona(messages: list[ChatMessage], text: str, where: Literal["system", "user"]) -> list[ChatMessage]:
    """`messages` with the persona `text` as a leading system message or before the first user turn.

    Raises:
        ValueError: `system`, but `messages` hold a system message already (a second one would
            hide or contradict it).
    """
    if where == "system":
        if any(m.role == "system" for m in messages):
            raise ValueError("the conversation already has a system message: the persona cannot be a second one")
        return [ChatMessageSystem(content=text), *messages]
    shown = list(messages)
    user = next(i for i, m in enumerate(shown) if isinstance(m, ChatMessageUser))
    shown[user] = ChatMessageUser(content=f"{text}\n\n{shown[user].text}")
    return shown


@solver
def persona_message(
    placement: Placement = "system", template: str = PERSONA_SLOT, key: str = "persona_sentence", absent: str | None = None
) -> Solver:
    """Show the sample's persona text (``metadata[key]``), filled into `template`, to the model.

    A sample whose text is missing or None gets no persona (the bare task, e.g. the empty persona),
    or, given `absent`, that text as is (not filled into `template`), placed like a persona.

    Args:
        placement: ``system`` message, before the ``user`` turn, or ``auto`` (see the module).
        template: text around the persona, with one ``{persona}`` slot (other braces are kept).
        key: the metadata field that holds the persona text.
        absent: text shown to samples without a persona (e.g. a neutral system prompt, so a chat
            template that injects its own default system prompt when there is none does not).
    """
    resolve_placement(placement, "")  # validate eagerly
    if PERSONA_SLOT not in template:
        raise ValueError(f"template must contain {PERSONA_SLOT}, got {template!r}")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        text = state.metadata.get(key)
        shown = absent if text is None else template.replace(PERSONA_SLOT, text)
        state.messages = place_persona(state, state.messages, shown, placement)
        return state

    return solve


def place_persona(
    state: TaskState, messages: list[ChatMessage], text: str | None, placement: Placement = "auto"
) -> list[ChatMessage]:
    """`messages` with the persona `text` where `placement` resolves for the model being evaluated
    (`resolve_placement`); the placement goes to the sample store (``persona_placement``), also
    when `text` is None (no persona: `messages` as they are)."""
    model = get_model()
    where = resolve_placement(placement, model.name, local_tokenizer(model))
    state.store.set(PLACEMENT_KEY, where)
    return messages if text is None else show_persona(messages, text, where)


def local_tokenizer(model: Any) -> Any:
    """The tokenizer of a local model (the `tokenizer` of `steer`'s and inspect's `hf` APIs), else None."""
    return getattr(model.api, "tokenizer", None)
