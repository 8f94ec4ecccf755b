"""Choosing the next token of every row, and logprobs read back once after the decode loop.

Seeded sampling is per row (each request's own `torch.Generator`), so a request's text does not
depend on what it was batched with. Logprobs stay on the device during decoding: each step
keeps the chosen tokens' log-softmax values and the top-k, and `collect_logprobs` reads them all
at the end, so a step costs one host transfer (the chosen ids), not one per row and value.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


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


@dataclass
class TokenLogprob:
    token_id: int
    logprob: float
    top: list[tuple[int, float]]


StepLogprobs = tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]  # rows, chosen, top values, top ids


def row_generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def choose(logits: torch.Tensor, s: Sampling, generators: list[torch.Generator | None]) -> torch.Tensor:
    """The next token of each row: argmax, or a draw after temperature, top-k and top-p."""
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


def step_logprobs(rows: list[int], logits: torch.Tensor, chosen: torch.Tensor, top: int) -> StepLogprobs:
    """Log-softmax of the raw logits: the chosen tokens' values and the top-k (k >= 1), on the device."""
    logprobs = torch.log_softmax(logits, dim=-1)
    values, indices = torch.topk(logprobs, max(top, 1), dim=-1)
    return list(rows), logprobs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1), values, indices


def to_lists(tensors: list[torch.Tensor]) -> list[list]:
    """`[t.tolist() for t in tensors]` (same leading shapes but the first) in one host transfer:
    on a GPU each `.tolist()` is a sync, and a decode loop leaves one tensor per step."""
    if not tensors:
        return []
    flat = torch.cat(tensors).tolist()
    out, start = [], 0
    for t in tensors:
        out.append(flat[start : start + t.shape[0]])
        start += t.shape[0]
    return out


def collect_logprobs(steps: list[StepLogprobs], out_ids: list[list[int]]) -> list[list[TokenLogprob]]:
    """Per row, one `TokenLogprob` per generated token (steps after a row finished are skipped)."""
    lps: list[list[TokenLogprob]] = [[] for _ in out_ids]
    chosen, values, indices = (to_lists([step[k] for step in steps]) for k in (1, 2, 3))
    for (rows, *_), lp_step, vs_step, ix_step in zip(steps, chosen, values, indices):
        for i, lp, vs, ix in zip(rows, lp_step, vs_step, ix_step):
            if len(lps[i]) < len(out_ids[i]):
                lps[i].append(TokenLogprob(out_ids[i][len(lps[i])], lp, list(zip(ix, vs))))
    return lps
