"""Batched generation with per-row steering: one prefill, then one token per step with a KV cache.

We own the decode loop (rather than calling `model.generate`) so that every forward knows exactly
which positions are prompt, padding and response, so each row stops at its own stop sequence or
max_tokens, and so each row carries its own steering (`rows.RowSteering`): a batch may mix
requests of several `steer` instances of one base model. Position ids and masks follow
transformers' own generate, so greedy text and logits match plain `model.generate` when nothing
is steered.

Two decoders run the steps: `DynamicDecoder` (a growing cache; finished rows leave the batch)
and `static.StaticDecoder` (a preallocated cache and fixed shapes, optionally a compiled step;
finished rows stay, fed padding). A row with monitors stays one step after it finishes, so its
last token's activation is recorded too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch

from persona_evals.compat import compile_failure, out_of_memory
from persona_evals.protocol import MONITOR
from persona_evals.steering.hooks import record_residual
from persona_evals.steering.layers import supports_logits_to_keep
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.rows import UNSTEERED, BatchTerms, RowSteering, applied
from persona_evals.steering.sampling import (
    Sampling,
    StepLogprobs,
    TokenLogprob,
    choose,
    collect_logprobs,
    row_generator,
    step_logprobs,
)

if TYPE_CHECKING:
    from persona_evals.steering.static import StaticDecoding

__all__ = ["GenRequest", "GenResult", "Sampling", "TokenLogprob", "generate_batch"]

NON_FINITE = "non_finite"  # a row's stop reason when its logits were NaN or inf


@dataclass(frozen=True)
class GenRequest:
    input_ids: tuple[int, ...]
    max_tokens: int
    stop_seqs: tuple[str, ...] = ()
    seed: int | None = None
    steering: RowSteering = UNSTEERED


@dataclass
class GenResult:
    token_ids: list[int]
    text: str
    stop_reason: Literal["stop", "max_tokens"]
    input_tokens: int
    output_tokens: int
    logprobs: list[TokenLogprob] | None = None
    extras: dict[str, object] = field(default_factory=dict)
    error: str | None = None  # the row failed (its text is what it had before): the provider raises


def generate_batch(
    shared: SharedModel,
    requests: Sequence[GenRequest],
    sampling: Sampling,
    static: StaticDecoding | None = None,
    interrupt: Callable[[], None] | None = None,
) -> list[GenResult]:
    """Generate for every request in one batch, each row steered by its own `RowSteering`.

    Each result's ``extras[MONITOR][name]`` holds the projection (a·v/‖v‖) of the mean response
    activation (``proj``) and of the last prompt token (``prompt_last_proj``) at that layer, as
    the model ran (steered, if steering).
    `static`: decode with a static cache (and a compiled step, when it says so); when torch cannot
    compile or capture that step, this batch and every later one decode eagerly, with one warning.
    Any other error (out of memory above all) reaches the caller as itself. `interrupt` is called
    before each decode step and may raise to abandon the batch (the decode thread closing at exit).
    """
    if static is not None and static.usable and not any(r.steering.monitors or r.steering.ablate for r in requests):
        try:
            return _generate(shared, requests, sampling, static, interrupt)
        except Exception as ex:
            if not compile_failure(ex):  # out of memory, or a failure eager decoding would meet too
                raise out_of_memory(ex) or ex
            static.failed(ex)  # torch could not compile or capture the step: decode eagerly from now on
    return _generate(shared, requests, sampling, None, interrupt)


class DynamicDecoder:
    """A growing KV cache; rows that are done leave the batch (and the cache)."""

    drops_rows = True

    def __init__(self, shared: SharedModel, ids: torch.Tensor, attn: torch.Tensor, terms: BatchTerms | None) -> None:
        from transformers import DynamicCache

        self.model, self.ids, self.attn = shared.model, ids, attn
        self.pos = (attn.cumsum(-1) - 1).masked_fill(attn == 0, 0)
        self.cache = DynamicCache(config=shared.model.config)
        self.terms = terms

    def prefill(self) -> torch.Tensor:
        kwargs = {"logits_to_keep": 1} if supports_logits_to_keep(self.model) else {}
        out = self.model(
            input_ids=self.ids, attention_mask=self.attn, position_ids=self.pos,
            past_key_values=self.cache, use_cache=True, **kwargs,
        )
        return out.logits[:, -1, :].float()

    def step(self, next_ids: torch.Tensor, keep: list[int] | None) -> torch.Tensor:
        if keep is not None:
            index = torch.tensor(keep, device=self.attn.device)
            self.cache.batch_select_indices(index)
            self.attn, self.pos, next_ids = self.attn[index], self.pos[index], next_ids[index]
            if self.terms is not None:
                self.terms.select(index)
        self.attn = torch.cat([self.attn, self.attn.new_ones((self.attn.shape[0], 1))], dim=-1)
        self.pos = self.pos[:, -1:] + 1
        out = self.model(
            input_ids=next_ids.unsqueeze(-1), attention_mask=self.attn, position_ids=self.pos,
            past_key_values=self.cache, use_cache=True,
        )
        return out.logits[:, -1, :].float()


def _generate(
    shared: SharedModel,
    requests: Sequence[GenRequest],
    sampling: Sampling,
    static: StaticDecoding | None,
    interrupt: Callable[[], None] | None = None,
) -> list[GenResult]:
    with torch.inference_mode():  # static caches and buffers are made, and reused, in inference mode
        return _decode(shared, requests, sampling, static, interrupt)


def _decode(
    shared: SharedModel,
    requests: Sequence[GenRequest],
    sampling: Sampling,
    static: StaticDecoding | None,
    interrupt: Callable[[], None] | None = None,
) -> list[GenResult]:
    tok, device, eos = shared.tokenizer, shared.device, shared.eos_token_ids
    n = len(requests)
    lengths = [len(r.input_ids) for r in requests]
    ids, attn = left_pad([r.input_ids for r in requests], tok.pad_token_id, device)
    rows = [r.steering for r in requests]
    if static is not None:
        dec = static.decoder(shared, ids, attn, rows, max(r.max_tokens for r in requests))
        terms = dec.terms
    else:
        steers = any(r.deltas or r.monitors or r.ablate for r in rows)
        terms = BatchTerms(rows, attn, shared.dtype, shared.hidden_size) if steers else None
        dec = DynamicDecoder(shared, ids, attn, terms)
    generators = [row_generator(r.seed, device) for r in requests]
    out_ids: list[list[int]] = [[] for _ in requests]
    reason: list[str | None] = [None] * n
    monitored = [bool(r.monitors) for r in rows]
    steps_lp: list[StepLogprobs] = []
    forward_rows: list[list[int]] = [list(range(n))]
    constraint = None
    if sampling.json_schema is not None:
        from persona_evals.steering.constrained import JsonConstraint

        constraint = JsonConstraint(tok, sampling.json_schema, n)

    with ExitStack() as stack:
        rec = None
        stack.enter_context(applied(shared.model, terms))
        if terms is not None and terms.monitored:
            rec = stack.enter_context(record_residual(shared.model, sorted(terms.units), terms.project))
        logits = dec.prefill()
        if terms is not None:
            terms.decoding()
        active = list(range(n))  # the request behind each row of the batch
        while True:
            if interrupt is not None:
                interrupt()
            # a row whose logits overflowed (float16 under a large coef) stops with an error: its
            # logits are zeroed so sampling cannot fail, and its token becomes -1 (no extra sync)
            bad = ~torch.isfinite(logits).all(dim=-1)
            logits.masked_fill_(bad[:, None], 0.0)
            if constraint is not None:
                constraint.restrict(logits, active, [reason[i] is not None for i in active])
            next_ids = choose(logits, sampling, [generators[i] for i in active]).masked_fill(bad, -1)
            if sampling.logprobs:  # kept on the device; read once after the loop
                steps_lp.append(step_logprobs(active, logits, next_ids, sampling.top_logprobs))
            chosen = next_ids.tolist()  # the one host sync of a step
            feed = []  # rows of the next forward: still generating, or a monitored row's last token
            for j, i in enumerate(active):
                if reason[i] is not None:
                    continue
                t = chosen[j]
                if t < 0:
                    reason[i] = NON_FINITE
                    continue
                out_ids[i].append(t)
                reason[i] = _stop(requests[i], out_ids[i], t, eos, tok, constraint, i)
                if reason[i] is None or (monitored[i] and t not in eos):
                    feed.append(j)
            if not feed:
                break
            generating = any(reason[active[j]] is None for j in feed)
            if dec.drops_rows:
                keep = feed if len(feed) < len(active) else None
                active = [active[j] for j in feed] if keep is not None else active
            else:
                keep = None
                fed = set(feed)
                pads = [j for j in range(len(active)) if j not in fed]
                if pads:
                    next_ids[pads] = tok.pad_token_id
            logits = dec.step(next_ids, keep)
            forward_rows.append(active)
            if not generating:
                break  # that forward only recorded monitored rows' last tokens

    counts = [len(ids) - (1 if ids and ids[-1] in eos else 0) for ids in out_ids]
    monitor_values = terms.monitor_values(rec.outputs, forward_rows, counts) if rec is not None else None
    lps = collect_logprobs(steps_lp, out_ids) if sampling.logprobs else None
    results = []
    for i, r in enumerate(requests):
        token_ids = out_ids[i]
        text = tok.decode([t for t in token_ids if t not in eos], skip_special_tokens=True)
        results.append(
            GenResult(
                token_ids=token_ids,
                text=cut_at_stop(text, r.stop_seqs),
                stop_reason="stop" if reason[i] == "stop" else "max_tokens",
                input_tokens=lengths[i],
                output_tokens=len(token_ids),
                logprobs=lps[i] if lps is not None else None,
                extras={MONITOR: monitor_values[i]} if monitor_values and monitor_values[i] else {},
                error=f"non-finite logits (NaN or inf) at output token {len(token_ids) + 1}" if reason[i] == NON_FINITE else None,
            )
        )
    return results


def left_pad(inputs: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids left-padded to one width, and the attention mask (1 on real tokens)."""
    width = max(len(x) for x in inputs)
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(inputs), width), dtype=torch.long)
    for i, x in enumerate(inputs):
        ids[i, width - len(x) :] = torch.tensor(x, dtype=torch.long)
        attn[i, width - len(x) :] = 1
    return ids.to(device), attn.to(device)


def _stop(r: GenRequest, ids: list[int], t: int, eos: frozenset[int], tok, constraint, row: int) -> str | None:
    """Why the row stops after token `t`, or None."""
    if t in eos:
        return "stop"
    if constraint is not None and constraint.advance(row, t):
        return "stop"  # the JSON value is complete
    if r.stop_seqs and _hits_stop(tok, ids, r.stop_seqs):
        return "stop"
    if len(ids) >= r.max_tokens:
        return "max_tokens"
    return None


def _hits_stop(tok, ids: list[int], stops: tuple[str, ...]) -> bool:
    # decode only a tail long enough to contain any stop sequence plus a straddling token
    tail = tok.decode(ids[-(max(len(s) for s in stops) + 4) :], skip_special_tokens=True)
    return any(s in tail for s in stops)


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    cuts = [text.find(s) for s in stops if s and s in text]
    return text[: min(cuts)] if cuts else text
