"""Score fixed replies: the probability that the model's reply begins with each candidate, as a word.

Why: a 0-100 rating judge read from the first token's top alternatives only works when every
number is one token. SmolLM2, Qwen and Llama split digits ("85" is "8", "5"), so the first
token says 8 for 80-89 and for 8 alike. Here each candidate's whole token sequence is scored.

Definition. A candidate s whose in-context tokens are t_1..t_m (the prompt and s tokenised
together, minus the prompt's tokens; s alone when the two merge at the boundary) gets

    P(s) = P(t_1 | prompt) · ... · P(t_m | prompt, t_<m) · P(boundary | prompt, t_1..t_m)

where "boundary" is the event that the next token does not begin with a letter or digit (an end
of sequence, a space, punctuation, a newline). So P("8") counts replies "8", "8.", "8\\n" and
not "85"; P("10") does not count "100". For candidates that are different words these events
are disjoint, so their probabilities add up to at most 1: their sum is the probability, under
the model's own next-token distributions, that the reply begins with one of them. Other
tokenisations of the same text (a model writing "85" as "85" on a tokenizer that would split it)
are not counted.

How: the prompts of a batch are prefilled once (the KV cache); then one forward feeds a token
tree in which every distinct prefix of the candidates' token sequences is one node, at position
prompt length + depth, attending to its prompt and its own ancestors only (a 4D attention mask).
For the integers 0-100 on a split-digit tokenizer that is 101 nodes in one forward per batch of
prompts. Each row keeps its steering (vectors at its positions, ablations), as when generating.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from inspect_ai.model import ChatCompletionChoice, ChatMessageAssistant, ModelOutput, ModelUsage

from persona_evals.protocol import CANDIDATE_LOGPROBS
from persona_evals.steering.generation import DynamicDecoder, left_pad
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.rows import BatchTerms, RowSteering, UNSTEERED, applied

_LOGIT_BUDGET = 2**26  # floats of logits per forward (rows x nodes x vocab); more rows are chunked
# tokenizer -> bool mask over the vocabulary; weak keys, so a freed tokenizer's entry goes with it
# (an id() key could be reused by a later tokenizer and hand it the wrong mask)
_BOUNDARY: weakref.WeakKeyDictionary[Any, torch.Tensor] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class CandidateRequest:
    """One prompt and the in-context token ids of each candidate (see `candidate_ids`)."""

    input_ids: tuple[int, ...]
    candidates: tuple[tuple[int, ...], ...]
    steering: RowSteering = UNSTEERED


def candidate_output(
    model: str, candidates: Sequence[str], logprobs: Sequence[float], input_tokens: int, elapsed: float
) -> ModelOutput:
    """The scores as an inspect output: ``metadata[CANDIDATE_LOGPROBS]`` ({s: log P(s)}, see
    `persona_evals.protocol`), the likeliest candidate as the completion (so the log reads like the
    judge's answer)."""
    best = max(range(len(candidates)), key=lambda i: logprobs[i])
    metadata: dict[str, Any] = {
        CANDIDATE_LOGPROBS: {s: (lp if math.isfinite(lp) else None) for s, lp in zip(candidates, logprobs)},
    }
    return ModelOutput(
        model=model,
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=candidates[best], model=model, source="generate"),
                stop_reason="stop",
            )
        ],
        usage=ModelUsage(input_tokens=input_tokens, output_tokens=0, total_tokens=input_tokens),
        time=elapsed,
        metadata=metadata,
    )


def candidate_ids(tokenizer, prompt: str, prompt_ids: Sequence[int], candidates: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """Each candidate's tokens as they follow `prompt`: (prompt + s) tokenised, minus the prompt's
    tokens; where the prompt's tokens change at the boundary, s tokenised alone."""
    joined = tokenizer([prompt + s for s in candidates], add_special_tokens=False)["input_ids"]
    n = len(prompt_ids)
    out = []
    for s, ids in zip(candidates, joined):
        if list(ids[:n]) == list(prompt_ids) and len(ids) > n:
            out.append(tuple(ids[n:]))
        else:
            alone = tokenizer(s, add_special_tokens=False)["input_ids"]
            if not alone:
                raise ValueError(f"candidate {s!r} has no tokens")
            out.append(tuple(alone))
    return tuple(out)


def score_candidates(shared: SharedModel, requests: Sequence[CandidateRequest]) -> list[list[float]]:
    """Per request, log P(s) of each of its candidates (the definition in the module docstring)."""
    head = shared.model.get_output_embeddings()
    vocab = int(head.weight.shape[0]) if head is not None else int(shared.model.config.vocab_size)
    boundary = boundary_mask(shared.tokenizer, vocab).to(shared.device)
    trees = [CandidateTree(r.candidates) for r in requests]
    nodes = max(len(t.tokens) for t in trees)
    chunk = max(1, _LOGIT_BUDGET // max(1, (nodes + 1) * vocab))
    out: list[list[float]] = []
    with torch.inference_mode():
        for start in range(0, len(requests), chunk):
            end = start + chunk
            out.extend(_score(shared, requests[start:end], trees[start:end], boundary))
    return out


def boundary_mask(tokenizer, vocab: int) -> torch.Tensor:
    """True for tokens that end a word before them: their text does not begin with a letter or digit."""
    mask = _BOUNDARY.get(tokenizer)
    if mask is None or mask.shape[0] != vocab:
        texts = tokenizer.batch_decode([[i] for i in range(min(vocab, len(tokenizer)))])
        mask = torch.ones(vocab, dtype=torch.bool)  # ids past the tokenizer's (padding rows) end nothing
        mask[: len(texts)] = torch.tensor([not (t[:1].isalnum()) for t in texts])
        _BOUNDARY[tokenizer] = mask
    return mask


class CandidateTree:
    """The candidates' token sequences as a prefix tree: node j is token `tokens[j]` at `depth[j]`
    under `parent[j]` (-1: the prompt); candidate c ends at node `ends[c]`. (The vLLM engine reads
    the same tree one node per request: `vllm.backend.VllmBackend.score`.)"""

    def __init__(self, candidates: Sequence[Sequence[int]]) -> None:
        self.tokens: list[int] = []
        self.parent: list[int] = []
        self.depth: list[int] = []
        self.ends: list[int] = []
        index: dict[tuple[int, ...], int] = {}
        for seq in candidates:
            at = -1
            for d in range(len(seq)):
                prefix = tuple(seq[: d + 1])
                if prefix not in index:
                    index[prefix] = len(self.tokens)
                    self.tokens.append(seq[d])
                    self.parent.append(at)
                    self.depth.append(d)
                at = index[prefix]
            self.ends.append(at)

    def prefix(self, j: int) -> list[int]:
        """The tokens from the root to node j (none for j = -1, the prompt itself)."""
        out = []
        while j >= 0:
            out.append(self.tokens[j])
            j = self.parent[j]
        return out[::-1]

    def children(self, j: int) -> list[int]:
        """The nodes under node j (-1: the roots)."""
        return [c for c, p in enumerate(self.parent) if p == j]

    def log_probs(self, picked: Sequence[float], ends: Sequence[float]) -> list[float]:
        """Each candidate's log P: `picked[j]` = log P(node j's token | its parent's prefix),
        `ends[j]` = log P(a boundary token | node j's prefix)."""
        path = [0.0] * len(self.tokens)  # log P(the reply begins with node j's prefix)
        for j, p in enumerate(self.parent):  # a parent comes before its children
            path[j] = picked[j] + (path[p] if p >= 0 else 0.0)
        return [path[e] + ends[e] for e in self.ends]

    def ancestors(self, n: int) -> torch.Tensor:
        """[n, n] bool: node i sees node j iff j is i or one of its ancestors (n >= len(tokens);
        padding nodes see themselves only)."""
        seen = torch.eye(n, dtype=torch.bool)
        for i, p in enumerate(self.parent):
            if p >= 0:
                seen[i] |= seen[p]
        return seen


def _score(
    shared: SharedModel, requests: Sequence[CandidateRequest], trees: Sequence[CandidateTree], boundary: torch.Tensor
) -> list[list[float]]:
    model, device, pad = shared.model, shared.device, shared.tokenizer.pad_token_id
    n, nodes = len(requests), max(len(t.tokens) for t in trees)
    ids, attn = left_pad([r.input_ids for r in requests], pad, device)
    width = ids.shape[1]
    tree_ids = torch.full((n, nodes), pad, dtype=torch.long)
    tree_pos = torch.zeros((n, nodes), dtype=torch.long)
    sees = torch.zeros((n, nodes, width + nodes), dtype=torch.bool)
    for i, (r, t) in enumerate(zip(requests, trees)):
        k = len(r.input_ids)
        tree_ids[i, : len(t.tokens)] = torch.tensor(t.tokens)
        tree_pos[i] = k
        tree_pos[i, : len(t.tokens)] += torch.tensor(t.depth)
        sees[i, :, width - k : width] = True
        sees[i, :, width:] = t.ancestors(nodes)
    tree_ids, tree_pos = tree_ids.to(device), tree_pos.to(device)
    mask = torch.zeros(sees.shape, dtype=shared.dtype).masked_fill(~sees, torch.finfo(shared.dtype).min)
    rows = [r.steering for r in requests]
    steers = any(r.deltas or r.ablate for r in rows)
    terms = BatchTerms(rows, attn, shared.dtype, shared.hidden_size) if steers else None
    prompt = DynamicDecoder(shared, ids, attn, terms)  # the prefill of generation, its cache reused
    with applied(model, terms):
        first = torch.log_softmax(prompt.prefill(), dim=-1)  # [n, vocab]
        if terms is not None:
            terms.decoding()
            terms.position.mask = terms.decode_mask.expand(-1, nodes)  # every tree node is a reply token
        out = model(input_ids=tree_ids, attention_mask=mask[:, None].to(device), position_ids=tree_pos,
                    past_key_values=prompt.cache, use_cache=True)
        after = torch.log_softmax(out.logits.float(), dim=-1)  # [n, nodes, vocab]
    ends = torch.logsumexp(after.masked_fill(~boundary, float("-inf")), dim=-1).tolist()  # [n, nodes]
    parent = torch.full((n, nodes), -1, dtype=torch.long)
    for i, t in enumerate(trees):
        parent[i, : len(t.parent)] = torch.tensor(t.parent)
    parent = parent.to(device)
    rows_ix = torch.arange(n, device=device)[:, None]
    from_first = first.gather(1, tree_ids)  # a root's token under the prompt's next-token distribution
    from_parent = after[rows_ix, parent.clamp(min=0), tree_ids]
    picked = torch.where(parent < 0, from_first, from_parent).tolist()
    return [t.log_probs(picked[i], ends[i]) for i, t in enumerate(trees)]
