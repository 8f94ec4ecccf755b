"""LoRA finetuning with preventative steering or CAFT, finetuning data, and its screening.

Sits above `steering/` and `datasets/` (it reuses the provider's hooks, vector files and chat
rendering) and below the shared solvers and scorers. Nothing here imports torch at package
import; `persona_evals.training.loop` does.
"""

from persona_evals.training.options import FinetuneOptions

__all__ = ["FinetuneOptions"]
