"""Persona-prompted task accuracy ("Principled Personas"): data, personas, solvers, scorers, metrics.

Modules (one concept each): ``benchmarks`` (the 27 tasks), ``catalog`` (persona groups shipped as
package data), ``prompts`` (our own prompt wording), ``dataset`` (pinned Hub loads; items x
personas), ``solver`` (the solver chain of each mitigation; persona placement is the shared
``persona_evals.solvers.persona``), ``refine`` / ``dynamic`` (mitigations, dynamic experts),
``extract`` and ``boxed`` (answer extraction), ``scorer``, ``results`` and ``metrics`` (metrics
over logs; statistics in ``persona_evals.stats``), ``tables``, and ``task`` (the
``persona_accuracy`` task).
Nothing here imports torch, pandas or matplotlib at import time.
"""
