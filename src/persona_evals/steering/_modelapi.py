"""Registration of the `steer` model provider, kept free of torch so the registry stays light."""

from __future__ import annotations

from typing import Any

from inspect_ai.model import modelapi


@modelapi(name="steer")
def steer() -> type[Any]:
    """`--model steer/<hf-id | local dir | smollm2>`: a local HF model with persona-vector steering."""
    try:
        from persona_evals.steering.provider import SteerAPI
    except ImportError as ex:
        raise ImportError(
            f"the steer provider needs the steering extra ({ex.name} is missing): "
            "pip install 'persona-evals[steering]'"
        ) from ex
    return SteerAPI
