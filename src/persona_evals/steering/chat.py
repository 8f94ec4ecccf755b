"""Render inspect chat messages to a prompt string with the model's own chat template."""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ChatMessage

PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def render_prompt(tokenizer: Any, messages: list[ChatMessage]) -> str:
    """The templated prompt, ending with the assistant's generation prompt.

    Tokenise the result with ``add_special_tokens=False``: the template already holds any BOS,
    so none is doubled.
    """
    turns = []
    for m in messages:
        if m.role == "tool":
            raise ValueError("the steer provider does not support tool messages")
        turns.append({"role": m.role, "content": m.text})
    return render_turns(tokenizer, turns, add_generation_prompt=True)


def render_turns(tokenizer: Any, turns: list[dict[str, str]], add_generation_prompt: bool) -> str:
    """Role/content dicts through the model's chat template (the one rendering training and
    inference share, so a finetuned model sees the prompts it was trained on).

    Templates without a system role (e.g. Gemma) raise on a system message: we then fold the
    system text into the first user turn. Tokenizers without a chat template get a plain
    ``Role: text`` transcript.
    """
    if not getattr(tokenizer, "chat_template", None):
        lines = [f"{PLAIN_ROLES[t['role']]}: {t['content']}" for t in turns]
        return "\n\n".join(lines + (["Assistant:"] if add_generation_prompt else []))
    try:
        return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception as ex:
        if not turns or turns[0]["role"] != "system" or "system" not in str(ex).lower():
            raise
        system, rest = turns[0]["content"], list(turns[1:])
        if rest and rest[0]["role"] == "user":
            rest[0] = {"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}
        else:
            rest.insert(0, {"role": "user", "content": system})
        return tokenizer.apply_chat_template(rest, tokenize=False, add_generation_prompt=add_generation_prompt)


def supports_system_role(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template renders a system message (Gemma's raises)."""
    if not getattr(tokenizer, "chat_template", None):
        return True  # the plain transcript fallback has a System line
    try:
        tokenizer.apply_chat_template(
            [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
            tokenize=False,
            add_generation_prompt=True,
        )
    except Exception:
        return False
    return True
