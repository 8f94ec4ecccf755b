"""Metrics and grouping shared by the benchmarks: NaN-aware means, counts, scores per group.

NaN marks a sample without a reading (no monitor, an unscored judge); the means here skip it, so
every value is over the samples that have one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TypeVar

from inspect_ai.scorer import Metric, SampleScore, metric, value_to_float


T = TypeVar("T")


def metric_names(name: str) -> tuple[str, str]:
    """The names a metric of this package may carry in a log: ``persona_evals/<name>``, or bare.

    inspect prefixes the package only when the package's files lie in a site-packages folder or
    it is installed editable. Installed with ``pip install --target DIR`` and put on PYTHONPATH
    (common on clusters without network), or imported from a source tree, the metric is plain
    `name`; readers of logs accept both.
    """
    return f"persona_evals/{name}", name


def metric_value(metrics: Mapping[str, T], name: str) -> T | None:
    """`metrics[name]` under either of its `metric_names` (None when absent)."""
    return next((metrics[n] for n in metric_names(name) if n in metrics), None)


def mean_of(values: Iterable[float]) -> float:
    """Mean of the values that are not NaN; NaN when none is."""
    kept = [float(v) for v in values if not math.isnan(float(v))]
    return sum(kept) / len(kept) if kept else math.nan


@metric
def finite_mean() -> Metric:
    """Mean over the samples that have a value (NaN = no reading); NaN when none has."""

    def metric(scores: list[SampleScore]) -> float:
        return mean_of(float(s.score.value) for s in scores)  # type: ignore[arg-type]

    return metric


@metric
def count() -> Metric:
    """Sum of the values: with 0/1 values, how many samples had the flag (e.g. unscored)."""

    def metric(scores: list[SampleScore]) -> float:
        return float(sum(value_to_float()(s.score.value) for s in scores))

    return metric


def scores_by_pair(rows: Iterable[tuple[str, str, float]]) -> dict[str, dict[str, float]]:
    """group -> pair id -> score from (group, pair id, score) rows; unscored (NaN) rows left out.

    Each (group, pair) must come once: average epochs first (``persona_bench.results.mean_over_epochs``),
    so a second score never silently replaces the first.
    """
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for group, pair, score in rows:
        if math.isnan(score):
            continue
        if pair in table[group]:
            raise ValueError(f"pair {pair} has more than one {group} score (several epochs? average them first)")
        table[group][pair] = float(score)
    return table


def paired_differences(rows: Iterable[tuple[str, str, float]], reference: str) -> dict[str, list[float]]:
    """group -> score(reference) - score(group) for each pair scored in both (from (group, pair, score))."""
    table = scores_by_pair(rows)
    base = table.get(reference, {})
    return {
        group: [base[pair] - v for pair, v in values.items() if pair in base]
        for group, values in table.items()
        if group != reference
    }


def slice_scores(rows: Iterable[tuple[Iterable[str], float]]) -> dict[str, list[float]]:
    """slice -> scores from (slices of the sample, score) rows: a sample counts in each of its
    slices (overlapping groups); NaN scores left out, but their slices still appear."""
    groups: dict[str, list[float]] = defaultdict(list)
    for names, score in rows:
        for name in names:
            groups[name].extend([] if math.isnan(score) else [float(score)])
    return groups
