"""Simulation prompts (our own wording): persona as system message, question as user message."""

from __future__ import annotations

ROLE_SYSTEM = (
    "You are answering a survey as the person described below, not as an AI assistant. Answer the "
    "way this person would, given their life, work, money, values and political leanings; do not "
    "substitute your own views, and do not soften an answer to seem agreeable. Always choose one of "
    "the listed options.\n\nThe person:\n{persona}"
)

FAST_INSTRUCTION = "Reply with one line, `Answer: <letter>`, where the letter is one of {letters}."

REASONING_INSTRUCTION = (
    "First write `Reasoning:` followed by two or three sentences in this person's voice, thinking "
    "about their own situation rather than stereotypes about people like them. Then write a final "
    "line `Answer: <letter>`, where the letter is one of {letters}."
)

PEERS_BLOCK = (
    "Before you answer, here is what some other people from {state_name} said about this question. "
    "Weigh their reasons, but you do not have to agree with them.\n\n{peers}"
)

QUESTION_TEMPLATE = "{topic}\n\n{question}Options:\n\n{options}"


def question_text(topic: str, question: str | None, shown: dict[str, str]) -> str:
    """The question block with options in displayed order, one ``<letter>: <option>`` per line."""
    options = "\n\n".join(f"{letter}: {text}" for letter, text in shown.items())
    return QUESTION_TEMPLATE.format(
        topic=topic, question=f"{question}\n\n" if question else "", options=options
    )


def letters_phrase(letters: list[str]) -> str:
    return ", ".join(letters[:-1]) + f" or {letters[-1]}" if len(letters) > 1 else letters[0]
