"""Metrics of the PERSONA Bench tasks over critic scores (1 = no revision needed).

inspect drops unscored samples (critic verdicts that never validated) before calling a metric,
so every value here is over scored samples only; the log's ``unscored_samples`` counts the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from inspect_ai.scorer import Metric, SampleScore, Value, metric

from persona_evals.persona_bench.dataset import DROP, FULL


def _value(s: SampleScore) -> float:
    return float(s.score.as_float())


@metric
def loo_drop() -> Metric:
    """Per variant, the paired drop acc(full) - acc(variant).

    Keys: ``<attribute>_drop`` (that attribute removed) and ``none_drop`` (every listed attribute
    removed). A drop is the mean, over pairs scored in both, of score(full) - score(variant):
    positive when the attribute helped. (Accuracy per variant comes from a grouped metric.)
    """

    def compute(scores: list[SampleScore]) -> Value:
        by_variant = _by_variant(scores)
        full = by_variant.get(FULL, {})
        result: dict[str, float] = {}
        for variant, values in by_variant.items():
            if variant != FULL:
                paired = [full[pair] - v for pair, v in values.items() if pair in full]
                result[f"{variant.removeprefix(DROP)}_drop"] = _mean(paired)
        return result

    return compute


def _by_variant(scores: list[SampleScore]) -> dict[str, dict[str, float]]:
    """variant -> pair id -> score (one sample per pair and variant)."""
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for s in scores:
        meta = s.sample_metadata or {}
        if "variant" not in meta or "pair_id" not in meta:
            raise ValueError(f"sample {s.sample_id} has no variant/pair_id metadata: loo_drop needs leave_one_out samples")
        table[meta["variant"]][meta["pair_id"]] = _value(s)
    return table


@metric
def intersection_accuracy() -> Metric:
    """Accuracy per intersection; a sample counts toward every intersection its persona matches."""

    def compute(scores: list[SampleScore]) -> Value:
        groups: dict[str, list[float]] = defaultdict(list)
        for s in scores:
            names = (s.sample_metadata or {}).get("intersections")
            if not isinstance(names, list):
                raise ValueError(f"sample {s.sample_id} has no intersections metadata")
            for name in names:
                groups[name].append(_value(s))
        return {name: _mean(values) for name, values in groups.items()}

    return compute


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else float("nan")
