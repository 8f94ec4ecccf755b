"""Sanity check: does the model (steered or not) still answer plain factual questions?

Twenty capital-city questions shipped with the package; greedy decoding; a sample is correct when
the answer contains the capital. Steering at a high coefficient can break a model's fluency;
run this beside a trait eval to see the cost in capability.

    inspect eval persona_evals/capitals --model steer/smollm2
    inspect eval tasks/sanity.py --model steer/smollm2 -M vector=evil.safetensors -M layer=15 -M coef=4
"""

from inspect_ai import Task, task
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

from persona_evals.args import MAX_TOKENS, task_args
from persona_evals.capitals.dataset import capitals_dataset


@task
@task_args(max_tokens=(1, MAX_TOKENS))
def capitals(max_tokens: int = 24) -> Task:
    """Capital cities, greedy.

    Args:
        max_tokens: tokens to generate per answer, 1 to 100,000.
    """
    return Task(
        dataset=capitals_dataset(),
        solver=generate(),
        scorer=includes(),
        config=GenerateConfig(temperature=0.0, max_tokens=max_tokens),
    )
