"""Pooled residual-stream activations of prompt + answer pairs, batched, one forward per batch.

For every layer 0..num_layers we pool each sample three ways: the mean over the answer's tokens
(`response_avg`), the mean over the prompt's tokens (`prompt_avg`) and the last prompt token
(`prompt_last`). Row L is the residual stream after decoder block L, row 0 the embeddings; row
num_layers is the raw output of the last block (transformers' `hidden_states[num_layers]` has the
final norm applied, which is not what steering at that layer adds to).

The prompt length comes from concatenating token ids (no re-tokenisation at the prompt/answer
boundary), empty answers are dropped (their mean would be NaN), padding is masked out of every
pool, and it runs batched under `inference_mode`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from persona_evals.steering.hooks import record_residual
from persona_evals.steering.loading import SharedModel

POOLINGS = ("response_avg", "prompt_avg", "prompt_last")


@dataclass(frozen=True)
class Pair:
    """A templated prompt (ending with the generation prompt) and the answer that followed."""

    prompt_ids: tuple[int, ...]
    answer_ids: tuple[int, ...]


def encode_pair(shared: SharedModel, prompt: str, answer: str) -> Pair:
    tok = shared.tokenizer
    return Pair(
        tuple(tok(prompt, add_special_tokens=False)["input_ids"]),
        tuple(tok(answer, add_special_tokens=False)["input_ids"]),
    )


def pooled_activations(
    shared: SharedModel,
    pairs: Sequence[Pair],
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """``{pooling: [n, num_layers + 1, hidden]}`` float32 on the CPU, in the order of `pairs`.

    A pair with an empty answer gets NaN `response_avg` (undefined); callers drop or report it.
    """
    model = shared.model
    out = {k: torch.empty(len(pairs), shared.num_layers + 1, shared.hidden_size) for k in POOLINGS}
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i].prompt_ids) - len(pairs[i].answer_ids))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = [pairs[i] for i in idx]
            ids, attn, prompt_len, total_len = _right_padded(batch, shared)
            with record_residual(model, [shared.num_layers]) as rec:
                # the decoder body only: the LM head's logits (a vocabulary-sized matmul per token) are not needed
                hs = _body(model)(input_ids=ids, attention_mask=attn, output_hidden_states=True).hidden_states
            layers = [*hs[:-1], rec.outputs[shared.num_layers][0]]
            positions = torch.arange(ids.shape[1], device=ids.device)
            p_len = prompt_len.to(ids.device)[:, None]
            t_len = total_len.to(ids.device)[:, None]
            in_prompt = (positions[None, :] < p_len).float()
            in_answer = ((positions[None, :] >= p_len) & (positions[None, :] < t_len)).float()
            rows = torch.arange(len(batch), device=ids.device)
            last = (prompt_len - 1).to(ids.device)
            # pool layer by layer: never materialise all layers at once (large models, long answers)
            pooled = {
                "prompt_avg": torch.stack([_masked_mean(h.float(), in_prompt) for h in layers], dim=1),
                "response_avg": torch.stack([_masked_mean(h.float(), in_answer) for h in layers], dim=1),
                "prompt_last": torch.stack([h[rows, last].float() for h in layers], dim=1),
            }
            for k, v in pooled.items():
                out[k][idx] = v.cpu()
            if progress:
                progress(len(batch))
    return out


def _body(model):
    """The transformer body without the LM head (falls back to the whole model)."""
    body = getattr(model, "base_model", None)
    return body if body is not None and body is not model else model


def _right_padded(batch: Sequence[Pair], shared: SharedModel):
    lengths = [len(p.prompt_ids) + len(p.answer_ids) for p in batch]
    width = max(lengths)
    ids = torch.full((len(batch), width), shared.tokenizer.pad_token_id, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for i, p in enumerate(batch):
        seq = list(p.prompt_ids) + list(p.answer_ids)
        ids[i, : len(seq)] = torch.tensor(seq)
        attn[i, : len(seq)] = 1
    prompt_len = torch.tensor([len(p.prompt_ids) for p in batch])
    return ids.to(shared.device), attn.to(shared.device), prompt_len, torch.tensor(lengths)


def _masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over positions where mask is 1: states [B, S, H], mask [B, S] -> [B, H]."""
    weights = mask / mask.sum(dim=1, keepdim=True)
    return torch.einsum("bsh,bs->bh", states, weights)
