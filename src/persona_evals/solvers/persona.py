"""Showing a persona to the model: one text, placed as a system message or in the user turn.

Every benchmark that shows a persona goes through `show_persona` (the `persona_message` solver for
persona_accuracy, the generate modes of PERSONA Bench, the simulator of opinion_simulation):

- ``system``: a system message before the conversation;
- ``user``: the persona text, a blank line, then the first user turn;
- ``auto``: ``user`` when the chat template has no system role, else ``system``. For local models
  (`steer`, `hf`) the template itself is checked; for API models, whose templates we cannot see,
  the model name decides (Gemma has no system role). The choice is recorded in the sample store
  (``persona_placement``), because the anchor of persona_accuracy mixed placements silently.

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


def resolve_placement(placement: str, model_name: str, tokenizer: Any = None) -> Literal["system", "user"]:
    """`system` or `user` for a model; `auto` is `user` for templates without a system role."""
    if placement == "auto":
        if tokenizer is not None:
            from persona_evals.steering.chat import supports_system_role

            return "system" if supports_system_role(tokenizer) else "user"
        return "user" if any(key in model_name.lower() for key in NO_SYSTEM_ROLE) else "system"
    if placement not in ("system", "user"):
        raise ValueError(f"persona_placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
    return placement  # type: ignore[return-value]


def show_persona(messages: list[ChatMessage], text: str, where: Literal["system", "user"]) -> list[ChatMessage]:
    """`messages` with the persona `text` as a leading system message or before the first user turn."""
    if where == "system":
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
        model = get_model()
        where = resolve_placement(placement, model.name, local_tokenizer(model))
        state.store.set("persona_placement", where)
        if text is None and absent is None:
            return state
        shown = absent if text is None else template.replace(PERSONA_SLOT, text)
        state.messages = show_persona(state.messages, shown, where)
        return state

    return solve


def local_tokenizer(model: Any) -> Any:
    """The tokenizer of a local model (`steer` or inspect's `hf`), else None."""
    api = model.api
    shared = getattr(api, "shared", None)
    return getattr(shared, "tokenizer", None) or getattr(api, "tokenizer", None)
