"""Screening finetuning data before training: projection and projection difference per chat.

The paper predicts the finetuning shift from the data alone. For each chat (prompt x, training
answer y): `proj` is the mean response activation of (x, y) projected on v̂; `base_proj` the same
for the base model's own answer to x; `proj_diff = proj − base_proj`, i.e. how much further
along the trait the training answer sits than what the model would say anyway. Chats with a
large projection difference carry the shift; `--keep-below X` drops them. The base answers are
generated through the `steer` provider in a logged inspect eval (`training.pipeline.base_answers`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from persona_evals.datasets.chats import Chat
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.project import project_rows
from persona_evals.steering.vectors import LoadedVector


def column(vector: LoadedVector, kind: str, layer: int) -> str:
    """The CSV column of a projection kind (`proj`, `base_proj`, `proj_diff`, ...) at a layer."""
    return f"{Path(vector.path).stem}_{kind}_layer{layer}"


def chat_rows(chats: list[Chat], answers: list[str] | None = None) -> list[tuple[str, int, list[Any], str, dict[str, Any]]]:
    """`project_rows` input: (id, epoch, prompt messages, answer, extra columns) per chat."""
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

    kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
    rows = []
    for i, c in enumerate(chats):
        messages = [kinds[m["role"]](content=m["content"]) for m in c.prompt]
        answer = c.answer if answers is None else answers[i]
        rows.append((str(c.record.get("id", f"line{c.line}")), 1, messages, answer, {"line": c.line}))
    return rows


def screen_rows(
    shared: SharedModel,
    chats: list[Chat],
    vector: LoadedVector,
    layers: list[int],
    base: list[str] | None = None,
    batch_size: int = 8,
) -> list[dict[str, Any]]:
    """`vectors project` columns per chat, plus `base_proj` and `proj_diff` when `base` answers are given."""
    rows = project_rows(shared, chat_rows(chats), vector, layers, batch_size)
    if base is None:
        return rows
    base_rows = project_rows(shared, chat_rows(chats, base), vector, layers, batch_size)
    for row, b in zip(rows, base_rows, strict=True):
        for layer in layers:
            proj = column(vector, "proj", layer)
            row[column(vector, "base_proj", layer)] = b[proj]
            row[column(vector, "proj_diff", layer)] = row[proj] - b[proj]
    return rows


def keep_below(chats: list[Chat], rows: list[dict[str, Any]], key: str, threshold: float) -> list[Chat]:
    """The chats whose `key` value is below `threshold` (NaN, e.g. an empty answer, is dropped)."""
    return [c for c, r in zip(chats, rows, strict=True) if r[key] < threshold]
