"""Scorers and metrics shared by the persona-evals benchmarks.

- `judge`: `structured_judge`, the route of every judge that answers with a pydantic object;
- `logprob_judge`: `rating_judge`, a 0-100 rating read from the judge's first-token logprobs;
- `metrics`: NaN-aware means (`finite_mean`, `mean_of`), `count`, scores grouped by pair or slice,
  `metric_value` (a metric read from a log, with or without the `persona_evals/` prefix);
- `projection`: the steer provider's live monitor reading as a score.
"""

from persona_evals.scorers.judge import JudgeRequest, structured_judge
from persona_evals.scorers.metrics import count, finite_mean, mean_of, metric_names, metric_value
from persona_evals.scorers.projection import projection

__all__ = [
    "JudgeRequest", "count", "finite_mean", "mean_of", "metric_names", "metric_value", "projection",
    "structured_judge",
]
