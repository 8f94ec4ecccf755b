"""The steer provider honours inspect's response_schema: decoding is constrained to the schema."""

import json
from typing import Literal

import pytest
from inspect_ai.model import GenerateConfig, ResponseSchema, get_model
from inspect_ai.util import json_schema
from pydantic import BaseModel

from persona_evals.structured import generate_structured


class Flag(BaseModel):
    needs_revision: bool
    label: Literal["subtle", "on_the_nose"]


def _config(model=Flag, **kwargs) -> GenerateConfig:
    schema = ResponseSchema(name=model.__name__, json_schema=json_schema(model))
    return GenerateConfig(response_schema=schema, max_tokens=60, **kwargs)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
async def test_random_tiny_model_writes_valid_json_under_a_schema(tiny_model, temperature):
    model = get_model(f"steer/{tiny_model}", memoize=False)
    outputs = [await model.generate("Judge this.", config=_config(temperature=temperature, seed=s)) for s in range(3)]
    for out in outputs:
        value = Flag.model_validate_json(out.completion)  # a random model, yet valid every time
        assert isinstance(value.needs_revision, bool)
        assert out.stop_reason == "stop"
    unconstrained = await model.generate("Judge this.", config=GenerateConfig(max_tokens=20, temperature=0.0))
    with pytest.raises(ValueError):
        Flag.model_validate_json(unconstrained.completion)


async def test_schema_and_plain_requests_are_batched_apart(tiny_llama):
    import asyncio

    model = get_model(f"steer/{tiny_llama}", memoize=False)
    constrained, plain = await asyncio.gather(
        model.generate("a", config=_config(temperature=0.0)),
        model.generate("a", config=GenerateConfig(max_tokens=8, temperature=0.0)),
    )
    json.loads(constrained.completion)
    assert constrained.completion != plain.completion


@pytest.mark.slow
async def test_smollm2_gives_a_valid_critic_verdict(smollm2_dir):
    from persona_evals.persona_bench.critic import CriticVerdict

    model = get_model("steer/smollm2", memoize=False)
    verdict = await generate_structured(
        model,
        "An answer to 'Should I rent or buy?' for a 24-year-old renter said 'buy now'. Does it need revision?",
        CriticVerdict,
        max_retries=0,
        config=GenerateConfig(max_tokens=200, temperature=0.0),
    )
    assert isinstance(verdict.needs_revision, bool) and verdict.conclusion
