"""`SteerAPI`: inspect's `steer` provider, a local HF model with persona-vector steering.

Model args (see `SteeringSpec`): `vector`, `layer`, `coef`, `positions`, `dtype`, `device`,
`device_map`, `batch_size`. Everything is validated, and vectors are checked against the model,
when the model is created, before any generation.

Why not the built-in `hf` provider: its batches idle seconds waiting for a timer, mix models and
ignore `batch_size`; it cannot steer. Here concurrent calls are gathered into batches per steering
configuration (`batching.Batcher`), instances of one base model share one copy of the weights
(`loading.load_shared`), hooks live only while their batch runs (`hooks.steer_residual`), and the
steering signature is part of `base_url`, which inspect's response cache keys on, so a cached
answer is never handed to another steering configuration.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import nullcontext
from pathlib import Path
from collections.abc import Hashable, Sequence
from typing import Any

import torch
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Logprob,
    Logprobs,
    ModelAPI,
    ModelCall,
    ModelOutput,
    ModelUsage,
    TopLogprob,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from persona_evals.steering.ablation import ablate_residual
from persona_evals.steering.adapters import Adapter, adapter_active, attach_adapter, read_adapter
from persona_evals.steering.batching import BatchInfo, Batcher
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.constrained import schema_text
from persona_evals.steering.generation import GenRequest, GenResult, Sampling, generate_batch
from persona_evals.steering.layers import check_layer
from persona_evals.steering.loading import SharedModel, load_shared
from persona_evals.steering.spec import SteeringSpec
from persona_evals.steering.terms import ablation_bases, load_terms
from persona_evals.steering.vectors import LoadedVector, check_fits, load_vector

DEFAULT_MAX_TOKENS = 1024
# GenerateConfig fields a local model cannot honour; recorded in each output's metadata when set.
_IGNORED_FIELDS = ("frequency_penalty", "presence_penalty", "logit_bias", "best_of")


class SteerAPI(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        self.spec = SteeringSpec.from_model_args(model_args)
        vectors = [
            load_vector(v.path, v.key, arg=_arg("vector", i, len(self.spec.vectors)))
            for i, v in enumerate(self.spec.vectors)
        ]
        monitors = [
            load_vector(v.path, v.key, arg=_arg("monitor", i, len(self.spec.monitor)))
            for i, v in enumerate(self.spec.monitor)
        ]
        self.adapter = read_adapter(self.spec.adapter) if self.spec.adapter else None
        ablated = load_terms(self.spec.ablate, "ablate")
        self.shared: SharedModel = load_shared(
            model_name, self.spec.dtype, self.spec.device, self.spec.device_map
        )
        if self.adapter is not None:
            attach_adapter(self.shared, self.adapter)  # adapters of one base model share its weights
        self.bases = ablation_bases(self.spec.ablate, ablated, self.shared.num_layers, self.shared.hidden_size)
        self.deltas = _deltas(self.shared, self.spec, vectors)
        self.monitors = _monitors(self.shared, self.spec, monitors)
        self.signature = _signature(self.shared, self.spec, vectors, monitors, self.adapter, ablated)
        super().__init__(
            model_name=model_name,
            base_url=f"steer://{model_name}?steering={self.signature}",
            api_key=api_key,
            api_key_vars=["HF_TOKEN"],
            config=config,
        )
        if self.shared.batcher is None:
            self.shared.batcher = Batcher(lock=self.shared.lock)
        self._vector_files = [
            {"path": v.path, "key": v.key, "sha256": v.sha256, "metadata": v.metadata} for v in vectors
        ]

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> tuple[ModelOutput, ModelCall]:
        if tools:
            raise ValueError("the steer provider does not support tool calling (tools were given)")
        if config.num_choices not in (None, 1):
            raise ValueError(f"the steer provider generates one choice; num_choices={config.num_choices}")
        if config.max_tokens is not None and config.max_tokens < 1:  # 0 must not mean the default
            raise ValueError(f"max_tokens must be at least 1, got {config.max_tokens}")
        start = time.monotonic()
        prompt = render_prompt(self.shared.tokenizer, input)
        ids = self.shared.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        request = GenRequest(
            input_ids=tuple(ids),
            max_tokens=DEFAULT_MAX_TOKENS if config.max_tokens is None else int(config.max_tokens),
            stop_seqs=tuple(config.stop_seqs or ()),
            seed=config.seed,
        )
        sampling = _sampling(config, self.shared)
        key: Hashable = (self.signature, sampling)
        result, batch_size = await self.shared.batcher.submit(
            key, request, self._run_batch, self.spec.batch_size
        )
        elapsed = time.monotonic() - start
        ignored = [f for f in _IGNORED_FIELDS if getattr(config, f, None) is not None]
        metadata: dict[str, Any] = {"steering": self.signature, "batch_size": batch_size}
        if ignored:
            metadata["ignored_config"] = ignored
        metadata.update(result.extras)
        output = ModelOutput(
            model=self.model_name,
            choices=[
                ChatCompletionChoice(
                    message=ChatMessageAssistant(content=result.text, model=self.model_name, source="generate"),
                    stop_reason=result.stop_reason,
                    logprobs=self._logprobs(result),
                )
            ],
            usage=ModelUsage(
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                total_tokens=result.input_tokens + result.output_tokens,
            ),
            time=elapsed,
            metadata=metadata,
        )
        call = ModelCall.create(
            request={
                "prompt": prompt,
                "input_tokens": result.input_tokens,
                "sampling": sampling.__dict__,
                "max_tokens": request.max_tokens,
                "stop_seqs": list(request.stop_seqs),
                "seed": request.seed,
                "steering": self.spec.describe(),
                "vector_files": self._vector_files,
                "adapter": {"path": self.adapter.path, "sha256": self.adapter.sha256} if self.adapter else None,
                "signature": self.signature,
            },
            response={"text": result.text, "stop_reason": result.stop_reason, "batch_size": batch_size},
            time=elapsed,
        )
        return output, call

    def _run_batch(self, key: Hashable, requests: Sequence[GenRequest], info: BatchInfo) -> list[tuple[GenResult, int]]:
        sampling = key[1]  # type: ignore[index]
        # a batch holds one signature, so one adapter and one ablation; the ablation is entered first,
        # so at a layer that is also steered it runs last: the stream has no component left along it
        ablation = ablate_residual(self.shared.model, self.bases) if self.bases else nullcontext()
        with adapter_active(self.shared, self.adapter), ablation:
            results = generate_batch(
                self.shared,
                requests,
                sampling,
                deltas=self.deltas,
                positions=self.spec.positions,
                monitors=self.monitors,
            )
        return [(r, info.size) for r in results]

    def _logprobs(self, result: GenResult) -> Logprobs | None:
        if result.logprobs is None:
            return None
        decode = self.shared.tokenizer.decode
        content = []
        for lp in result.logprobs:
            token = decode([lp.token_id])
            tops = [
                TopLogprob(token=decode([t]), logprob=v, bytes=list(decode([t]).encode()))
                for t, v in lp.top
            ]
            content.append(Logprob(token=token, logprob=lp.logprob, bytes=list(token.encode()), top_logprobs=tops))
        return Logprobs(content=content)

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    def max_connections(self) -> int:
        # enough requests in flight to fill a batch
        return self.spec.batch_size

    def connection_key(self) -> str:
        # each steering configuration fills its own batches
        return self.signature

    async def count_text_tokens(self, text: str) -> int:
        return len(self.shared.tokenizer(text, add_special_tokens=False)["input_ids"])


def _arg(name: str, i: int, n: int) -> str:
    return name if n == 1 else f"{name}[{i}]"


def _deltas(shared: SharedModel, spec: SteeringSpec, vectors: list[LoadedVector]) -> dict[int, torch.Tensor]:
    """coef·v summed per layer (several vectors at one layer add up), float32 on the CPU."""
    deltas: dict[int, torch.Tensor] = {}
    for i, (term, vec) in enumerate(zip(spec.vectors, vectors)):
        check_layer(term.layer, shared.num_layers, _arg("layer", i, len(vectors)))
        check_fits(vec, term.layer, shared.hidden_size, shared.num_layers, _arg("vector", i, len(vectors)))
        delta = term.coef * vec.row(term.layer)
        deltas[term.layer] = deltas[term.layer] + delta if term.layer in deltas else delta
    return deltas


def _monitors(shared: SharedModel, spec: SteeringSpec, vectors: list[LoadedVector]) -> list[tuple[str, int, torch.Tensor]]:
    out = []
    for i, (term, vec) in enumerate(zip(spec.monitor, vectors)):
        check_layer(term.layer, shared.num_layers, _arg("monitor_layer", i, len(vectors)))
        check_fits(vec, term.layer, shared.hidden_size, shared.num_layers, _arg("monitor", i, len(vectors)))
        name = f"{Path(vec.path).stem}{'' if vec.key == 'vector' else '#' + vec.key}@{term.layer}"
        out.append((name, term.layer, vec.row(term.layer)))
    return out


def _signature(
    shared: SharedModel,
    spec: SteeringSpec,
    vectors: list[LoadedVector],
    monitors: list[LoadedVector],
    adapter: Adapter | None = None,
    ablated: list[LoadedVector] | None = None,
) -> str:
    payload: dict[str, Any] = {
        "model": shared.path,
        "dtype": str(shared.dtype),
        "positions": spec.positions if vectors else None,
        "terms": [[v.sha256, v.key, t.layer, t.coef] for t, v in zip(spec.vectors, vectors)],
        "monitor": [[v.sha256, v.key, t.layer] for t, v in zip(spec.monitor, monitors)],
    }
    # only when used, so the signatures (and cache keys) of existing configurations do not change
    if adapter is not None:
        payload["adapter"] = adapter.sha256
    if ablated:
        payload["ablate"] = [[v.sha256, v.key, t.layer] for t, v in zip(spec.ablate, ablated)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _sampling(config: GenerateConfig, shared: SharedModel) -> Sampling:
    """temperature 0 is greedy; unset temperature follows the model's generation_config."""
    gen = shared.model.generation_config
    temperature = config.temperature
    if temperature is None:
        greedy = not getattr(gen, "do_sample", False)
        temperature = float(getattr(gen, "temperature", None) or 1.0)
        top_p = config.top_p if config.top_p is not None else getattr(gen, "top_p", None)
        top_k = config.top_k if config.top_k is not None else getattr(gen, "top_k", None)
    else:
        greedy = temperature <= 0
        top_p, top_k = config.top_p, config.top_k
    if config.top_p is not None and not 0 < config.top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {config.top_p}")
    return Sampling(
        greedy=greedy,
        temperature=float(temperature),
        top_p=None if greedy else top_p,
        top_k=None if greedy else top_k,
        logprobs=bool(config.logprobs or config.top_logprobs),
        top_logprobs=int(config.top_logprobs or 0),
        json_schema=schema_text(config.response_schema),
    )
