"""Scorers and metrics shared by the persona-evals tasks."""

from persona_evals.scorers.projection import finite_mean, metric_names, metric_value, projection

__all__ = ["finite_mean", "metric_names", "metric_value", "projection"]
