"""Finetuning shift over checkpoints: how far each adapter moved the model along persona vectors.

The paper's finetuning shift (reference §7): the mean last-prompt-token activation over a set of
prompts with the adapter, minus the same without it, projected on v̂. Every adapter is loaded
onto one copy of the base model (`steering.adapters`), and the base means are computed once.
`shift_cosine_frame` reads the tables of several finetuned traits back for the cross-trait figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from persona_evals.steering.adapters import Adapter, adapter_active, attach_adapter
from persona_evals.steering.layers import check_layer
from persona_evals.steering.loading import SharedModel
from persona_evals.steering.project import mean_prompt_last, shift_stats
from persona_evals.steering.vectors import LoadedVector, check_fits, cosine_matrix
from persona_evals.training.rundir import checkpoint_step

SHIFT_COLUMNS = ("finetuned_trait", "vector_trait", "vector_path", "layer", "step", "shift_proj")  # what the figure reads


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


def shift_cosine_frame(csvs: list[str], layer: int | None) -> Any:
    """The cross-trait figure's frame, from `vectors shift --trait A` CSVs (one per finetuned trait A):
    a row per (A, vector B) at the last step, with cosine(v_A, v_B) and the shift along v_B."""
    import pandas as pd

    from persona_evals.paths import read_csv_rows

    parts = []
    for path in csvs:
        # checked first (a file, with a header, these columns and rows); then read with types
        read_csv_rows(path, "CSV", SHIFT_COLUMNS, "`persona-evals vectors shift --trait A`")
        df = pd.read_csv(path)
        if df["finetuned_trait"].isna().all():
            raise ValueError(f"{path} has no finetuned trait: make it with `vectors shift --trait A`")
        layers = sorted(df["layer"].unique())
        df = df[df["layer"] == (layer if layer is not None else df["layer"].iloc[0])]
        if df.empty:
            raise ValueError(f"--layer {layer}: {path} has rows for layers {', '.join(map(str, layers))} only")
        df = df[df["step"] == df["step"].max()]
        own = df[df["vector_trait"] == df["finetuned_trait"]]
        if own.empty:
            raise ValueError(f"{path}: none of its vectors is of the finetuned trait {df['finetuned_trait'].iloc[0]!r}")
        layer_used = int(df["layer"].iloc[0])
        own_ref = _ref(own.iloc[0])
        for _, row in df.iterrows():
            _, cos = cosine_matrix([own_ref, _ref(row)], layer_used)
            parts.append({"finetuned_trait": row["finetuned_trait"], "vector_trait": row["vector_trait"],
                          "layer": layer_used, "cosine": float(cos[0, 1]), "shift_proj": float(row["shift_proj"])})
    return pd.DataFrame(parts)


def _ref(row: Any) -> str:
    key = row.get("vector_key")
    return f"{row['vector_path']}#{key}" if isinstance(key, str) and key else str(row["vector_path"])
