"""Answer extraction for multiple-choice letters and GSM8K numbers.

Each extractor returns ``(answer, how)``: the answer (or ``None``) and a short reason that the
scorers put in the explanation, so an unextractable reply is scored incorrect *with its reason*.
"""

from __future__ import annotations

import re
from collections import Counter
from string import ascii_uppercase

_MISSING = "no answer could be extracted"


def choice_letters(n_options: int) -> str:
    """The letters an item may be answered with: A up to its last option (never beyond it).

    An MMLU-Pro item with three options accepts A-C, not A-J.
    """
    if not 1 <= n_options <= 26:
        raise ValueError(f"n_options must be between 1 and 26, got {n_options}")
    return ascii_uppercase[:n_options]


def extract_choice(text: str, n_options: int) -> tuple[str | None, str]:
    """The option letter a reply commits to, by the paper's ordered rules (first match wins).

    The text is flattened first (newlines become spaces; ``#`` and ``:`` are dropped), then:
    1. a boxed letter ``\\boxed{B}``; 2. "(B) is (the) correct"; 3. "(B) is the answer/solution";
    4. "answer is (B)"; 5. "solution is (B)"; 6. "Answer (B)" (also "Answer: B");
    7. the whole reply is one letter; 8. the parenthesised letter when only one is used, else the
    most frequent one (the first seen wins ties); 9. the most frequent standalone letter followed
    by ``.``, ``)`` or a space; otherwise no answer.

    Example:
        >>> extract_choice("Let me think.\\nThe answer is (C).", 4)
        ('C', "rule 4 'answer is (X)'")
    """
    letters = choice_letters(n_options)
    flat = text.replace("\n", " ").replace("#", "").replace(":", "")
    cls = f"[{letters}]"
    opt = rf"(?<![A-Za-z])\(?({cls})\)?(?![A-Za-z])"
    ordered = [
        ("boxed letter", rf"\\boxed\{{\s*(?:\\text\{{)?\s*\(?({cls})\)?\s*\}}?\s*\}}"),
        ("'(X) is correct'", rf"{opt}\s+is\s+(?:the\s+)?correct"),
        ("'(X) is the answer'", rf"{opt}\s+is\s+the\s+(?:answer|solution)"),
        ("'answer is (X)'", rf"[Aa]nswer\s+is\s+{opt}"),
        ("'solution is (X)'", rf"[Ss]olution\s+is\s+{opt}"),
        ("'Answer (X)'", rf"[Aa]nswer\s+{opt}"),
        ("single letter", rf"^\s*\(?({cls})\)?\.?\s*$"),
    ]
    for number, (name, pattern) in enumerate(ordered, start=1):
        match = re.search(pattern, flat)
        if match:
            return match.group(1), f"rule {number} {name}"
    bracketed = re.findall(rf"\(({cls})\)", flat)
    if bracketed:
        return _most_frequent(bracketed), "rule 8 parenthesised letter"
    standalone = re.findall(rf"(?<![A-Za-z])({cls})(?=[.) ])", flat)
    if standalone:
        return _most_frequent(standalone), "rule 9 standalone letter"
    return None, f"{_MISSING}: no option letter {letters[0]}-{letters[-1]} in the reply"


def _most_frequent(found: list[str]) -> str:
    """Most frequent item; ties go to the one seen first (Counter keeps insertion order)."""
    counts = Counter(found)
    best = max(counts.values())
    return next(letter for letter in counts if counts[letter] == best)


# a minus sign counts only when it does not follow a digit ("5-3" ends in 3, not -3)
_NUMBER_TOKEN = re.compile(r"(?<!\d)-?\$?-?\d[\d,.]*")


def extract_last_number(text: str) -> tuple[float | None, str]:
    """The last number-like token of a reply, as a float (``,``, ``$`` and trailing dots removed).

    Never raises: a token that is not a number once cleaned (``1.2.3``) is skipped with a note.
    Negative signs are kept.

    Example:
        >>> extract_last_number("It costs $1,250.")
        (1250.0, "last number '$1,250.'")
    """
    skipped: list[str] = []
    for token in reversed(_NUMBER_TOKEN.findall(text)):
        cleaned = token.replace(",", "").replace("$", "").rstrip(".")
        try:
            value = float(cleaned)
        except ValueError:
            skipped.append(token)
            continue
        note = f"last number {token!r}"
        if skipped:
            note += f" (skipped unparseable {', '.join(map(repr, reversed(skipped)))})"
        return value, note
    if skipped:
        return None, f"{_MISSING}: only unparseable number-like tokens {skipped}"
    return None, f"{_MISSING}: the reply contains no number"


def parse_gsm8k_target(answer: str) -> float:
    """The gold number after ``####`` in a GSM8K ``answer`` field (``,`` and ``$`` removed)."""
    if "####" not in answer:
        raise ValueError(f"GSM8K answer has no '####' line: {answer[-80:]!r}")
    tail = answer.rsplit("####", 1)[1].strip().replace(",", "").replace("$", "")
    return float(tail)
