"""PERSONA Bench pass@k: with k independent attempts, how often does one satisfy the critic?

Paper: "PERSONA: A Reproducible Testbed for Pluralistic Alignment" (arXiv 2407.17387). Each pair
is attempted `k` times as independent epochs; each attempt is critiqued on its own answer with
the real question, and inspect's ``pass_at`` reducers give the
unbiased estimator 1 - C(n-c, k)/C(n, k) for every k = 1..`k`. Plot with
``persona-evals viz persona-pass-at-k``. Tags: personas, personalization, sampling.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai import Epochs, Task, task
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import accuracy, pass_at, stderr

from persona_evals.args import task_args
from persona_evals.datasets.questions import DEFAULT_CONVERSATION_TYPES, PRISM_FILTER_DATASET
from persona_evals.datasets.synthetic_personas import SYNTHETIC_PERSONAS_DATASET
from persona_evals.persona_bench.critic import debate_critic
from persona_evals.persona_bench.dataset import load_sources, main_samples, persona_mode
from persona_evals.persona_bench.pairing import MAX_PAIRS, draw_pairs
from persona_evals.persona_bench.solver import personalized_answer
from persona_evals.structured import MAX_RETRIES

DEFAULT_K = 16
MAX_K = 1000


@task
@task_args(k=(1, MAX_K), pairs=(1, MAX_PAIRS), seed=(0, None), sampling_seed=(0, None), max_retries=(0, MAX_RETRIES))
def pass_at_k(
    k: int = DEFAULT_K,
    mode: str = "output_only",
    personas: str = SYNTHETIC_PERSONAS_DATASET,
    questions: str = PRISM_FILTER_DATASET,
    pairs: int | None = None,
    seed: int = 0,
    sampling_seed: int | None = None,
    temperature: float = 1.0,
    conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES,
    max_retries: int = 2,
) -> Task:
    """`k` independent critiqued attempts per pair; pass@1 .. pass@k.

    Args:
        k: attempts (epochs) per pair, 1 to 1,000 (default 16, as in the paper); set it here, not with
            ``--epochs``, since the pass@1..pass@k reducers are built from it.
        mode: the generate mode (one that shows the persona).
        personas: persona source (see ``prism_personalization``).
        questions: question source (see ``prism_personalization``).
        pairs: question-persona pairs drawn with `seed` (default 300; at most 100,000).
        seed: pairing seed.
        sampling_seed: makes attempts reproducible, with a distinct seed per pair and attempt
            (do not pass ``--seed``: it would give every attempt the same draw).
        temperature: sampling temperature of the attempts (must be > 0).
        conversation_types: PRISM conversation types whose opening turns are used.
        max_retries: re-asks when a critic verdict does not validate.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 so that the {k} attempts differ, got {temperature}")
    mode = persona_mode(mode)
    qs, ps = load_sources(personas, questions, conversation_types)
    drawn = draw_pairs(qs, ps, pairs, seed)
    return Task(
        dataset=main_samples(drawn, [mode]),
        solver=personalized_answer(sampling_seed=sampling_seed),
        scorer=debate_critic(max_retries=max_retries),
        metrics=[accuracy(), stderr()],
        epochs=Epochs(k, [pass_at(j) for j in range(1, k + 1)]),
        config=GenerateConfig(temperature=temperature),
        metadata={
            "benchmark": "persona_bench",
            "evaluation": "pass_at_k",
            "k": k,
            "mode": mode,
            "pairs": len(drawn),
            "seed": seed,
            "sampling_seed": sampling_seed,
        },
    )
