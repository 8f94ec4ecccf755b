"""Persona-prompted task accuracy ("Principled Personas"): data, personas, solvers, scorers, metrics.

Modules (one concept each): ``catalog`` (persona groups shipped as package data), ``prompts``
(our own prompt wording), ``data`` (the 27 tasks, pinned Hub loads), ``extract`` and ``boxed``
(answer extraction), ``refine`` / ``dynamic`` (mitigations, dynamic experts; persona
placement is the shared ``persona_evals.solvers.persona``), ``scorers``, ``results`` and ``metrics`` (metrics over logs; statistics in
``persona_evals.stats``), and ``task`` (the ``persona_accuracy`` task).
Nothing here imports torch, pandas or matplotlib at import time.
"""
