"""Scripted inspect models (``mockllm``) that never touch the network.

mockllm counts tokens with a tiktoken vocabulary downloaded on first use unless every output
carries ``usage``; these helpers always set it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    Logprob,
    Logprobs,
    Model,
    ModelOutput,
    ModelUsage,
    TopLogprob,
    get_model,
)

Reply = str | ModelOutput
Script = Sequence[Reply] | Callable[[list[ChatMessage], GenerateConfig], Reply]


def scripted_output(
    content: str, top_logprobs: dict[str, float] | None = None, model: str = "mockllm/model"
) -> ModelOutput:
    """A `ModelOutput` with ``usage`` set, optionally with first-token top logprobs.

    Args:
        content: the reply text.
        top_logprobs: token -> logprob for the first generated token (for logprob judges).
        model: the model name recorded on the output.
    """
    output = ModelOutput.from_content(model=model, content=content)
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    if top_logprobs:
        ranked = sorted(top_logprobs.items(), key=lambda kv: kv[1], reverse=True)
        tops = [TopLogprob(token=t, logprob=lp) for t, lp in ranked]
        output.choices[0].logprobs = Logprobs(
            content=[Logprob(token=tops[0].token, logprob=tops[0].logprob, top_logprobs=tops)]
        )
    return output


def _as_output(reply: Reply) -> ModelOutput:
    if isinstance(reply, ModelOutput):
        if reply.usage is None:
            reply.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return reply
    return scripted_output(reply)


def scripted_model(script: Script, name: str = "mockllm/model", **kwargs: Any) -> Model:
    """A mockllm model replying from a list (in call order) or a function of (messages, config).

    A list raises once exhausted, so a test that makes more calls than it scripted fails loudly.
    """
    if callable(script):
        fn = script

        def outputs(
            input: list[ChatMessage], tools: Any, tool_choice: Any, config: GenerateConfig
        ) -> ModelOutput:
            return _as_output(fn(input, config))

        return get_model(name, custom_outputs=outputs, memoize=False, **kwargs)
    return get_model(name, custom_outputs=[_as_output(r) for r in script], memoize=False, **kwargs)
