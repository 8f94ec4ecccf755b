"""Scorers and metrics shared by the persona-evals tasks."""

from persona_evals.scorers.projection import finite_mean, projection

__all__ = ["finite_mean", "projection"]
