"""Chats to token ids and labels: the loss falls on assistant tokens only.

Each assistant turn is cut out of the rendered chat at the same place inference cuts it: the
conversation before it is rendered with the generation prompt (`render_turns`, the provider's own
rendering), and everything the template adds after that prefix up to the end of the turn (the
answer and its end-of-turn tokens, so the model learns to stop) is labelled. System and user
turns and the generation prompt get label -100. Segments are tokenised separately and
concatenated, as the provider concatenates prompt and generated ids.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from persona_evals.datasets.chats import Chat, ChatFileError
from persona_evals.steering.chat import folds_system, render_turns

IGNORE = -100  # label of tokens that carry no loss (torch's cross_entropy ignore_index)


@dataclass(frozen=True)
class Encoded:
    """One chat as model input: token ids and labels (IGNORE outside assistant turns)."""

    line: int
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    truncated: bool = False

    @property
    def n_labels(self) -> int:
        return sum(label != IGNORE for label in self.labels)


def encode_chat(tokenizer: Any, chat: Chat, max_len: int) -> Encoded:
    """Token ids and assistant-only labels of `chat`, cut to `max_len` tokens."""
    turns = list(chat.messages)
    if folds_system(tokenizer, turns):
        raise ChatFileError(
            f"line {chat.line}: a system message, but the model's chat template has no system role; "
            "put its text at the start of the user turn"
        )
    ids: list[int] = []
    labels: list[int] = []
    done = ""  # the rendered text already turned into tokens

    def add(text: str, learn: bool) -> None:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        ids.extend(piece)
        labels.extend(piece if learn else [IGNORE] * len(piece))

    for i, turn in enumerate(turns):
        full = render_turns(tokenizer, turns[: i + 1], add_generation_prompt=False)
        if turn["role"] == "assistant":
            prefix = render_turns(tokenizer, turns[:i], add_generation_prompt=True)
            _check_prefix(done, prefix, chat, i)
            _check_prefix(prefix, full, chat, i)
            add(prefix[len(done) :], learn=False)
            answer = full[len(prefix) :]
            if not getattr(tokenizer, "chat_template", None) and tokenizer.eos_token:
                answer += tokenizer.eos_token  # the plain transcript has no end-of-turn marker
            add(answer, learn=True)
        else:
            _check_prefix(done, full, chat, i)
            add(full[len(done) :], learn=False)
        done = full
    truncated = len(ids) > max_len
    return Encoded(chat.line, tuple(ids[:max_len]), tuple(labels[:max_len]), truncated)


def encode_chats(tokenizer: Any, chats: Sequence[Chat], max_len: int) -> tuple[list[Encoded], list[int]]:
    """Encode every chat; return (usable, lines of chats whose assistant tokens were all cut off)."""
    encoded: list[Encoded] = []
    cut_off: list[int] = []
    for chat in chats:
        e = encode_chat(tokenizer, chat, max_len)
        if e.n_labels:
            encoded.append(e)
        else:
            cut_off.append(chat.line)
    return encoded, cut_off


def split_eval(items: Sequence[Encoded], fraction: float, seed: int) -> tuple[list[Encoded], list[Encoded]]:
    """(train, eval): a seeded draw of round(fraction · n) chats held out (at least one if fraction > 0)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"eval fraction must be in [0, 1), got {fraction}")
    n_eval = max(1, round(fraction * len(items))) if fraction > 0 and len(items) > 1 else 0
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


def _check_prefix(prefix: str, text: str, chat: Chat, turn: int) -> None:
    if not text.startswith(prefix):
        raise ChatFileError(
            f"line {chat.line}: the chat template renders message {turn} in a way that rewrites earlier "
            "turns (e.g. it strips reasoning from past answers), so assistant tokens cannot be located; "
            "train on single-turn chats for this model"
        )
