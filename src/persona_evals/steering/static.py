"""Decoding with a static KV cache and, on CUDA, a compiled decode step (`-M compile=auto|true|false`).

On a GPU a decode step of a small or medium model is bound by Python and kernel launches, not
FLOPs. A static cache gives every step the same shapes, so the step can be compiled once
(`torch.compile(mode="reduce-overhead")`: inductor kernels replayed as a CUDA graph) and
launched as one graph. Shapes are bucketed (rows to a power of two, cache length to a power of
two >= 64) so a few graphs serve every batch; padding rows are inert.

Steering under compilation: dynamo does not guard on module hooks (``skip_nnmodule_hook_guards``),
so a graph traced with hooks on layers {2} would silently keep applying exactly those after the
hooks change. Here the decode step always runs with a steering hook on *every* block, reading
per-layer ``[rows, 1, hidden]`` deltas and a ``[rows, 1]`` position mask from static buffers
that each batch overwrites in place (zeros where a row steers nothing). The hooks are still
attached only while their batch runs; the graph is the same for every batch of a bucket.
Monitored rows never take this path (their recording is a side effect a graph cannot replay).

A compile or graph-capture failure here (a compile error, a graph break, an unsupported op) makes
`generate_batch` decode that batch and every later one eagerly, with one warning in the log:
never a wrong answer. Other errors (out of memory above all) reach the caller as they are.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from persona_evals.compat import allow_recompiles, mark_static_address
from persona_evals.errors import SteeringConfigError
from persona_evals.steering.layers import supports_logits_to_keep
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.rows import UNSTEERED, BatchTerms, RowSteering

logger = logging.getLogger(__name__)

MIN_CACHE_LEN = 64
_CACHES_KEPT = 2  # static caches are large (rows x length x layers): keep the two most recent shapes


def compile_reason(shared: SharedModel, device_map: Any) -> str | None:
    """Why a compiled decode step cannot run for this model (None: it can)."""
    if device_map is not None:
        return "the model is sharded with device_map (a compiled step needs the model on one GPU)"
    if shared.device.type != "cuda":
        return f"the model is on {shared.device} (compiled decode uses CUDA graphs: it needs a CUDA device)"
    try:
        import triton  # noqa: F401
    except ImportError:
        return "triton is not installed (torch.compile needs it on CUDA)"
    return None


def resolve_compile(mode: str, shared: SharedModel, device_map: Any) -> StaticDecoding | None:
    """`auto`: a compiled static decoder when the model is on one CUDA device; `true`: the same,
    or a `SteeringConfigError` naming the argument; `false`: none (dynamic cache, eager)."""
    if mode == "false":
        return None
    reason = compile_reason(shared, device_map)
    if reason is not None:
        if mode == "true":
            raise SteeringConfigError(f"compile=true cannot work here: {reason}; use compile=auto or compile=false")
        return None
    if shared.static is None:
        shared.static = StaticDecoding(backend="inductor", mode="reduce-overhead")
    return shared.static


@dataclass(eq=False)
class StaticDecoding:
    """One model's static-cache decoding: caches and steering buffers per shape bucket, the step.

    `backend` None runs the step eagerly (the reference path the tests compare); "inductor"
    compiles it (with `mode`), "eager"/"aot_eager" trace it with dynamo without generating code.
    """

    backend: str | None = "inductor"
    mode: str | None = "reduce-overhead"
    error: str | None = None
    _caches: OrderedDict[tuple[int, int], Any] = field(default_factory=OrderedDict)
    _buffers: dict[int, tuple[dict[int, torch.Tensor], torch.Tensor]] = field(default_factory=dict)
    _step: Callable[..., torch.Tensor] | None = None

    @property
    def usable(self) -> bool:
        return self.error is None

    def failed(self, ex: BaseException) -> None:
        self.error = f"{type(ex).__name__}: {ex}"
        logger.warning("steer: compiled decoding failed, decoding eagerly from now on (%s)", self.error[:500])

    def decoder(
        self, shared: SharedModel, ids: torch.Tensor, attn: torch.Tensor, rows: Sequence[RowSteering], max_new: int
    ) -> StaticDecoder:
        return StaticDecoder(self, shared, ids, attn, rows, max_new)

    def cache(self, config: Any, rows: int, length: int) -> Any:
        from transformers import StaticCache

        key = (rows, length)
        cache = self._caches.pop(key, None)
        if cache is None:
            while len(self._caches) >= _CACHES_KEPT:
                self._caches.popitem(last=False)
            cache = StaticCache(config=config, max_cache_len=length)
        else:
            cache.reset()
        self._caches[key] = cache
        return cache

    def buffers(self, rows: int, layers: Sequence[int], hidden: int, dtype: torch.dtype, device: torch.device):
        """Per-layer delta buffers ``[rows, 1, hidden]`` and the decode mask ``[rows, 1]``, fixed addresses."""
        held = self._buffers.get(rows)
        if held is None or next(iter(held[0].values())).dtype != dtype:
            add = {layer: torch.zeros(rows, 1, hidden, dtype=dtype, device=device) for layer in layers}
            mask = torch.zeros(rows, 1, dtype=dtype, device=device)
            for t in (*add.values(), mask):
                mark_static_address(t)
            held = self._buffers[rows] = (add, mask)
        return held

    def run_step(self, model: Any, ids: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor, cache: Any) -> torch.Tensor:
        if self._step is None:
            self._step = self._build(model)
        if self.backend is not None:
            torch.compiler.cudagraph_mark_step_begin()  # the previous step's outputs are consumed
        return self._step(ids, pos, mask, cache).clone()

    def _build(self, model: Any) -> Callable[..., torch.Tensor]:
        def step(ids: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor, cache: Any) -> torch.Tensor:
            out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True)
            return out.logits[:, -1, :].float()

        if self.backend is None:
            return step
        allow_recompiles(32)  # a few shape buckets (rows x cache length), each its own graph
        options = {"mode": self.mode} if self.backend == "inductor" and self.mode else {}
        return torch.compile(step, backend=self.backend, fullgraph=True, dynamic=False, **options)


class StaticDecoder:
    """Fixed shapes for every step: rows padded to a bucket, a preallocated cache, a full-length
    attention mask updated in place. Finished rows stay in the batch (fed padding)."""

    drops_rows = False

    def __init__(
        self,
        decoding: StaticDecoding,
        shared: SharedModel,
        ids: torch.Tensor,
        attn: torch.Tensor,
        rows: Sequence[RowSteering],
        max_new: int,
    ) -> None:
        n, width = ids.shape
        size, length = bucket(n), max(MIN_CACHE_LEN, bucket(width + max_new))
        self.decoding, self.model, self.n, self.width, self.pad = decoding, shared.model, n, width, shared.tokenizer.pad_token_id
        self.ids = torch.full((size, width), self.pad, dtype=torch.long, device=ids.device)
        self.ids[:n] = ids
        prompt = torch.zeros((size, width), dtype=torch.long, device=ids.device)
        prompt[:n] = attn
        prompt[n:, -1] = 1  # a padding row attends to one position (no all-masked softmax)
        self.mask = torch.zeros((size, length), dtype=torch.long, device=ids.device)
        self.mask[:, :width] = prompt
        self.pos = (prompt.cumsum(-1) - 1).masked_fill(prompt == 0, 0)
        self.cache = decoding.cache(shared.model.config, size, length)
        layers = range(1, shared.num_layers + 1)
        terms = BatchTerms(list(rows) + [UNSTEERED] * (size - n), prompt, shared.dtype, shared.hidden_size, layers)
        add, decode_mask = decoding.buffers(size, layers, shared.hidden_size, shared.dtype, ids.device)
        for layer in layers:  # the step reads the same tensors every batch
            add[layer].copy_(terms.add[layer])
            terms.add[layer] = add[layer]
        decode_mask.copy_(terms.decode_mask)
        terms.decode_mask = decode_mask
        self.terms = terms
        self.steps = 0

    def prefill(self) -> torch.Tensor:
        kwargs = {"logits_to_keep": 1} if supports_logits_to_keep(self.model) else {}
        out = self.model(
            input_ids=self.ids, attention_mask=self.mask, position_ids=self.pos,
            past_key_values=self.cache, use_cache=True, **kwargs,
        )
        return out.logits[: self.n, -1, :].float()

    def step(self, next_ids: torch.Tensor, keep: list[int] | None) -> torch.Tensor:
        ids = torch.full((self.ids.shape[0], 1), self.pad, dtype=torch.long, device=next_ids.device)
        ids[: self.n, 0] = next_ids
        self.mask[:, self.width + self.steps] = 1
        self.pos = self.pos[:, -1:] + 1
        self.steps += 1
        return self.decoding.run_step(self.model, ids, self.pos, self.mask, self.cache)[: self.n]


def bucket(n: int) -> int:
    """The smallest power of two >= n."""
    return 1 << max(0, n - 1).bit_length()
