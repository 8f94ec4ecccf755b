"""Answer parsing: the displayed letter by an ``Answer:`` line, a bare letter, or the option text.

``**Answer:** B`` and ``Answer: (B)`` parse; a reply's first character is not taken as a choice.
Only letters actually shown are accepted; anything else is invalid and counted apart by the
scorer.
"""

from __future__ import annotations

import re
from typing import Literal

Method = Literal["answer_line", "bare_letter", "option_text", "invalid"]

_ANSWER = re.compile(
    r"answer\s*(?:is)?\s*[:\-=]?\s*[\(\[]?\s*([A-Za-z])\s*[\)\]]?(?![A-Za-z])", re.IGNORECASE
)
_BARE = re.compile(r"^\W*([A-Z])\W*$")
_LEADING = re.compile(r"^\s*[\(\[]?([A-Z])[\)\]:.]\s")
_REASONING = re.compile(r"reasoning\s*:\s*(.+?)(?:\n\s*\n|\n?\s*answer\s*:|$)", re.IGNORECASE | re.DOTALL)


def parse_answer(text: str, shown: dict[str, str]) -> tuple[str | None, Method]:
    """The displayed letter chosen in `text`, and how it was found.

    Args:
        text: the model's reply.
        shown: displayed letter -> option text, as in the prompt.

    Example:
        >>> parse_answer("**Answer:** (B)", {"A": "Yes", "B": "No"})
        ('B', 'answer_line')
    """
    clean = text.replace("*", "").replace("_", " ").strip()
    hits = [m.group(1).upper() for m in _ANSWER.finditer(clean) if m.group(1).upper() in shown]
    if hits:
        return hits[-1], "answer_line"
    for pattern in (_BARE, _LEADING):
        m = pattern.match(clean)
        if m and m.group(1) in shown:
            return m.group(1), "bare_letter"
    lowered = clean.lower()
    found = [
        letter for letter, option in shown.items()
        if re.search(r"(?<![a-z0-9])" + re.escape(option.lower()) + r"(?![a-z0-9])", lowered)
    ]  # fmt: skip
    # an option whose text contains another's ("agree" in "strongly agree") must not count twice
    found = [f for f in found if not any(f != g and shown[f].lower() in shown[g].lower() for g in found)]
    if len(found) == 1:
        return found[0], "option_text"
    return None, "invalid"


def extract_reasoning(text: str) -> str:
    """The text after ``Reasoning:`` (up to the answer line), else the reply minus its answer line."""
    clean = text.replace("*", "").strip()
    m = _REASONING.search(clean)
    if m and m.group(1).strip():
        return " ".join(m.group(1).split())
    lines = [ln for ln in clean.splitlines() if not _ANSWER.search(ln)]
    return " ".join(" ".join(lines).split())
