"""Finetuning shift over checkpoints: how far each adapter moved the model along persona vectors.

The paper's finetuning shift (reference §7): the mean last-prompt-token activation over a set of
prompts with the adapter, minus the same without it, projected on v̂. Every adapter is loaded
onto one copy of the base model (`steering.adapters`), and the base means are computed once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from persona_evals.steering.adapters import Adapter, adapter_active, attach_adapter
from persona_evals.steering.layers import check_layer
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.project import mean_prompt_last, shift_stats
from persona_evals.steering.vectors import LoadedVector, check_fits
from persona_evals.training.rundir import checkpoint_step


def adapter_step(adapter: Adapter) -> int | None:
    """The optimizer step an adapter was saved at: its run record's, else its folder's name."""
    step = (adapter.record or {}).get("step")
    return int(step) if step is not None else checkpoint_step(adapter.path)


def adapter_shifts(
    shared: SharedModel,
    adapters: list[Adapter],
    prompts: list[list[Any]],
    vectors: list[LoadedVector],
    layers: list[int],
    batch_size: int = 8,
) -> list[dict[str, Any]]:
    """One row per (adapter, vector, layer): step, shift_proj, shift_norm, shift_cos; sorted by step."""
    for i, vec in enumerate(vectors):
        for layer in layers:
            check_layer(layer, shared.num_layers, "--layer")
            check_fits(vec, layer, shared.hidden_size, shared.num_layers, "--vector" if len(vectors) == 1 else f"--vector[{i}]")
    for a in adapters:
        attach_adapter(shared, a, arg="--adapters")
    base = mean_prompt_last(shared, prompts, batch_size)
    rows = []
    for a in sorted(adapters, key=lambda a: (adapter_step(a) is None, adapter_step(a) or 0, a.path)):
        with adapter_active(shared, a):
            delta = mean_prompt_last(shared, prompts, batch_size) - base
        for vec in vectors:
            for layer, stats in shift_stats(delta, vec, layers).items():
                rows.append({
                    "adapter": a.path, "step": adapter_step(a), "vector": Path(vec.path).stem,
                    "vector_path": vec.path, "vector_key": vec.key, "vector_trait": vec.metadata.get("trait", Path(vec.path).stem),
                    "layer": layer, **stats,
                })
    return rows
