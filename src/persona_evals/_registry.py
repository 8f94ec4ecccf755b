"""inspect-ai entry point: imports every registered component of persona-evals.

inspect loads this module through the ``inspect_ai`` entry point. It must never import torch,
transformers, pandas or matplotlib: the `steer` provider is registered by a function that imports
its implementation only when the provider is used (see ``persona_evals.steering._modelapi``).
"""

# ruff: noqa: F401
from persona_evals.steering._modelapi import steer
from persona_evals.traits.draft import draft_trait
from persona_evals.traits.scorer import coherence_score, trait_score
from persona_evals.opinion.scorer import opinion_choice
from persona_evals.opinion.solver import simulate_opinion
from persona_evals.scorers import count, finite_mean, projection
from persona_evals.accuracy.dynamic import dynamic_experts
from persona_evals.accuracy.refine import refine_persona
from persona_evals.accuracy.scorer import persona_answer
from persona_evals.solvers.persona import persona_message
from persona_evals.persona_bench.critic import debate_critic
from persona_evals.persona_bench.metrics import intersection_accuracy, loo_drop
from persona_evals.persona_bench.solver import personalized_answer
from persona_evals.persona_bench.pairwise import baseline_reference, pairwise_vs_baseline
from persona_evals.persona_bench.analyses import subtlety, summary_fidelity

# tasks: `inspect eval persona_evals/<task>` (tasks/<file>.py in a checkout links to these modules)
from persona_evals.capitals.task import capitals
from persona_evals.traits.task import trait_expression
from persona_evals.accuracy.task import persona_accuracy
from persona_evals.opinion.task import opinion_simulation
from persona_evals.persona_bench.tasks.prism_personalization import prism_personalization
from persona_evals.persona_bench.tasks.leave_one_out import leave_one_out
from persona_evals.persona_bench.tasks.intersectionality import intersectionality
from persona_evals.persona_bench.tasks.pass_at_k import pass_at_k
from persona_evals.opinion.generation import persona_generation
from persona_evals.opinion.calibration import persona_calibration
from persona_evals.traits.draft import trait_draft
from persona_evals.traits.finetune_data import finetune_data
