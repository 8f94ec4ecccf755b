"""Plots read from eval logs (``persona-evals viz ...``). matplotlib/seaborn load lazily."""
