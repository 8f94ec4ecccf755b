"""PERSONA Bench main task: answers personalised to a described user, judged by a debate critic.

Paper: "PERSONA: A Reproducible Testbed for Pluralistic Alignment" (arXiv 2407.17387; code
SynthLabsAI/PERSONA-bench, Apache-2.0). Questions: SynthLabsAI/PRISM-Filter (gated) or the
opening turns of HannahRoseKirk/prism-alignment conversations (open). Personas:
SynthLabsAI/Synthetic-Personas (gated) or the PRISM survey (open). Tags: personas,
personalization, pluralistic alignment, LLM critic.

Score: 1 when the ``critic`` model (``--model-role critic=<model>``) finds that the answer needs
no revision for the person. Plot with ``persona-evals viz persona-modes``.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai import Task, task
from inspect_ai.scorer import accuracy, grouped, stderr

from persona_evals.args import task_args
from persona_evals.datasets.questions import DEFAULT_CONVERSATION_TYPES, PRISM_FILTER_DATASET
from persona_evals.datasets.synthetic_personas import SYNTHETIC_PERSONAS_DATASET
from persona_evals.persona_bench.analyses import subtlety as subtlety_label
from persona_evals.persona_bench.analyses import summary_fidelity as fidelity
from persona_evals.persona_bench.critic import debate_critic
from persona_evals.persona_bench.dataset import load_sources, main_samples
from persona_evals.persona_bench.pairing import MAX_PAIRS, draw_pairs
from persona_evals.persona_bench.pairwise import baseline_reference, pairwise_vs_baseline
from persona_evals.persona_bench.solver import MODES, parse_modes, personalized_answer
from persona_evals.structured import MAX_RETRIES


@task
@task_args(pairs=(1, MAX_PAIRS), seed=(0, None), max_retries=(0, MAX_RETRIES))
def prism_personalization(
    mode: str | Sequence[str] = MODES,
    personas: str = SYNTHETIC_PERSONAS_DATASET,
    questions: str = PRISM_FILTER_DATASET,
    pairs: int | None = None,
    seed: int = 0,
    conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES,
    pairwise: bool = False,
    subtlety: bool = False,
    summary_fidelity: bool = False,
    max_retries: int = 2,
) -> Task:
    """Personalised answers for question-persona pairs in one or more generate modes.

    Args:
        mode: ``baseline``, ``output_only``, ``chain_of_thought``, ``demographic_summary`` or a
            list of them (default: all four, to compare modes in one run).
        personas: ``SynthLabsAI/Synthetic-Personas`` (gated), ``HannahRoseKirk/prism-alignment``
            (open survey), ``fixture`` or ``fixture-prism`` (invented, offline).
        questions: ``SynthLabsAI/PRISM-Filter`` (gated), ``HannahRoseKirk/prism-alignment``
            (open: opening user turns), ``fixture`` or ``fixture-prism``.
        pairs: question-persona pairs drawn with `seed` (default 300, as in the paper; at most
            100,000).
        seed: pairing seed (recorded in each sample's metadata).
        conversation_types: PRISM conversation types whose opening turns are used.
        pairwise: also judge each persona answer against the no-persona answer (win rate).
        subtlety: also label each persona answer subtle (1) or on-the-nose (0) with the critic.
        summary_fidelity: also check each demographic summary against the persona (1 faithful).
        max_retries: re-asks when a critic verdict does not validate.
    """
    modes = parse_modes(mode)
    qs, ps = load_sources(personas, questions, conversation_types)
    drawn = draw_pairs(qs, ps, pairs, seed)
    solver = [personalized_answer()]
    scorer = [debate_critic(max_retries=max_retries)]
    if pairwise:
        solver.append(baseline_reference())
        scorer.append(pairwise_vs_baseline(max_retries=max_retries))
    if subtlety:
        scorer.append(subtlety_label(max_retries=max_retries))
    if summary_fidelity:
        if "demographic_summary" not in modes:
            raise ValueError("summary_fidelity=true needs demographic_summary in mode")
        scorer.append(fidelity(max_retries=max_retries))
    return Task(
        dataset=main_samples(drawn, modes),
        solver=solver,
        scorer=scorer,
        # per mode (and over all modes); "accuracy" is the win rate for the pairwise scorer and
        # the share of subtle answers for the subtlety scorer
        metrics=[grouped(accuracy(), "mode"), grouped(stderr(), "mode", name_template="{group_name}_stderr", all_label="all_stderr")],
        metadata={"benchmark": "persona_bench", "evaluation": "main", "modes": modes, "pairs": len(drawn), "seed": seed},
    )
