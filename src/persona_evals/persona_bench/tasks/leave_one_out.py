"""PERSONA Bench leave-one-out: how much does each persona attribute matter to personalisation?

Paper: "PERSONA: A Reproducible Testbed for Pluralistic Alignment" (arXiv 2407.17387). For each
question-persona pair the target answers for the full persona, for the persona without every
listed attribute, and for the persona without each listed attribute in turn; the ``critic`` always
judges against the FULL persona. Metric ``loo_drop``: acc(full) - acc(without attribute), paired by pair. Plot with
``persona-evals viz persona-loo``. Tags: personas, personalization, ablation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai import Task, task
from inspect_ai.scorer import accuracy, grouped

from persona_evals.args import task_args
from persona_evals.datasets.questions import DEFAULT_CONVERSATION_TYPES, PRISM_FILTER_DATASET
from persona_evals.datasets.synthetic_personas import SYNTHETIC_PERSONAS_DATASET
from persona_evals.persona_bench.critic import debate_critic
from persona_evals.persona_bench.dataset import (
    load_loo_attributes,
    load_sources,
    loo_absent_counts,
    loo_samples,
    persona_mode,
)
from persona_evals.persona_bench.metrics import loo_drop
from persona_evals.persona_bench.pairing import MAX_PAIRS, draw_pairs
from persona_evals.persona_bench.solver import personalized_answer
from persona_evals.structured import MAX_RETRIES

DEFAULT_LOO_PAIRS = 30


@task
@task_args(pairs=(1, MAX_PAIRS), seed=(0, None), max_retries=(0, MAX_RETRIES))
def leave_one_out(
    config: str | dict[str, Any] | None = None,
    mode: str = "output_only",
    personas: str = SYNTHETIC_PERSONAS_DATASET,
    questions: str = PRISM_FILTER_DATASET,
    pairs: int = DEFAULT_LOO_PAIRS,
    seed: int = 0,
    conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES,
    max_retries: int = 2,
) -> Task:
    """Full persona, persona without all listed attributes, and without each one, per pair.

    Args:
        config: JSON file (or inline JSON text) ``{"attributes": [...]}`` naming the attributes
            to drop; default: every attribute the persona pool uses.
        mode: the generate mode (one that shows the persona).
        personas: persona source (see ``prism_personalization``).
        questions: question source (see ``prism_personalization``).
        pairs: question-persona pairs drawn with `seed` (default 30, as in the paper).
        seed: pairing seed.
        conversation_types: PRISM conversation types whose opening turns are used.
        max_retries: re-asks when a critic verdict does not validate.
    """
    mode = persona_mode(mode)
    qs, ps = load_sources(personas, questions, conversation_types)
    if config is None:
        attributes = list(dict.fromkeys(n for p in ps for n in p.names))
    else:
        attributes = load_loo_attributes(config, ps)
    drawn = draw_pairs(qs, ps, pairs, seed)
    return Task(
        dataset=loo_samples(drawn, attributes, mode),
        solver=personalized_answer(),
        scorer=debate_critic(max_retries=max_retries),
        metrics=[loo_drop(), grouped(accuracy(), "variant", all=False)],
        metadata={
            "benchmark": "persona_bench",
            "evaluation": "leave_one_out",
            "attributes": attributes,
            # pairs whose persona lacks an attribute get no variant for it (it would repeat full)
            "pairs_without_attribute": loo_absent_counts(drawn, attributes),
            "mode": mode,
            "pairs": len(drawn),
            "seed": seed,
        },
    )
