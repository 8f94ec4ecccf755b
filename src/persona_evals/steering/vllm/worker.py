"""Steering inside a vLLM worker: per-request terms applied at each request's own tokens.

vLLM runs one forward over the tokens of many requests at once (prefill chunks and decode steps of
different requests, concatenated). Before each forward, `Runtime` reads the model runner's batch
(which request owns which token span, and how many of its tokens were computed before: so each
token's absolute position) and each request's payload (`wire`), and builds a `Plan`: per layer,
which token rows get which delta added, which are ablated in which basis, which are monitored or
captured. Forward hooks on the decoder blocks apply it; rows of unsteered requests are never
touched.

Layer L is the residual stream after decoder block L, as in the HF path (``hidden_states[L]``).
vLLM's blocks return ``(hidden, residual)`` and the next block (or the final norm, after the last
block) reads their sum, so a term is added to ``hidden`` and monitors read ``hidden + residual``.
Within a layer the order is the HF path's: steering, then ablation, then monitors.

Positions (a request of prompt length P; position p is absolute): ``prompt`` p < P; ``response``
p >= P - 1 (the last prompt position, then every generated token fed back); ``all`` every p.
Ablation applies at every position. Monitors read p >= P - 1.

The runtime is installed by an RPC (`wire.INSTALL_RPC`, added to vLLM's workers by our plugin),
never by importing this module, and only on an engine that runs eagerly: a compiled or CUDA-graph
engine would replay a graph captured without the hooks (steering silently lost), so it is refused
with a reason the provider shows. It needs vLLM's V1 model runner (`VLLM_USE_V2_MODEL_RUNNER=0`).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from persona_evals.steering.vllm import wire

logger = logging.getLogger(__name__)

MAX_RECORDS = 20_000  # records never taken (a client gone, an extra forward after a take) are dropped oldest first
MAX_CONFIGS = 256


@dataclass
class _Group:
    """Rows of one layer that share one configuration (a delta, a basis or monitor directions)."""

    rows: list[np.ndarray] = field(default_factory=list)  # token indices, per request
    owners: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (key, positions) per request
    tensor: torch.Tensor | None = None


@dataclass
class _LayerOps:
    add_index: torch.Tensor | None = None
    add_rows: torch.Tensor | None = None  # [n, hidden]: the delta of each indexed token
    add_keys: list[tuple[str, int]] = field(default_factory=list)  # (key, tokens) for the record
    ablate: list[tuple[torch.Tensor, torch.Tensor, list[tuple[str, int]]]] = field(default_factory=list)  # (token index, basis, (key, tokens))
    monitor: list[tuple[torch.Tensor, torch.Tensor, list[tuple[str, np.ndarray]], list[int]]] = field(default_factory=list)
    capture: list[tuple[torch.Tensor, list[tuple[str, np.ndarray]]]] = field(default_factory=list)
    norms: list[tuple[torch.Tensor, list[tuple[str, int]]]] = field(default_factory=list)


@dataclass
class Plan:
    layers: dict[int, _LayerOps]
    score: list[tuple[str, int, tuple[int, ...]]]  # (key, request's row in the batch, child ids): read from its logits
    keys: list[str] = field(default_factory=list)  # every request with terms in this forward
    watch: list[tuple[str, int, int]] = field(default_factory=list)  # (key, row in the batch, position sampled after)


class Runtime:
    """Hooks on one worker's model and the records they fill (one per worker process)."""

    def __init__(self, worker: Any) -> None:
        from persona_evals.steering.layers import decoder_blocks

        runner = worker.model_runner
        self.runner = runner
        self.model = runner.get_model()
        self.blocks = decoder_blocks(self.model)
        self.num_layers = len(self.blocks)
        self.hidden = int(worker.vllm_config.model_config.get_hidden_size())
        self.device = next(self.model.parameters()).device
        self.dtype = worker.vllm_config.model_config.dtype
        self.records: OrderedDict[str, wire.Record] = OrderedDict()
        self.plan: Plan | None = None
        self._parsed: dict[str, tuple[str, wire.Request | None, wire.Terms | None, str | None]] = {}
        self._terms: OrderedDict[str, wire.Terms] = OrderedDict()
        self._device_terms: dict[tuple[str, str, int], torch.Tensor] = {}
        self._boundary: torch.Tensor | None = None
        self.record_rank = _is_first_tp_rank()
        for layer, block in enumerate(self.blocks, start=1):
            if type(block).__name__ != "PPMissingLayer":  # another pipeline rank holds it
                block.register_forward_hook(self._hook(layer))
        self._logits_next: Plan | None = None
        forward = runner._model_forward
        compute_logits = self.model.compute_logits

        def model_forward(*args: Any, **kwargs: Any) -> Any:
            self.plan = self._safe_plan()
            self._logits_next = None
            try:
                return forward(*args, **kwargs)
            finally:
                self._logits_next, self.plan = self.plan, None

        def logits(hidden: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            # the runner's first call after a forward computes one row per request, in batch order
            # (through a LoRA engine's logits layer too): candidate scores and overflow checks read those rows
            out = compute_logits(hidden, *args, **kwargs)
            plan, self._logits_next = self._logits_next, None
            if plan is not None and isinstance(out, torch.Tensor) and self.record_rank:
                try:
                    self._check_finite(out, plan.watch)
                    if plan.score:
                        self._score(out, plan.score)
                except Exception as ex:  # never take the engine down: fail those requests
                    self._fail(plan.keys, ex)
            return out

        runner._model_forward = model_forward
        self.model.compute_logits = logits

    # --- records -------------------------------------------------------------------------------

    def _record(self, key: str) -> wire.Record:
        rec = self.records.get(key)
        if rec is None:
            rec = self.records[key] = {}
            while len(self.records) > MAX_RECORDS:
                self.records.popitem(last=False)
        return rec

    def take(self, keys: Sequence[str]) -> dict[str, wire.Record]:
        return {k: self.records.pop(k) for k in keys if k in self.records}

    def _fail(self, keys: Sequence[str], ex: BaseException) -> None:
        """Record an error for `keys` (their samples fail at the client), and carry on."""
        logger.exception("persona-evals steering failed in a forward")
        for key in keys:
            errors = self._record(key).setdefault("errors", [])
            text = f"persona-evals steering failed inside vLLM: {type(ex).__name__}: {ex}"
            if text not in errors:
                errors.append(text)

    def _safe_plan(self) -> Plan | None:
        try:
            return self._build_plan()
        except Exception as ex:  # the engine serves everyone else: fail only the steered requests
            self._fail(self._payload_keys(), ex)
            return None

    def _payload_keys(self) -> list[str]:
        keys = []
        for _, request, _, _ in self._parsed.values():
            if request is not None:
                keys.append(request.key)
        return keys

    # --- the plan of one forward ---------------------------------------------------------------

    def _request(self, req_id: str, state: Any) -> tuple[wire.Request | None, wire.Terms | None, str | None]:
        """The request's payload and terms (decoded once per request, terms once per content)."""
        params = getattr(state, "sampling_params", None)
        extra = getattr(params, "extra_args", None) or {}
        text = extra.get(wire.PAYLOAD_KEY)
        if text is None:
            return None, None, None
        held = self._parsed.get(req_id)
        if held is not None and held[0] is text:
            return held[1], held[2], held[3]
        request, terms, error = None, None, None
        try:
            request = wire.decode_request(text)
            terms = self._terms.get(request.config)
            if terms is None:
                terms = wire.decode_terms(request.terms)
                self._check(terms)
                self._terms[request.config] = terms
                while len(self._terms) > MAX_CONFIGS:
                    self._terms.popitem(last=False)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as ex:
            error = f"persona-evals steering cannot be applied: {ex}"
            if request is not None:
                self._record(request.key).setdefault("errors", []).append(error)
            terms = None
        self._parsed[req_id] = (text, request, terms, error)
        return request, terms, error

    def _check(self, terms: wire.Terms) -> None:
        if terms.hidden != self.hidden:
            raise ValueError(f"its vectors have hidden size {terms.hidden}, this model's is {self.hidden}")
        for layer in terms.layers:
            if not 1 <= layer <= self.num_layers:
                raise ValueError(f"layer {layer} is outside 1..{self.num_layers}")
        if terms.positions not in ("prompt", "response", "all"):
            raise ValueError(f"unknown positions {terms.positions!r}")

    def _device(self, config: str, what: str, layer: int, t: torch.Tensor) -> torch.Tensor:
        """A term's tensor on the model's device and dtype, kept per (config, what, layer)."""
        key = (config, what, layer)
        held = self._device_terms.get(key)
        if held is None:
            if len(self._device_terms) > 4 * MAX_CONFIGS:
                self._device_terms.clear()
            held = self._device_terms[key] = t.to(device=self.device, dtype=self.dtype if what != "monitor" else torch.float32)
        return held

    def _build_plan(self) -> Plan | None:
        runner = self.runner
        batch = runner.input_batch
        n = int(batch.num_reqs)
        if n == 0:
            return None
        req_ids = batch.req_ids[:n]
        mine = []
        for i, rid in enumerate(req_ids):
            state = runner.requests.get(rid)
            if state is None:
                continue
            request, terms, _ = self._request(rid, state)
            if request is not None and terms is not None:
                mine.append((i, request, terms, state))
        if len(self._parsed) > 2 * len(runner.requests) + 64:
            self._parsed = {k: v for k, v in self._parsed.items() if k in runner.requests}
        if not mine:
            return None
        starts = runner.query_start_loc.np[: n + 1]
        computed = batch.num_computed_tokens_cpu[:n]
        adds: dict[int, dict[str, _Group]] = {}
        ablates: dict[int, dict[str, _Group]] = {}
        monitors: dict[int, dict[str, _Group]] = {}
        captures: dict[int, _Group] = {}
        norms: dict[int, list[tuple[np.ndarray, str]]] = {}
        score: list[tuple[str, int, tuple[int, ...]]] = []
        watch: list[tuple[str, int, int]] = []
        for i, request, terms, state in mine:
            a, b = int(starts[i]), int(starts[i + 1])
            if b <= a:
                continue
            first = int(computed[i])  # absolute position of token row a
            pos = np.arange(first, first + (b - a))
            rows = np.arange(a, b)
            prompt_len = request.prompt_len
            if terms.positions == "prompt":
                sel = pos < prompt_len
            elif terms.positions == "response":
                sel = pos >= prompt_len - 1
            else:
                sel = np.ones(b - a, dtype=bool)
            if sel.any():
                for layer in terms.add:
                    g = adds.setdefault(layer, {}).setdefault(request.config, _Group())
                    g.rows.append(rows[sel])
                    g.owners.append((request.key, pos[sel]))
            for layer in terms.ablate:
                g = ablates.setdefault(layer, {}).setdefault(request.config, _Group())
                g.rows.append(rows)
                g.owners.append((request.key, pos))
            watched = pos >= prompt_len - 1
            if terms.monitor and watched.any():
                for layer in {m for m, _ in terms.monitor}:
                    g = monitors.setdefault(layer, {}).setdefault(request.config, _Group())
                    g.rows.append(rows[watched])
                    g.owners.append((request.key, pos[watched]))
            for layer in terms.capture:
                g = captures.setdefault(layer, _Group())
                g.rows.append(rows)
                g.owners.append((request.key, pos))
            if terms.norms:
                counted = (pos >= 1) & (pos < prompt_len)
                if counted.any():
                    for layer in range(1, self.num_layers + 1):
                        norms.setdefault(layer, []).append((rows[counted], request.key))
            if request.score is not None and first + (b - a) == int(state.num_prompt_tokens):
                score.append((request.key, i, request.score))  # its prefill ends here: its logits row is the last prompt position
            if terms.add or terms.ablate:
                watch.append((request.key, i, first + (b - a)))
        plan = Plan(layers={}, score=score, keys=[r.key for _, r, _, _ in mine], watch=watch)
        terms_of = {r.config: t for _, r, t, _ in mine}
        for layer, groups in adds.items():
            ops = plan.layers.setdefault(layer, _LayerOps())
            index, deltas = [], []
            for config, g in groups.items():
                idx = np.concatenate(g.rows)
                index.append(idx)
                delta = self._device(config, "add", layer, terms_of[config].add[layer])
                deltas.append(delta.unsqueeze(0).expand(len(idx), -1))
                ops.add_keys.extend((key, len(p)) for key, p in g.owners)
            ops.add_index = torch.from_numpy(np.concatenate(index)).to(self.device)
            ops.add_rows = torch.cat(deltas)
        for layer, groups in ablates.items():
            ops = plan.layers.setdefault(layer, _LayerOps())
            for config, g in groups.items():
                basis = self._device(config, "ablate", layer, terms_of[config].ablate[layer])
                index = torch.from_numpy(np.concatenate(g.rows)).to(self.device)
                ops.ablate.append((index, basis, [(key, len(p)) for key, p in g.owners]))
        for layer, groups in monitors.items():
            ops = plan.layers.setdefault(layer, _LayerOps())
            for config, g in groups.items():
                t = terms_of[config]
                columns = [j for j, (m, _) in enumerate(t.monitor) if m == layer]
                units = torch.stack([t.monitor[j][1] for j in columns])
                units = self._device(config, "monitor", layer, units)
                ops.monitor.append((torch.from_numpy(np.concatenate(g.rows)).to(self.device), units, g.owners, columns))
        for layer, g in captures.items():
            ops = plan.layers.setdefault(layer, _LayerOps())
            ops.capture.append((torch.from_numpy(np.concatenate(g.rows)).to(self.device), g.owners))
        for layer, parts in norms.items():
            ops = plan.layers.setdefault(layer, _LayerOps())
            ops.norms.append(
                (torch.from_numpy(np.concatenate([r for r, _ in parts])).to(self.device), [(k, len(r)) for r, k in parts])
            )
        return plan

    # --- the hooks -----------------------------------------------------------------------------

    def _hook(self, layer: int) -> Callable[..., Any]:
        def hook(_module: Any, _args: Any, output: Any) -> Any:
            plan = self.plan
            if plan is None:
                return None
            ops = plan.layers.get(layer)
            if ops is None:
                return None
            pair = isinstance(output, tuple)
            h = output[0] if pair else output
            r = output[1] if pair and len(output) > 1 and isinstance(output[1], torch.Tensor) else None
            try:
                h = self._apply(layer, ops, h, r)
            except Exception as ex:  # never take the engine down: fail this forward's steered requests
                self._fail(plan.keys, ex)
                self.plan = None
                return None
            return (h, *output[1:]) if pair else h

        return hook

    def _apply(self, layer: int, ops: _LayerOps, h: torch.Tensor, r: torch.Tensor | None) -> torch.Tensor:
        def stream(index: torch.Tensor) -> torch.Tensor:
            return h[index] if r is None else h[index] + r[index]

        # in place: `h` is the block's fresh output in an eager forward (no graph holds its address)
        counts = list(ops.add_keys)
        if ops.add_index is not None:
            h.index_add_(0, ops.add_index, ops.add_rows)
        for index, basis, owners in ops.ablate:
            s = stream(index)
            h.index_add_(0, index, -((s @ basis.T) @ basis))
            counts.extend(owners)
        if not self.record_rank:
            return h
        for key, count in counts:  # tokens steered or ablated, per layer: the client's proof
            applied = self._record(key).setdefault("applied", {})
            applied[str(layer)] = applied.get(str(layer), 0) + count
        for index, units, owners, columns in ops.monitor:
            values = (stream(index).float() @ units.T).tolist()
            at = 0
            for key, positions in owners:
                mon = self._record(key).setdefault("monitor", {})
                for p in positions.tolist():
                    row = mon.setdefault(str(p), [None] * (max(columns) + 1))
                    if len(row) <= max(columns):
                        row.extend([None] * (max(columns) + 1 - len(row)))
                    for c, v in zip(columns, values[at]):
                        row[c] = v
                    at += 1
        for index, owners in ops.capture:
            values = stream(index).float().tolist()
            at = 0
            for key, positions in owners:
                cap = self._record(key).setdefault("capture", {}).setdefault(str(layer), {})
                for p in positions.tolist():
                    cap[str(p)] = values[at]
                    at += 1
        for index, owners in ops.norms:
            values = stream(index).float().norm(dim=-1).tolist()
            at = 0
            for key, count in owners:
                held = self._record(key).setdefault("norms", {}).setdefault(str(layer), [0.0, 0])
                held[0] += sum(values[at : at + count])
                held[1] += count
                at += count
        return h

    def _check_finite(self, logits: torch.Tensor, watch: list[tuple[str, int, int]]) -> None:
        """A steered request whose logits overflowed (NaN or inf: float16 under a huge coef) gets
        the position in its record; the provider fails it naming dtype and coefs."""
        if not watch:
            return
        rows = torch.tensor([row for _, row, _ in watch], device=logits.device)
        bad = ~torch.isfinite(logits[rows]).all(dim=-1)
        if bool(bad.any()):  # one host read per forward with steered requests
            for (key, _, position), is_bad in zip(watch, bad.tolist()):
                if is_bad:
                    self._record(key).setdefault("nonfinite", position)

    def _score(self, logits: torch.Tensor, score: list[tuple[str, int, tuple[int, ...]]]) -> None:
        """Candidate scoring: at a request's last position, log P(each child token) and log P(a
        token that ends the word), from the model's own logits (`candidates.boundary_mask`)."""
        rows = torch.tensor([row for _, row, _ in score], device=logits.device)
        logprobs = torch.log_softmax(logits[rows].float(), dim=-1)
        boundary = self._boundary_mask(logprobs.shape[-1]).to(logprobs.device)
        ends = torch.logsumexp(logprobs.masked_fill(~boundary, float("-inf")), dim=-1).tolist()
        for j, (key, _, children) in enumerate(score):
            picked = logprobs[j, list(children)].tolist() if children else []
            self._record(key)["score"] = [*picked, ends[j]]

    def _boundary_mask(self, vocab: int) -> torch.Tensor:
        if self._boundary is None or self._boundary.shape[0] != vocab:
            from transformers import AutoTokenizer

            from persona_evals.steering.candidates import boundary_mask

            config = self.runner.vllm_config.model_config
            tokenizer = AutoTokenizer.from_pretrained(
                config.tokenizer, revision=config.tokenizer_revision, trust_remote_code=config.trust_remote_code
            )
            self._boundary = boundary_mask(tokenizer, vocab)
        return self._boundary


def _is_first_tp_rank() -> bool:
    try:
        from vllm.distributed import get_tensor_model_parallel_rank

        return get_tensor_model_parallel_rank() == 0
    except Exception:  # no parallel state (a bare test harness)
        return True


def refusal(worker: Any) -> str | None:
    """Why steering cannot run on this worker's engine, or None."""
    config = worker.vllm_config
    runner = getattr(worker, "model_runner", None)
    if runner is None or not all(hasattr(runner, a) for a in ("input_batch", "query_start_loc", "_model_forward", "requests")):
        return (
            "persona-evals steering needs vLLM's V1 model runner: start vLLM with VLLM_USE_V2_MODEL_RUNNER=0"
        )
    from vllm.config import CompilationMode

    compiled = config.compilation_config.mode != CompilationMode.NONE
    graphs = getattr(config.compilation_config, "cudagraph_mode", None)
    if compiled or (graphs is not None and str(graphs).split(".")[-1] != "NONE") or not config.model_config.enforce_eager:
        return (
            "persona-evals steering needs an eager engine (a compiled model or a captured CUDA graph would "
            "run without the steering hooks): start vLLM with --enforce-eager (enforce_eager=True)"
        )
    if config.speculative_config is not None:
        return "persona-evals steering does not support speculative decoding"
    return None


_RUNTIME: Runtime | None = None


def install(worker: Any) -> dict[str, Any]:
    """Install the runtime on this worker (once); report the model it steers, or why it cannot."""
    global _RUNTIME
    reason = refusal(worker)
    if reason is None and _RUNTIME is None:
        try:
            _RUNTIME = Runtime(worker)
        except (ValueError, AttributeError) as ex:  # e.g. decoder blocks where we do not look for them
            reason = f"persona-evals steering cannot hook this model: {ex}"
    config = worker.vllm_config.model_config
    from vllm.platforms import current_platform

    return {
        "device": str(current_platform.device_type),
        "ok": reason is None,
        "reason": reason,
        "version": wire.VERSION,
        "model": str(config.model),
        "num_layers": _RUNTIME.num_layers if _RUNTIME is not None else None,
        "hidden_size": int(config.get_hidden_size()),
        "dtype": str(config.dtype),
    }


def take(worker: Any, keys: Sequence[str]) -> dict[str, wire.Record]:
    """Hand over (and forget) the records of `keys`."""
    if _RUNTIME is None:
        return {}
    return _RUNTIME.take(list(keys))
