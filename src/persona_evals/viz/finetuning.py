"""Plots of finetuning shifts: per checkpoint, and cosine similarity vs shift across traits.

`plot_shift` draws a `vectors shift` table: the shift along each vector per checkpoint (and
against the judged trait score when the table has one). `shift_cosine_figure` (``viz shift-cosine``)
is the paper's cross-trait figure: for models finetuned on trait A's data, the shift along trait B's
vector against the cosine similarity of A's and B's vectors; traits whose vectors point the same
way shift together.
"""

from __future__ import annotations

from typing import Any

SHIFT_COLUMNS = ("finetuned_trait", "vector_trait", "vector_path", "layer", "step", "shift_proj")


def plot_shift(frame: Any) -> Any:
    """Shift (Δ·v̂) per step for each vector@layer; a second panel vs trait score if present."""
    import matplotlib.pyplot as plt
    import pandas as pd

    frame = frame.assign(series=frame["vector"] + "@" + frame["layer"].astype(str))
    scored = "trait_score" in frame and pd.to_numeric(frame["trait_score"], errors="coerce").notna().any()
    fig, axes = plt.subplots(1, 2 if scored else 1, figsize=(11 if scored else 6, 4.2), squeeze=False)
    ax = axes[0][0]
    for name, part in frame.groupby("series"):
        part = part.sort_values("step")
        ax.plot([0, *part["step"]], [0.0, *part["shift_proj"]], marker="o", label=name)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="optimizer step (0 = base model)", ylabel="finetuning shift (Δ·v̂)", title="shift along the persona vector")
    ax.legend(fontsize=8)
    if scored:
        ax2 = axes[0][1]
        for name, part in frame.groupby("series"):
            ax2.scatter(part["shift_proj"], part["trait_score"], label=name)
        ax2.set(xlabel="finetuning shift (Δ·v̂)", ylabel="judged trait score (0-100)", title="shift vs trait expression")
        ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def shift_cosine_frame(csvs: list[str], layer: int | None) -> Any:
    """One row per (finetuned trait A, vector B) at the last step: cosine(v_A, v_B) and shift along v_B."""
    import pandas as pd

    from persona_evals.paths import read_csv_rows
    from persona_evals.viz.vectors import cosine_matrix

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


def shift_cosine_figure(frame: Any, r: float) -> Any:
    """Shift along each vector vs its cosine with the finetuned trait's vector, a colour per finetuned trait."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for trait, part in frame.groupby("finetuned_trait"):
        ax.scatter(part["cosine"], part["shift_proj"], label=f"finetuned on {trait}")
        for _, row in part.iterrows():
            ax.annotate(row["vector_trait"], (row["cosine"], row["shift_proj"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="cosine(finetuned trait's vector, vector)", ylabel="finetuning shift along the vector (Δ·v̂)",
           title=f"layer {int(frame['layer'].iloc[0])}: Pearson r = {r:.3f} (n = {len(frame)})")
    ax.legend(fontsize=8)
    return fig
