"""Test utilities that ship with the package: scripted inspect models and tiny random HF models.

Users writing tests for their own tasks get the same offline tools our suite uses.
"""

from persona_evals.testing.scripted import scripted_model, scripted_output

__all__ = ["scripted_model", "scripted_output"]
