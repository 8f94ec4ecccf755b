"""Chat JSONL: one conversation per line, ``{"messages": [{"role": ..., "content": ...}, ...]}``.

This is the format transformers' chat templates and trl read, and the persona-vectors paper's
finetuning data (optional leading system message, then user/assistant turns). Reading checks
every line and names the file and line of the first problem; other keys of a line are kept, so a
screened file is written back line for line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("system", "user", "assistant")


class ChatFileError(ValueError):
    """A chat JSONL file is missing, empty or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Chat:
    """One line of a chat file: its messages (role, content) and the whole JSON object."""

    line: int
    messages: tuple[dict[str, str], ...]
    record: dict[str, Any]

    @property
    def prompt(self) -> list[dict[str, str]]:
        """Every message before the last one (the context a final answer responds to)."""
        return list(self.messages[:-1])

    @property
    def answer(self) -> str:
        """The content of the last message (an assistant turn, see `read_chats`)."""
        return self.messages[-1]["content"]


def read_chats(path: str | Path, last_is_assistant: bool = False) -> list[Chat]:
    """Read and validate a chat JSONL file (blank lines are skipped).

    Every chat needs at least one assistant turn; with `last_is_assistant`, the last message
    must be one (projection and screening read the final answer).
    """
    p = Path(path)
    if not p.is_file():
        raise ChatFileError(f"{path}: no such file")
    chats = []
    with p.open(encoding="utf-8") as f:
        for n, text in enumerate(f, start=1):
            if text.strip():
                chats.append(_parse(text, f"{path}:{n}", n, last_is_assistant))
    if not chats:
        raise ChatFileError(f"{path}: the file holds no chat (one JSON object per line expected)")
    return chats


def write_chats(path: str | Path, chats: Iterable[Mapping[str, Any]], overwrite: bool = False) -> int:
    """Write one JSON object per line, atomically; refuse an existing file unless `overwrite`."""
    from persona_evals.paths import write_text_atomic

    lines = [json.dumps(c, ensure_ascii=False) for c in chats]
    write_text_atomic(path, "".join(line + "\n" for line in lines), overwrite=overwrite)
    return len(lines)


def chat_record(messages: Sequence[Mapping[str, str]], **extra: Any) -> dict[str, Any]:
    """A line of a chat file: ``{"messages": [...], **extra}`` with only role and content kept."""
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in messages], **extra}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parse(text: str, where: str, n: int, last_is_assistant: bool) -> Chat:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as ex:
        raise ChatFileError(f"{where}: not valid JSON ({ex.msg})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list) or not obj["messages"]:
        raise ChatFileError(f'{where}: expected an object with a non-empty "messages" list')
    messages = []
    for i, m in enumerate(obj["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ChatFileError(
                f"{where}: message {i} must be an object with a role in {list(ROLES)} and a string content"
            )
        messages.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "assistant" for m in messages):
        raise ChatFileError(f"{where}: the chat has no assistant turn (nothing to learn or project)")
    if messages[0]["role"] == "assistant":  # the prompt before it would be an empty conversation
        raise ChatFileError(f"{where}: the chat starts with the assistant; put a user (or system) message before its answer")
    if last_is_assistant and messages[-1]["role"] != "assistant":
        raise ChatFileError(f"{where}: the last message must be the assistant's answer")
    return Chat(line=n, messages=tuple(messages), record=obj)
