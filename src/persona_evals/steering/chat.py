"""Render inspect chat messages to a prompt string with the model's own chat template."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from inspect_ai.model import ChatMessage

PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}
# tokenizer -> (its chat template, whether it renders a system message); weak keys (a freed
# tokenizer's entry goes with it), the template kept so a changed template is asked again
_SYSTEM_ROLE: weakref.WeakKeyDictionary[Any, tuple[str, bool]] = weakref.WeakKeyDictionary()


def render_prompt(tokenizer: Any, messages: list[ChatMessage]) -> str:
    """The prompt the `steer` provider gives the model for `messages`, ending with the assistant's
    generation prompt (`render_turns`; a system message the template cannot show is folded into the
    user turn, which the provider records in the output's metadata).

    Tokenise the result with ``add_special_tokens=False``: the template already holds any BOS,
    so none is doubled.
    """
    turns = []
    for m in messages:
        if m.role == "tool":
            raise ValueError("the steer provider does not support tool messages")
        turns.append({"role": m.role, "content": m.text})
    return render_turns(tokenizer, turns, add_generation_prompt=True, fold_system=True)


class NoSystemRoleError(ValueError):
    """A system message for a chat template that has no system role."""


def render_turns(
    tokenizer: Any, turns: list[dict[str, str]], add_generation_prompt: bool, fold_system: bool = False
) -> str:
    """Role/content dicts through the model's chat template (the one rendering training and
    inference share, so a finetuned model sees the prompts it was trained on).

    A template without a system role (e.g. Gemma's) cannot render a leading system message: that
    is a `NoSystemRoleError`, unless `fold_system`, which puts the system text, a blank line, then
    the first user turn, as the ``user`` persona placement does (`persona_evals.solvers.persona`);
    a caller that folds records that it did (`folds_system`). Tokenizers without a chat template
    get a plain ``Role: text`` transcript.
    """
    if not getattr(tokenizer, "chat_template", None):
        lines = [f"{PLAIN_ROLES[t['role']]}: {t['content']}" for t in turns]
        return "\n\n".join(lines + (["Assistant:"] if add_generation_prompt else []))
    if folds_system(tokenizer, turns):
        if not fold_system:
            raise NoSystemRoleError(
                "the model's chat template has no system role, so it cannot show the system message "
                f"{turns[0]['content'][:60]!r}: put that text at the start of the user turn"
            )
        system, rest = turns[0]["content"], list(turns[1:])
        if rest and rest[0]["role"] == "user":
            rest[0] = {"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}
        else:
            rest.insert(0, {"role": "user", "content": system})
        turns = rest
    return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=add_generation_prompt)


def folds_system(tokenizer: Any, turns: Sequence[Mapping[str, Any]] | Sequence[ChatMessage]) -> bool:
    """Whether `turns` open with a system message the tokenizer's template cannot render."""
    if not turns:
        return False
    first = turns[0]
    role = first["role"] if isinstance(first, Mapping) else first.role
    return role == "system" and not supports_system_role(tokenizer)


def supports_system_role(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template renders a system message (Gemma's raises); asked
    once per tokenizer and template."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return True  # the plain transcript fallback has a System line
    known = _SYSTEM_ROLE.get(tokenizer)
    if known is not None and known[0] == template:
        return known[1]
    try:
        tokenizer.apply_chat_template(
            [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
            tokenize=False,
            add_generation_prompt=True,
        )
    except Exception:
        supported = False
    else:
        supported = True
    _SYSTEM_ROLE[tokenizer] = (template, supported)
    return supported
