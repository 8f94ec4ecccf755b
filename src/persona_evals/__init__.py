"""persona-evals: inspect-ai tasks, solvers, scorers and a steering provider for persona research.

Importing the package costs nothing: heavy parts (torch, transformers, pandas) load lazily in the
modules that need them.
"""

__version__ = "0.1.0"
