"""`projection`: the steer provider's live monitor reading, reported beside the judge's scores.

Run the model with ``-M monitor=<vector> -M monitor_layer=<L>``: while generating, `steer`
projects the response activations at layer L onto the vector (no second pass), and this scorer
reports the mean response projection (`proj`) and the last prompt token's (`prompt_last_proj`).
Without a monitor the values are NaN, which the metrics skip, and the explanation says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeVar

from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer, stderr
from inspect_ai.solver import TaskState

T = TypeVar("T")

NO_MONITOR = "no monitor reading: run with --model steer/... -M monitor=<vector file> -M monitor_layer=<L>"


@metric
def finite_mean() -> Metric:
    """Mean over the samples that have a value (NaN = no reading); NaN when none has."""

    def metric(scores: list[SampleScore]) -> float:
        values = [float(s.score.value) for s in scores if not math.isnan(float(s.score.value))]  # type: ignore[arg-type]
        return sum(values) / len(values) if values else math.nan

    return metric


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


@scorer(metrics={"proj": [finite_mean(), stderr()], "prompt_last_proj": [finite_mean(), stderr()]})
def projection(monitor: str | None = None) -> Scorer:
    """Projection of the answer's activations onto the model's monitor vector.

    Args:
        monitor: which monitor to report when the model has several (``<file stem>@<layer>``,
            as in the output metadata); default: the first.
    """

    async def score(state: TaskState, target: Target) -> Score:
        readings = (state.output.metadata or {}).get("monitor") if state.output else None
        if not readings:
            return Score(value={"proj": math.nan, "prompt_last_proj": math.nan}, explanation=NO_MONITOR)
        name = monitor or next(iter(readings))
        if name not in readings:
            raise ValueError(f"projection(monitor={name!r}): the model monitors {sorted(readings)}")
        reading = readings[name]
        proj = math.nan if reading["proj"] is None else float(reading["proj"])
        return Score(
            value={"proj": proj, "prompt_last_proj": float(reading["prompt_last_proj"])},
            explanation=f"{name}: response projection {proj:.3f}, last prompt token {reading['prompt_last_proj']:.3f}",
            metadata={"monitor": name, "readings": readings},
        )

    return score
