"""Structured outputs: pydantic models validated with instructor on top of inspect's model API.

Every attempt is an ordinary ``Model.generate`` call, so it is logged in the eval (and cached,
and rate-limited) like any other; instructor supplies the schema prompt, the validation and the
re-asks with the validation error. Providers that honour ``response_schema`` also receive it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ResponseSchema,
)
from inspect_ai.util import json_schema
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)

MAX_RETRIES = 10
"""The most re-asks a task allows (``-T max_retries``) of a model whose structured reply does not validate."""

_ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}


class StructuredOutputError(Exception):
    """No valid instance after all attempts; `reason` says why, `last_text` is the last reply."""

    def __init__(self, reason: str, last_text: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.last_text = last_text


async def generate_structured(
    model: Model,
    input: str | list[ChatMessage],
    response_model: type[T],
    *,
    max_retries: int = 2,
    config: GenerateConfig | None = None,
) -> T:
    """Ask `model` for an instance of `response_model`, re-asking up to `max_retries` times.

    Raises:
        StructuredOutputError: when no attempt validates; the reason names the failing fields.
    """
    import instructor
    from openai.types.chat import ChatCompletion

    schema = ResponseSchema(name=response_model.__name__, json_schema=json_schema(response_model))
    gen_config = (config or GenerateConfig()).merge(GenerateConfig(response_schema=schema))
    last_text: list[str] = []

    async def create(messages: list[dict[str, Any]], **_: Any) -> ChatCompletion:
        conversation = [_to_inspect(m) for m in messages]
        output = await model.generate(conversation, config=gen_config)
        last_text.append(output.completion)
        return ChatCompletion.model_validate(
            {
                "id": "inspect",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": str(model),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": output.completion},
                    }
                ],
            }
        )

    patched = instructor.patch(create=create, mode=instructor.Mode.JSON)
    messages = [ChatMessageUser(content=input)] if isinstance(input, str) else input
    try:
        result = await patched(
            messages=[_to_openai(m) for m in messages],
            response_model=response_model,
            max_retries=max_retries,  # instructor counts re-asks: attempts = max_retries + 1
        )
    except Exception as ex:  # instructor wraps validation failures in its own exceptions
        if not last_text:
            raise
        reason = f"no valid {response_model.__name__} after {len(last_text)} attempt(s): {_short(ex)}"
        raise StructuredOutputError(reason, last_text[-1]) from ex
    # instructor returns a subclass of its prepared model; hand back the plain pydantic type
    return response_model.model_validate(result.model_dump())


@dataclass(frozen=True)
class Verdict(Generic[T]):
    """A validated reply (`value`), or why none validated (`error`, with the last reply text)."""

    value: T | None
    error: str | None = None
    last_text: str | None = None


async def ask_verdict(
    model: Model,
    input: str | list[ChatMessage],
    response_model: type[T],
    *,
    max_retries: int = 2,
    config: GenerateConfig | None = None,
) -> Verdict[T]:
    """`generate_structured`, with a failure returned as a `Verdict` instead of raised."""
    try:
        return Verdict(await generate_structured(model, input, response_model, max_retries=max_retries, config=config))
    except StructuredOutputError as ex:
        return Verdict(None, ex.reason, ex.last_text)


def _to_openai(message: ChatMessage) -> dict[str, str]:
    return {"role": message.role, "content": message.text}


def _to_inspect(message: dict[str, Any]) -> ChatMessage:
    content = message.get("content")
    if not isinstance(content, str):  # list-of-parts content: keep the text parts
        content = "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return _ROLES.get(message.get("role", "user"), ChatMessageUser)(content=content)


def _short(ex: Exception, limit: int = 300) -> str:
    # instructor wraps the validation errors in <failed_attempts><generation><exception> tags
    text = " ".join(re.sub(r"</?(failed_attempts|generation|exception|completion)\b[^>]*>", " ", str(ex)).split())
    return text if len(text) <= limit else text[:limit] + " ..."
