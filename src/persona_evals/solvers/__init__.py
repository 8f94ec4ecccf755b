"""Solvers shared by the persona-evals tasks."""

__all__: list[str] = []
