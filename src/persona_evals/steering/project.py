"""Projections of a log's answers onto persona vectors, and the finetuning shift of a model.

`proj` is the mean response activation projected on the unit vector (a·v/‖v‖), `prompt_avg_proj`
the mean prompt activation, `prompt_last_proj` the last prompt token, and `cos` the cosine of the
mean response activation with v; all four in the same batched pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from persona_evals.steering.activations import encode_pair, pooled_activations
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.layers import check_layer
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.vectors import LoadedVector, check_fits, check_nonzero


def log_pairs(path: str) -> tuple[Any, list[tuple[str, int, list[Any], str, dict[str, Any]]]]:
    """(log, [(sample id, epoch, prompt messages, answer, flat scores)]) for every sample of a log
    that completed (`logs.check_finished`, the rule of every reader)."""
    from persona_evals.logs import prompt_messages, read_task_log

    log = read_task_log(path, finished=True)
    rows = []
    for s in log.samples or []:
        messages = prompt_messages(s)  # with the persona a solver added, as the model saw it
        scores: dict[str, Any] = {}
        for name, score in (s.scores or {}).items():
            if isinstance(score.value, dict):
                scores.update({k: v for k, v in score.value.items()})
            else:
                scores[name] = score.value
        rows.append((str(s.id), s.epoch, list(messages), s.output.completion if s.output else "", scores))
    return log, rows


def check_projection(
    shared: SharedModel, vector: LoadedVector, layers: list[int], arg: str = "vector", layer_arg: str = "layer"
) -> None:
    """Every layer exists and `vector` fits the model and is non-zero there (before any work)."""
    for layer in layers:
        check_layer(layer, shared.num_layers, layer_arg)
        check_fits(vector, layer, shared.hidden_size, shared.num_layers, arg)
        check_nonzero(vector, layer, arg)


def project_rows(
    shared: SharedModel,
    rows: list[tuple[str, int, list[Any], str, dict[str, Any]]],
    vector: LoadedVector,
    layers: list[int],
    batch_size: int = 8,
) -> list[dict[str, Any]]:
    """One dict per row: id, epoch, scores, and the four projections per layer (NaN if no answer)."""
    check_projection(shared, vector, layers)
    stem = Path(vector.path).stem
    pairs = [encode_pair(shared, render_prompt(shared.tokenizer, r[2]), r[3]) for r in rows]
    acts = pooled_activations(shared, pairs, batch_size)
    out = []
    for j, (sid, epoch, _, answer, scores) in enumerate(rows):
        rec: dict[str, Any] = {"id": sid, "epoch": epoch, "answer_tokens": len(pairs[j].answer_ids), **scores}
        for layer in layers:
            v = vector.row(layer)
            unit = v / v.norm()
            resp = acts["response_avg"][j, layer]  # NaN for an empty answer
            rec[f"{stem}_proj_layer{layer}"] = float(resp @ unit)
            rec[f"{stem}_prompt_avg_proj_layer{layer}"] = float(acts["prompt_avg"][j, layer] @ unit)
            rec[f"{stem}_prompt_last_proj_layer{layer}"] = float(acts["prompt_last"][j, layer] @ unit)
            rec[f"{stem}_cos_layer{layer}"] = float(torch.nn.functional.cosine_similarity(resp, v, dim=0))
        out.append(rec)
    return out


def finetuning_shift(
    finetuned: SharedModel,
    base: SharedModel,
    prompts: list[list[Any]],
    vector: LoadedVector,
    layers: list[int],
    batch_size: int = 8,
) -> dict[int, dict[str, float]]:
    """Per layer: mean last-prompt-token activation (finetuned - base) projected on v̂, its norm and
    cosine with v. The prompt is followed by no answer, so we pool the prompt's last token only."""
    delta = mean_prompt_last(finetuned, prompts, batch_size) - mean_prompt_last(base, prompts, batch_size)
    return shift_stats(delta, vector, layers)


def mean_prompt_last(shared: SharedModel, prompts: list[list[Any]], batch_size: int = 8) -> torch.Tensor:
    """[num_layers + 1, hidden]: the last prompt token's activation, averaged over `prompts`."""
    pairs = [encode_pair(shared, render_prompt(shared.tokenizer, m), "") for m in prompts]
    return pooled_activations(shared, pairs, batch_size)["prompt_last"].mean(dim=0)


def shift_stats(delta: torch.Tensor, vector: LoadedVector, layers: list[int]) -> dict[int, dict[str, float]]:
    """`shift_proj` (Δ·v̂), `shift_norm` (‖Δ‖) and `shift_cos` of a [num_layers + 1, hidden] Δ per layer."""
    result = {}
    for layer in layers:
        check_nonzero(vector, layer, "vector")
        v = vector.row(layer)
        d = delta[layer]
        result[layer] = {
            "shift_proj": float(d @ (v / v.norm())),
            "shift_norm": float(d.norm()),
            "shift_cos": float(torch.nn.functional.cosine_similarity(d, v, dim=0)),
        }
    return result
