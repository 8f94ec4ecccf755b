"""Batched generation with steering: one prefill, then one token per step with a KV cache.

We own the decode loop (rather than calling `model.generate`) so that every forward knows exactly
which positions are prompt, padding and response, so each row stops at its own stop sequence or
max_tokens, and so seeded sampling is per row (a request's text does not depend on what it was
batched with). Position ids and masks follow transformers' own generate, so greedy text and
logits match plain `model.generate` when nothing is steered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Literal

import torch

from persona_evals.steering.hooks import PositionMask, Recording, record_residual, steer_residual
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.spec import Positions


@dataclass(frozen=True)
class Sampling:
    """Settings shared by a whole batch (part of the batch key)."""

    greedy: bool = True
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    json_schema: str | None = None  # constrain every row to this JSON schema (see constrained.py)


@dataclass(frozen=True)
class GenRequest:
    input_ids: tuple[int, ...]
    max_tokens: int
    stop_seqs: tuple[str, ...] = ()
    seed: int | None = None


@dataclass
class TokenLogprob:
    token_id: int
    logprob: float
    top: list[tuple[int, float]]


@dataclass
class GenResult:
    token_ids: list[int]
    text: str
    stop_reason: Literal["stop", "max_tokens"]
    input_tokens: int
    output_tokens: int
    logprobs: list[TokenLogprob] | None = None
    extras: dict[str, object] = field(default_factory=dict)


def position_masks(
    positions: Positions, attention_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Steering masks for the prefill ([B, P]) and for each decode step ([B, 1]).

    `prompt`: real prompt tokens, never padding. `response`: the last prompt position (so the
    first generated token is steered) and every fed-back generated token. `all`: both.
    """
    prefill = torch.zeros_like(attention_mask, dtype=torch.float32)
    decode = torch.zeros((attention_mask.shape[0], 1), dtype=torch.float32, device=attention_mask.device)
    if positions in ("prompt", "all"):
        prefill = attention_mask.to(torch.float32)
    if positions in ("response", "all"):
        prefill[:, -1] = 1.0  # left padding: the last column is every row's last prompt token
        decode += 1.0
    return prefill, decode


def generate_batch(
    shared: SharedModel,
    requests: Sequence[GenRequest],
    sampling: Sampling,
    deltas: Mapping[int, torch.Tensor] | None = None,
    positions: Positions = "response",
    monitors: Sequence[tuple[str, int, torch.Tensor]] = (),
) -> list[GenResult]:
    """Generate for every request in one batch, adding ``deltas[L]`` after block L.

    `monitors` are (name, layer, direction): each result's ``extras["monitor"][name]`` holds the
    projection (a·v/‖v‖) of the mean response activation (``proj``) and of the last prompt
    token (``prompt_last_proj``) at that layer, as the model ran (steered, if steering).
    """
    model, tok = shared.model, shared.tokenizer
    device = shared.device
    pad_id = tok.pad_token_id
    lengths = [len(r.input_ids) for r in requests]
    width = max(lengths)
    ids = torch.full((len(requests), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(requests), width), dtype=torch.long)
    for i, r in enumerate(requests):
        ids[i, width - lengths[i] :] = torch.tensor(r.input_ids, dtype=torch.long)
        attn[i, width - lengths[i] :] = 1
    ids, attn = ids.to(device), attn.to(device)
    pos = (attn.cumsum(-1) - 1).masked_fill(attn == 0, 0)

    prefill_mask, decode_mask = position_masks(positions, attn)
    pm = PositionMask(prefill_mask)
    steering = steer_residual(model, deltas, pm) if deltas else nullcontext()
    generators = [_generator(r.seed, device) for r in requests]
    max_new = max(r.max_tokens for r in requests)
    out_ids: list[list[int]] = [[] for _ in requests]
    steps_lp: list[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]] = []
    reason: list[str | None] = [None] * len(requests)
    eos = shared.eos_token_ids

    from transformers import DynamicCache

    layers = sorted({layer for _, layer, _ in monitors})
    recording = record_residual(model, layers) if monitors else nullcontext()

    constraint = None
    if sampling.json_schema is not None:
        from persona_evals.steering.constrained import JsonConstraint

        constraint = JsonConstraint(tok, sampling.json_schema, len(requests))

    with torch.inference_mode(), steering, recording as rec:
        cache = DynamicCache(config=model.config)
        kwargs = {"logits_to_keep": 1} if _supports_logits_to_keep(model) else {}
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, past_key_values=cache, use_cache=True, **kwargs)
        logits = out.logits[:, -1, :].float()
        pm.mask = decode_mask
        active = list(range(len(requests)))  # original row of each row still in the batch
        for step in range(max_new):
            if constraint is not None:
                constraint.restrict(logits, active, [reason[i] is not None for i in active])
            next_ids = _choose(logits, sampling, [generators[i] for i in active])
            if sampling.logprobs:  # kept on the device; read once after the loop
                steps_lp.append((list(active), *_step_logprobs(logits, next_ids, sampling.top_logprobs)))
            chosen = next_ids.tolist()  # the one host sync of a step
            for j, i in enumerate(active):
                r = requests[i]
                if reason[i] is not None:  # only with monitors, where finished rows stay in
                    next_ids[j] = pad_id
                    continue
                t = chosen[j]
                out_ids[i].append(t)
                if t in eos:
                    reason[i] = "stop"
                elif constraint is not None and constraint.advance(i, t):
                    reason[i] = "stop"  # the JSON value is complete
                elif r.stop_seqs and _hits_stop(tok, out_ids[i], r.stop_seqs):
                    reason[i] = "stop"
                elif len(out_ids[i]) >= r.max_tokens:
                    reason[i] = "max_tokens"
            finished = all(x is not None for x in reason) or step == max_new - 1
            if finished and not monitors:
                break
            still = [j for j, i in enumerate(active) if reason[i] is None]
            if not monitors and len(still) < len(active):
                # drop finished rows from the batch (and the cache): no compute on rows that are done
                keep = torch.tensor(still, device=attn.device)
                cache.batch_select_indices(keep)
                attn, pos, next_ids = attn[keep], pos[keep], next_ids[keep]
                active = [active[j] for j in still]
                pm.mask = decode_mask[: len(active)]
            attn = torch.cat([attn, attn.new_ones((attn.shape[0], 1))], dim=-1)
            pos = pos[:, -1:] + 1
            out = model(
                input_ids=next_ids.unsqueeze(-1),
                attention_mask=attn,
                position_ids=pos,
                past_key_values=cache,
                use_cache=True,
            )
            logits = out.logits[:, -1, :].float()
            if finished:  # monitors: the last token has now been fed back too
                break

    monitor_values = _monitor_values(rec, monitors, out_ids, eos) if monitors else None
    lps = _collect_logprobs(steps_lp, out_ids) if sampling.logprobs else None
    results = []
    for i, r in enumerate(requests):
        token_ids = out_ids[i]
        body = [t for t in token_ids if t not in eos]
        text = tok.decode(body, skip_special_tokens=True)
        text = _cut_at_stop(text, r.stop_seqs)
        results.append(
            GenResult(
                token_ids=token_ids,
                text=text,
                stop_reason="stop" if reason[i] == "stop" else "max_tokens",
                input_tokens=lengths[i],
                output_tokens=len(token_ids),
                logprobs=lps[i] if lps is not None else None,
                extras={"monitor": monitor_values[i]} if monitor_values else {},
            )
        )
    return results


def _monitor_values(
    rec: Recording,
    monitors: Sequence[tuple[str, int, torch.Tensor]],
    out_ids: list[list[int]],
    eos: frozenset[int],
) -> list[dict[str, dict[str, float | None]]]:
    """Per row: projections of the response mean (tokens before EOS) and the last prompt token."""
    values: list[dict[str, dict[str, float | None]]] = [{} for _ in out_ids]
    for name, layer, direction in monitors:
        outs = rec.outputs[layer]
        prompt_last = outs[0][:, -1, :].float()
        decoded = torch.cat([o.float() for o in outs[1:]], dim=1) if len(outs) > 1 else None
        unit = (direction / direction.norm()).to(prompt_last.device)
        for i, ids in enumerate(out_ids):
            n = len(ids) - (1 if ids and ids[-1] in eos else 0)
            proj = None
            if n > 0 and decoded is not None:
                proj = float(decoded[i, :n].mean(dim=0) @ unit)
            values[i][name] = {"proj": proj, "prompt_last_proj": float(prompt_last[i] @ unit)}
    return values


def _supports_logits_to_keep(model: torch.nn.Module) -> bool:
    import inspect

    return "logits_to_keep" in inspect.signature(model.forward).parameters


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def _choose(logits: torch.Tensor, s: Sampling, generators: list[torch.Generator | None]) -> torch.Tensor:
    if s.greedy:
        return logits.argmax(dim=-1)
    scores = logits / max(s.temperature, 1e-6)
    if s.top_k is not None and s.top_k > 0:
        kth = torch.topk(scores, min(s.top_k, scores.shape[-1]), dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if s.top_p is not None and s.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
        probs = sorted_scores.softmax(dim=-1)
        # drop a token when the mass before it already reaches top_p (the first token always stays)
        drop = (probs.cumsum(dim=-1) - probs) >= s.top_p
        sorted_scores = sorted_scores.masked_fill(drop, float("-inf"))
        scores = torch.full_like(scores, float("-inf")).scatter(-1, order, sorted_scores)
    probs = scores.softmax(dim=-1)
    if all(g is None for g in generators):
        return torch.multinomial(probs, 1).squeeze(-1)
    picks = [torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(generators)]
    return torch.cat(picks)


def _step_logprobs(logits: torch.Tensor, chosen: torch.Tensor, top: int) -> tuple[torch.Tensor, ...]:
    """Log-softmax of the raw logits: the chosen tokens' values and the top-k (k >= 1), on the device."""
    logprobs = torch.log_softmax(logits, dim=-1)
    values, indices = torch.topk(logprobs, max(top, 1), dim=-1)
    return logprobs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1), values, indices


def _collect_logprobs(
    steps: list[tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]], out_ids: list[list[int]]
) -> list[list[TokenLogprob]]:
    """Per row, one `TokenLogprob` per generated token (steps where the row was done are skipped)."""
    lps: list[list[TokenLogprob]] = [[] for _ in out_ids]
    for rows, chosen, values, indices in steps:
        for j, (i, lp, vs, ix) in enumerate(zip(rows, chosen.tolist(), values.tolist(), indices.tolist())):
            if len(lps[i]) < len(out_ids[i]):
                lps[i].append(TokenLogprob(out_ids[i][len(lps[i])], lp, list(zip(ix, vs))))
    return lps


def _hits_stop(tok, ids: list[int], stops: tuple[str, ...]) -> bool:
    # decode only a tail long enough to contain any stop sequence plus a straddling token
    tail = tok.decode(ids[-(max(len(s) for s in stops) + 4) :], skip_special_tokens=True)
    return any(s in tail for s in stops)


def _cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    cuts = [text.find(s) for s in stops if s and s in text]
    return text[: min(cuts)] if cuts else text
