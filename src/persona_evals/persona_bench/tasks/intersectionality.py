"""PERSONA Bench intersectionality: personalisation accuracy per demographic intersection.

Paper: "PERSONA: A Reproducible Testbed for Pluralistic Alignment" (arXiv 2407.17387). A config
lists intersections as typed clauses (numeric ranges for age and income, case-insensitive
categories); pairs are drawn per intersection from the personas it matches, and each sample
counts toward every intersection its persona belongs to. Metric ``intersection_accuracy``. Plot
with ``persona-evals viz persona-intersections``. Tags: personas, personalization, fairness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai import Task, task
from inspect_ai.scorer import accuracy, stderr

from persona_evals.args import task_args
from persona_evals.datasets.questions import DEFAULT_CONVERSATION_TYPES, PRISM_FILTER_DATASET
from persona_evals.datasets.synthetic_personas import SYNTHETIC_PERSONAS_DATASET
from persona_evals.persona_bench.critic import debate_critic
from persona_evals.persona_bench.dataset import (
    intersection_pairs,
    intersection_samples,
    load_intersection_config,
    load_sources,
    persona_mode,
)
from persona_evals.persona_bench.metrics import intersection_accuracy
from persona_evals.persona_bench.pairing import MAX_PAIRS
from persona_evals.persona_bench.solver import personalized_answer
from persona_evals.structured import MAX_RETRIES

DEFAULT_PAIRS_PER_INTERSECTION = 50


@task
@task_args(pairs_per_intersection=(1, MAX_PAIRS), seed=(0, None), max_retries=(0, MAX_RETRIES))
def intersectionality(
    config: str | list[Any] | dict[str, Any] | None = None,
    mode: str = "output_only",
    personas: str = SYNTHETIC_PERSONAS_DATASET,
    questions: str = PRISM_FILTER_DATASET,
    pairs_per_intersection: int = DEFAULT_PAIRS_PER_INTERSECTION,
    seed: int = 0,
    conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES,
    max_retries: int = 2,
) -> Task:
    """Critic accuracy per intersection of persona attributes.

    Args:
        config: JSON file (or inline JSON text) listing intersections, e.g.
            ``[{"name": "women 18-34", "clauses": [{"attribute": "sex", "values": ["female"]},
            {"attribute": "age", "min": 18, "max": 34}]}]`` (required).
        mode: the generate mode (one that shows the persona).
        personas: persona source (see ``prism_personalization``).
        questions: question source (see ``prism_personalization``).
        pairs_per_intersection: pairs drawn per intersection (fewer when it has fewer
            combinations); pairs shared by overlapping intersections are asked once.
        seed: pairing seed.
        conversation_types: PRISM conversation types whose opening turns are used.
        max_retries: re-asks when a critic verdict does not validate.
    """
    if config is None:
        raise ValueError(
            "config is required: -T config=intersections.json with a JSON list of "
            '{"name": ..., "clauses": [{"attribute": ..., "values": [...]} or {"attribute": "age", "min": ..., "max": ...}]}'
        )
    mode = persona_mode(mode)
    qs, ps = load_sources(personas, questions, conversation_types)
    intersections = load_intersection_config(config, ps)
    drawn, belongs = intersection_pairs(qs, ps, intersections, pairs_per_intersection, seed)
    return Task(
        dataset=intersection_samples(drawn, belongs, mode),
        solver=personalized_answer(),
        scorer=debate_critic(max_retries=max_retries),
        metrics=[intersection_accuracy(), accuracy(), stderr()],
        metadata={
            "benchmark": "persona_bench",
            "evaluation": "intersectionality",
            "intersections": [x.model_dump(mode="json") for x in intersections],
            "mode": mode,
            "pairs": len(drawn),
            "seed": seed,
        },
    )
