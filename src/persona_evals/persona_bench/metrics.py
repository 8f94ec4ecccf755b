"""Metrics of the PERSONA Bench tasks over critic scores (1 = no revision needed).

inspect drops unscored samples (critic verdicts that never validated) before calling a metric,
so every value here is over scored samples only; the log's ``unscored_samples`` counts the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspect_ai.scorer import Metric, SampleScore, Value, metric

from persona_evals.persona_bench.dataset import DROP, FULL
from persona_evals.scorers.metrics import mean_of, paired_differences, slice_scores


def paired_drops(rows: Iterable[tuple[str, str, float]]) -> dict[str, list[float]]:
    """variant -> score(full) - score(variant) for each pair scored in both (from (variant, pair, score))."""
    return paired_differences(rows, FULL)


@metric
def loo_drop() -> Metric:
    """Per variant, the paired drop acc(full) - acc(variant).

    Keys: ``<attribute>_drop`` (that attribute removed) and ``none_drop`` (every listed attribute
    removed). A drop is the mean, over pairs scored in both, of score(full) - score(variant):
    positive when the attribute helped. (Accuracy per variant comes from a grouped metric.)
    """

    def compute(scores: list[SampleScore]) -> Value:
        rows = []
        for s in scores:
            meta = s.sample_metadata or {}
            if "variant" not in meta or "pair_id" not in meta:
                raise ValueError(f"sample {s.sample_id} has no variant/pair_id metadata: loo_drop needs leave_one_out samples")
            rows.append((meta["variant"], meta["pair_id"], s.score.as_float()))
        return {f"{v.removeprefix(DROP)}_drop": mean_of(d) for v, d in paired_drops(rows).items()}

    return compute


@metric
def intersection_accuracy() -> Metric:
    """Accuracy per intersection; a sample counts toward every intersection its persona matches."""

    def compute(scores: list[SampleScore]) -> Value:
        rows = []
        for s in scores:
            names = (s.sample_metadata or {}).get("intersections")
            if not isinstance(names, list):
                raise ValueError(f"sample {s.sample_id} has no intersections metadata")
            rows.append((names, s.score.as_float()))
        return {name: mean_of(values) for name, values in slice_scores(rows).items()}

    return compute

