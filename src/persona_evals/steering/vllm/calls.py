"""One request to vLLM and what comes back, the same for the in-process engine and a server.

A `Call` says everything the `steer` provider asks of one vLLM request (prompt token ids, sampling,
stops, logprobs, a JSON schema, the steering payload, the prefix-cache salt, a LoRA adapter); each
transport turns it into its own form (`sampling_params` for the offline engine, `completion_body`
for ``/v1/completions``), and turns the answer into a `Completion`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from persona_evals.steering.vllm import wire


@dataclass(frozen=True)
class Lora:
    """A LoRA adapter as vLLM loads it: a unique name and int id, and the folder."""

    name: str
    int_id: int
    path: str


@dataclass(frozen=True)
class Call:
    prompt_ids: tuple[int, ...]
    max_tokens: int
    temperature: float = 0.0  # 0: greedy
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    logprobs: int | None = None  # top-k logprobs per generated token (the chosen one always)
    json_schema: str | None = None
    payload: str | None = None  # wire.encode_request text
    salt: str | None = None  # prefix-cache salt: requests whose cached keys and values differ never share blocks
    lora: Lora | None = None
    ignore_eos: bool = False  # generate max_tokens whatever comes (bench: the same work on both sides)


@dataclass
class Completion:
    token_ids: list[int]
    finish_reason: str  # "stop" | "length" | ...
    logprobs: list[tuple[int, float, list[tuple[int, float]]]] | None = None  # (token, logprob, top)


def sampling_params(call: Call) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    structured = None
    if call.json_schema is not None:
        structured = StructuredOutputsParams(json=json.loads(call.json_schema))
    return SamplingParams(
        n=1,
        temperature=call.temperature,
        top_p=1.0 if call.top_p is None else call.top_p,
        top_k=0 if call.top_k is None else call.top_k,
        seed=call.seed,
        max_tokens=call.max_tokens,
        ignore_eos=call.ignore_eos,
        stop=list(call.stop) or None,
        stop_token_ids=list(call.stop_token_ids) or None,
        logprobs=call.logprobs,
        structured_outputs=structured,
        extra_args={wire.PAYLOAD_KEY: call.payload} if call.payload is not None else None,
    )


def from_request_output(out: Any, top: int) -> Completion:
    """A `Completion` from vLLM's `RequestOutput` (one choice); `top` alternatives per token."""
    choice = out.outputs[0]
    logprobs = None
    if choice.logprobs is not None:
        logprobs = []
        for token, step in zip(choice.token_ids, choice.logprobs):
            # the chosen token is always there, with its rank; the alternatives are ranks 1..top
            alts = sorted((lp.rank, t, lp.logprob) for t, lp in step.items() if lp.rank is not None and lp.rank <= top)
            logprobs.append((int(token), float(step[token].logprob), [(int(t), float(v)) for _, t, v in alts]))
    return Completion(token_ids=list(choice.token_ids), finish_reason=str(choice.finish_reason), logprobs=logprobs)
