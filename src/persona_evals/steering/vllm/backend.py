"""The `steer` provider's vLLM engine (``-M engine=vllm``): requests as the HF engine sees them
(`generation.GenRequest` with its `rows.RowSteering`), run by vLLM with our plugin.

The provider renders and tokenises prompts itself (the same chat template and tokens as the HF
engine), checks vectors against the model's config before any generation, and computes the same
steering signature. Here each request becomes one vLLM request (`calls.Call`) carrying its terms
(`wire`); after it finishes, the worker's record proves the steering was applied (a missing
record or layer fails the sample: never unsteered text labelled steered) and holds the monitor
projections, which are turned into the HF engine's ``metadata["monitor"]``.

Monitors read the mean over generated tokens (without a final end-of-sequence token) and the last
prompt position. vLLM never feeds a request's last generated token back through the model, so
when that token counts (no end-of-sequence token), one more one-token request reads it: the
prompt and the generated tokens as the prompt, the same terms at the same positions (its
``prompt_len`` is the original one), in the same cache-salt group (so its prefix comes from the
cache when prefix caching is on).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import torch

from persona_evals.errors import SteeringConfigError
from persona_evals.protocol import MONITOR, MonitorReading, MonitorReadings
from persona_evals.steering.adapters import Adapter
from persona_evals.steering.candidates import CandidateRequest, CandidateTree
from persona_evals.steering.generation import GenRequest, GenResult, cut_at_stop
from persona_evals.steering.rows import RowSteering
from persona_evals.steering.sampling import Sampling, TokenLogprob
from persona_evals.steering.spec import SteeringSpec
from persona_evals.steering.vllm import wire
from persona_evals.steering.vllm.calls import Call, Completion, Lora

# engine arguments the provider sets from its own args: -M vllm_<name> may not set them
_OWN_ARGS = {"model": "the model name", "tokenizer": "the model name", "dtype": "-M dtype", "max_num_seqs": "-M batch_size"}
_DEFAULT_LORA_RANK = 16  # vLLM's default max_lora_rank


@dataclass(eq=False)
class VllmModel:
    """What the provider reads about a model that vLLM runs (the `loading.SharedModel` fields it uses)."""

    name: str
    path: str
    tokenizer: Any
    dtype: torch.dtype
    num_layers: int
    hidden_size: int
    eos_token_ids: frozenset[int]
    generation_config: Any


def load_model_info(name: str, dtype: str) -> VllmModel:
    """The model's config, tokenizer and generation config (no weights), resolved like `load_shared`."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from persona_evals.steering.loading import pick_dtype, resolve_model_path

    path = resolve_model_path(name)
    config = AutoConfig.from_pretrained(path)
    text = config.get_text_config()
    try:
        generation = GenerationConfig.from_pretrained(path)
    except OSError:
        generation = GenerationConfig.from_model_config(config)
    tokenizer = AutoTokenizer.from_pretrained(path)
    eos: set[int] = set()
    for source in (generation.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            eos.add(source)
        elif source:
            eos.update(int(t) for t in source)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return VllmModel(
        name=name,
        path=path,
        tokenizer=tokenizer,
        dtype=pick_dtype(dtype, device),
        num_layers=int(text.num_hidden_layers),
        hidden_size=int(text.hidden_size),
        eos_token_ids=frozenset(eos),
        generation_config=generation,
    )


def engine_args(spec: SteeringSpec, model: VllmModel, adapter: Adapter | None) -> dict[str, Any]:
    """vLLM's engine arguments: ours (model, dtype, eager, batch size, LoRA), then -M vllm_<name>."""
    from vllm.engine.arg_utils import AsyncEngineArgs

    known = {f.name for f in dataclasses.fields(AsyncEngineArgs)}
    from vllm.config import StructuredOutputsConfig

    args: dict[str, Any] = {
        "model": model.path,
        "tokenizer": model.path,
        "dtype": str(model.dtype).removeprefix("torch."),
        "enforce_eager": True,  # hooks run only in eager forwards (worker.refusal)
        "max_num_seqs": spec.batch_size,
        # response_schema as on the HF engine: llguidance, JSON without free whitespace (an engine-wide setting)
        "structured_outputs_config": StructuredOutputsConfig(backend="guidance", disable_any_whitespace=True),
    }
    for name, value in spec.vllm_args:
        arg = f"vllm_{name}"
        if name not in known:
            raise SteeringConfigError(f"{arg}: vLLM has no engine argument {name!r} (see vLLM's EngineArgs)")
        if name == "enforce_eager":
            if str(value).lower() not in ("true", "1"):
                raise SteeringConfigError(
                    f"{arg}={value}: the steering hooks run only in eager forwards (a compiled model or CUDA graph "
                    "would replay without them); engine=vllm always runs eagerly"
                )
            continue
        if name in _OWN_ARGS:
            raise SteeringConfigError(f"{arg}: set by the provider; use {_OWN_ARGS[name]} instead")
        args[name] = value
    if adapter is not None:
        # engines with the same arguments are one engine: a base model given -M vllm_enable_lora=true
        # shares its engine with its adapters (up to rank 16, vLLM's default; more needs vllm_max_lora_rank)
        if str(args.setdefault("enable_lora", True)).lower() not in ("true", "1"):
            raise SteeringConfigError("vllm_enable_lora: an adapter needs a LoRA-enabled engine; drop vllm_enable_lora=false")
        rank = int(adapter.config.get("r", 8))
        if rank > int(args.get("max_lora_rank", _DEFAULT_LORA_RANK)):
            if "max_lora_rank" in args:
                raise SteeringConfigError(f"vllm_max_lora_rank={args['max_lora_rank']} is below the adapter's rank {rank}")
            args["max_lora_rank"] = next((r for r in (32, 64, 128, 256, 320, 512) if rank <= r), rank)
    return args


def _lora(adapter: Adapter | None) -> Lora | None:
    if adapter is None:
        return None
    return Lora(name=adapter.name, int_id=int(adapter.sha256[:7], 16) + 1, path=adapter.path)


class VllmBackend:
    """Requests of one `steer` instance, run on its (shared) vLLM engine or server."""

    def __init__(self, spec: SteeringSpec, model: VllmModel, adapter: Adapter | None) -> None:
        self.model = model
        self.lora = _lora(adapter)
        if spec.server is not None:
            from persona_evals.steering.vllm.server import server_engine

            self.engine: Any = server_engine(spec.server)
        else:
            from persona_evals.steering.vllm.engine import shared_engine

            self.engine = shared_engine(engine_args(spec, model, adapter))
        info = self.engine.info
        if info.get("num_layers") not in (None, model.num_layers) or info.get("hidden_size") != model.hidden_size:
            raise SteeringConfigError(
                f"engine: {self.engine.where} serves a model with {info.get('num_layers')} layers of size "
                f"{info.get('hidden_size')} ({info.get('model')}); {model.name} has {model.num_layers} of {model.hidden_size}"
            )
        self._encoded: dict[int, tuple[RowSteering, str | None, str | None]] = {}
        # vLLM 0.32's CPU runner stops the whole engine when a seeded request's prompt is chunked
        # (its CPU generator has no offset to rewind): seeds are not sent to a CPU engine
        self.seeds = info.get("device") != "cpu"

    def ignored(self, seed: int | None) -> list[str]:
        """GenerateConfig fields this engine does not honour for a request (for its metadata)."""
        return ["seed"] if seed is not None and not self.seeds else []

    def residual_norms(self) -> dict[int, float]:
        """``{L: mean‖h_L‖}`` (`norms`): the HF engine's cache, or measured here and cached for both."""
        from persona_evals.steering.norms import cached_norms

        m = self.model
        return cached_norms(m.path, m.dtype, m.num_layers, self._measure_norms)

    def _measure_norms(self) -> dict[int, float]:
        """`norms`' definition, on vLLM: every prompt position but the first, the base model (no
        adapter, no steering), each prompt in its own cache-salt group (every position computed)."""
        from persona_evals.steering.norms import norm_prompt_ids

        terms = wire.encode_terms(self.model.hidden_size, norms=True)
        calls = [
            Call(prompt_ids=tuple(ids), max_tokens=1, payload=wire.encode_request(uuid.uuid4().hex, len(ids), terms),
                 salt=f"persona-evals-norms:{uuid.uuid4().hex}")
            for ids in norm_prompt_ids(self.model.tokenizer)
        ]
        sums = dict.fromkeys(range(1, self.model.num_layers + 1), 0.0)
        count = 0
        for (_, record), call in zip(self.engine.run_calls(calls), calls):
            got = (record or {}).get("norms", {})
            if len(got) != self.model.num_layers:
                raise RuntimeError(f"{self.engine.where} did not measure the residual norms ({len(got)} layers recorded)")
            for layer, (total, n) in got.items():
                sums[int(layer)] += total
            count += len(call.prompt_ids) - 1
        return {layer: total / count for layer, total in sums.items()}

    def encoded(self, steering: RowSteering) -> tuple[str | None, str | None]:
        """(terms text, prefix-cache salt) of a request's steering; (None, None) when it has none.

        The salt is the content hash of what changes the model's keys and values (vectors and their
        positions, ablations): requests with other terms never reuse each other's cached prefix."""
        held = self._encoded.get(id(steering))
        if held is not None and held[0] is steering:
            return held[1], held[2]
        text = salt = None
        if steering.deltas or steering.ablate or steering.monitors:
            hidden = self.model.hidden_size
            text = wire.encode_terms(
                hidden, steering.positions, steering.deltas, steering.ablate, [(m.layer, m.direction) for m in steering.monitors]
            )
            if steering.deltas or steering.ablate:
                changing = wire.encode_terms(hidden, steering.positions, steering.deltas, steering.ablate)
                salt = "persona-evals:" + hashlib.sha256(changing.encode()).hexdigest()[:32]
        self._encoded[id(steering)] = (steering, text, salt)
        return text, salt

    async def generate(self, request: GenRequest, sampling: Sampling) -> GenResult:
        steering = request.steering
        terms, salt = self.encoded(steering)
        key = uuid.uuid4().hex
        prompt_len = len(request.input_ids)
        call = Call(
            prompt_ids=request.input_ids,
            max_tokens=request.max_tokens,
            temperature=0.0 if sampling.greedy else sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            seed=request.seed if self.seeds else None,
            stop=request.stop_seqs,
            stop_token_ids=tuple(sorted(self.model.eos_token_ids)),
            logprobs=max(sampling.top_logprobs, 1) if sampling.logprobs else None,
            json_schema=sampling.json_schema,
            payload=None if terms is None else wire.encode_request(key, prompt_len, terms),
            salt=salt,
            lora=self.lora,
        )
        done = await self.engine.generate(call)
        record = await self.engine.take(key) if terms is not None else None
        self._check(steering, record)
        if record and "nonfinite" in record:  # the provider raises its overflow error (dtype, coefs)
            return dataclasses.replace(
                self._result(done, prompt_len, request.stop_seqs, {}),
                error=f"non-finite logits (NaN or inf) at output token {max(1, record['nonfinite'] - prompt_len + 1)}",
            )
        extras: dict[str, object] = {}
        if steering.monitors:
            extras[MONITOR] = await self._monitor(call, steering, terms, prompt_len, done, record or {})
        return self._result(done, prompt_len, request.stop_seqs, extras)

    async def score(self, request: CandidateRequest) -> list[float]:
        """log P(each candidate, as a word) by `candidates`' definition, read one tree node per
        request: the prompt and the node's prefix, one token; at its last position the plugin
        reads log P of each child's token and of a word-ending token (`worker.Runtime._score`).
        The requests share the prompt's cached prefix when prefix caching is on."""
        import asyncio

        tree = CandidateTree(request.candidates)
        terms, salt = self.encoded(request.steering)
        terms = terms or wire.encode_terms(self.model.hidden_size)
        prompt_len = len(request.input_ids)
        nodes = [-1, *range(len(tree.tokens))]

        async def read(node: int) -> list[float]:
            key = uuid.uuid4().hex
            children = [tree.tokens[c] for c in tree.children(node)]
            call = Call(
                prompt_ids=tuple(request.input_ids) + tuple(tree.prefix(node)),
                max_tokens=1,
                payload=wire.encode_request(key, prompt_len, terms, score=children),
                salt=salt,
                lora=self.lora,
            )
            await self.engine.generate(call)
            record = await self.engine.take(key)
            self._check(request.steering, record)
            if not record or "score" not in record:
                raise RuntimeError(f"{self.engine.where} did not score the candidates (no record)")
            return record["score"]

        read_out = dict(zip(nodes, await asyncio.gather(*[read(n) for n in nodes])))
        picked = [0.0] * len(tree.tokens)
        for node, values in read_out.items():
            for c, value in zip(tree.children(node), values):
                picked[c] = value
        ends = [read_out[j][-1] for j in range(len(tree.tokens))]
        return tree.log_probs(picked, ends)

    def _check(self, steering: RowSteering, record: wire.Record | None) -> None:
        """Fail a request the engine did not steer as asked (never unsteered text labelled steered)."""
        if record and record.get("errors"):
            raise RuntimeError(f"{self.engine.where}: {'; '.join(record['errors'])}")
        wanted = set(steering.deltas) | set(steering.ablate)
        applied = (record or {}).get("applied", {})
        missing = sorted(layer for layer in wanted if not applied.get(str(layer)))
        if missing or (steering.monitors and not (record or {}).get("monitor")):
            raise RuntimeError(
                f"{self.engine.where} did not apply this request's steering (nothing recorded"
                f"{' at layer(s) ' + ', '.join(map(str, missing)) if missing else ''}): is our vLLM plugin installed "
                "where the engine runs? (pip install persona-evals there; vllm serve needs VLLM_PLUGINS=persona_evals)"
            )

    async def _monitor(
        self, call: Call, steering: RowSteering, terms: str | None, prompt_len: int, done: Completion, record: wire.Record
    ) -> MonitorReadings:
        """Per monitor: the mean projection over the counted generated tokens, and the last prompt position's."""
        values = dict(record.get("monitor", {}))
        ids = done.token_ids
        count = len(ids) - (1 if ids and ids[-1] in self.model.eos_token_ids else 0)
        last = str(prompt_len + count - 1)
        if count > 0 and last not in values:
            key = uuid.uuid4().hex
            probe = dataclasses.replace(
                call,
                prompt_ids=tuple(call.prompt_ids) + tuple(ids[:count]),
                max_tokens=1,
                stop=(),
                logprobs=None,
                json_schema=None,
                payload=wire.encode_request(key, prompt_len, terms or ""),
            )
            await self.engine.generate(probe)
            extra = await self.engine.take(key)
            self._check_probe(extra, last)
            values[last] = extra["monitor"][last]  # type: ignore[index]
        out: MonitorReadings = {}
        first = values[str(prompt_len - 1)]  # the last prompt position: always computed
        for j, m in enumerate(steering.monitors):
            taken = [values[str(prompt_len + k)][j] for k in range(count)]
            out[m.name] = MonitorReading(proj=sum(taken) / count if count > 0 else None, prompt_last_proj=first[j])
        return out

    def _check_probe(self, record: wire.Record | None, position: str) -> None:
        if not record or position not in record.get("monitor", {}):
            raise RuntimeError(f"{self.engine.where} did not record the monitors at position {position}")

    def _result(self, done: Completion, prompt_len: int, stops: tuple[str, ...], extras: dict[str, object]) -> GenResult:
        eos = self.model.eos_token_ids
        ids = done.token_ids
        if done.finish_reason not in ("stop", "length"):
            raise RuntimeError(f"{self.engine.where} ended the request with finish reason {done.finish_reason!r}")
        text = self.model.tokenizer.decode([t for t in ids if t not in eos], skip_special_tokens=True)
        logprobs = None
        if done.logprobs is not None:
            logprobs = [TokenLogprob(t, lp, list(top)) for t, lp, top in done.logprobs]
        return GenResult(
            token_ids=ids,
            text=cut_at_stop(text, stops),
            stop_reason="stop" if done.finish_reason == "stop" else "max_tokens",
            input_tokens=prompt_len,
            output_tokens=len(ids),
            logprobs=logprobs,
            extras=extras,
        )
