"""Scoring a simulated answer: which original option was chosen, or invalid (counted apart).

The score value is 1 for a parsed answer and 0 for an invalid one; ``answer`` holds the original
option key, mapped back through the sample's shuffle, and metadata the stance, party and parse
method. Shares exclude invalid answers.
"""

from __future__ import annotations

from collections import Counter

from inspect_ai.scorer import Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import TaskState

from persona_evals.opinion.parsing import extract_reasoning, parse_answer


@metric
def rep_two_party_share() -> Metric:
    """Election items: Republican share of valid two-party answers, pooled over states (NaN if none)."""

    def compute(scores: list[SampleScore]) -> float:
        parties = Counter((s.score.metadata or {}).get("party") for s in scores if s.score.answer)
        two = parties["REP"] + parties["DEM"]
        return parties["REP"] / two if two else float("nan")

    return compute


@metric
def valid_rate() -> Metric:
    """Share of replies that parsed to a shown option."""

    def compute(scores: list[SampleScore]) -> float:
        return sum(1 for s in scores if s.score.answer) / len(scores) if scores else float("nan")

    return compute


@metric
def invalid_count() -> Metric:
    def compute(scores: list[SampleScore]) -> int:
        return sum(1 for s in scores if not s.score.answer)

    return compute


@scorer(metrics=[valid_rate(), invalid_count(), rep_two_party_share()])
def opinion_choice():
    """Parse the reply; map the displayed letter back to the original option."""

    async def score(state: TaskState, target: Target) -> Score:
        md = state.metadata
        text = state.output.completion if state.output else ""
        letter, method = parse_answer(text, md["shown"])
        if letter is None:
            return Score(
                value=0,
                answer=None,
                explanation=f"invalid answer: {text[:200]!r}",
                metadata={"method": method},
            )
        key = md["order"][letter]
        option = md["options"][key]
        return Score(
            value=1,
            answer=key,
            explanation=f"shown {letter} -> option {key} ({option['stance']})",
            metadata={
                "displayed": letter,
                "stance": option["stance"],
                "party": option.get("party"),
                "method": method,
                "reasoning": extract_reasoning(text) if "reasoning" in text.lower() else None,
            },
        )

    return score
