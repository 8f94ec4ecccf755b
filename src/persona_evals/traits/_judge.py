"""Turning a 0-100 judge's first-token distribution into a score (pure functions, no I/O).

The judge is asked for a single token. Its top alternatives form a distribution over answers;
the score is the probability-weighted mean of the alternatives that are integers 0-100,
renormalised over their total mass. When that mass is small (the judge mostly said REFUSAL, or
something else) the sample is unscored rather than scored from a sliver of the distribution.

Worked example: top tokens ``{"80": ln .6, "90": ln .2, "REFUSAL": ln .2}`` give numeric mass
0.8, refusal mass 0.2 and score ``(80*.6 + 90*.2) / .8 = 82.5``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MIN_NUMERIC_MASS = 0.25
"""Below this total probability on integer tokens the judge's answer is not a score."""

_TOKEN_MARKERS = "Ġ▁Ċ"  # byte-level BPE space/newline and sentencepiece space markers
_REFUSAL = "REFUSAL"
_NUMBER = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])")


@dataclass(frozen=True)
class JudgeVerdict:
    """A judged score (None = unscored), the mass behind it, and why."""

    score: float | None
    numeric_mass: float
    refusal_mass: float
    method: str  # "logprobs" or "text"
    explanation: str


def normalise_token(token: str) -> str:
    """Strip tokenizer space markers (``Ġ``, ``▁``, ``Ċ``) and whitespace from a token."""
    return token.strip().strip(_TOKEN_MARKERS).strip()


def score_of_token(token: str) -> int | None:
    """The integer 0-100 a token spells, or None (``"Ġ85"`` -> 85, ``"101"`` -> None)."""
    text = normalise_token(token)
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 <= value <= 100 else None


def is_refusal_token(token: str) -> bool:
    """A token that begins the word REFUSAL (``"REF"``, ``"Ref"``, ``"REFUSAL"``)."""
    text = normalise_token(token).upper()
    return len(text) >= 3 and _REFUSAL.startswith(text)


def aggregate_top_logprobs(
    top_logprobs: Mapping[str, float] | Iterable[tuple[str, float]],
    min_mass: float = MIN_NUMERIC_MASS,
) -> JudgeVerdict:
    """Probability-weighted mean of the integer tokens among the judge's first-token alternatives.

    Args:
        top_logprobs: token -> log probability (a mapping or pairs; tokens that normalise to the
            same integer, e.g. ``"7"`` and ``"Ġ7"``, add up).
        min_mass: minimum total probability on integer tokens for a score.

    Returns:
        A verdict whose score is ``sum(k * p_k) / sum(p_k)`` over integer tokens k in 0-100, or
        None when there are no alternatives or their numeric mass is below `min_mass`.
    """
    pairs = list(top_logprobs.items() if isinstance(top_logprobs, Mapping) else top_logprobs)
    if not pairs:
        return JudgeVerdict(None, 0.0, 0.0, "logprobs", "unscored: the judge returned no logprobs")
    weights: dict[int, float] = {}
    refusal = 0.0
    for token, logprob in pairs:
        p = math.exp(logprob)
        value = score_of_token(token)
        if value is not None:
            weights[value] = weights.get(value, 0.0) + p
        elif is_refusal_token(token):
            refusal += p
    mass = sum(weights.values())
    if mass < min_mass:
        why = f"numeric mass {mass:.3f} < {min_mass}"
        if refusal >= 0.5:
            why += f"; the judge mostly answered REFUSAL (p={refusal:.3f})"
        return JudgeVerdict(None, mass, refusal, "logprobs", f"unscored: {why}")
    score = sum(k * p for k, p in weights.items()) / mass
    return JudgeVerdict(
        score,
        mass,
        refusal,
        "logprobs",
        f"{score:.2f} = probability-weighted mean over {len(weights)} integer token(s), "
        f"numeric mass {mass:.3f}, refusal mass {refusal:.3f}",
    )


def parse_score_text(text: str) -> JudgeVerdict:
    """Fallback for judges without logprobs: the first integer 0-100 in the reply text."""
    note = "the grader returned no logprobs, so the score is parsed from its text"
    stripped = text.strip()
    if stripped.upper().startswith(_REFUSAL[:3]):
        return JudgeVerdict(None, 0.0, 1.0, "text", f"unscored: {note} and it answered REFUSAL")
    for match in _NUMBER.finditer(stripped):
        value = int(match.group(1))
        if 0 <= value <= 100:
            return JudgeVerdict(float(value), 1.0, 0.0, "text", f"{value} ({note})")
    why = f"unscored: {note}, and it holds no integer 0-100: {stripped[:80]!r}"
    return JudgeVerdict(None, 0.0, 0.0, "text", why)
