"""Plots of persona vectors: cosine similarity across vectors, and projection vs judged trait.

`persona-evals viz vector-cosine A.safetensors B.safetensors ... --layer 20`: a heatmap of the
cosine similarity between vectors (traits, variants, poolings) at one layer.
`persona-evals viz projection-trait LOGS`: each sample's projection on the persona vector (the
`projection` scorer's `proj`, or a `vectors project` CSV column) against its judged trait score,
with Pearson r.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from persona_evals.logs import LogError
from persona_evals.identity import vector_name
from persona_evals.paths import split_key
from persona_evals.protocol import PROJ


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.paths import add_output_argument
    from persona_evals.viz.common import add_log_arguments, image_path

    p = sub.add_parser("vector-cosine", help="cosine similarity heatmap of persona vectors at one layer")
    p.add_argument("vectors", nargs="+", help="vector files (file.safetensors or file.safetensors#prompt_last)")
    p.add_argument("--layer", type=int, required=True, help="row of per-layer files to compare")
    add_output_argument(p, "--out", default="vector_cosine.png", type=image_path, companions=(".csv",),
                        help="PNG to write, and a CSV of every pair beside it (default vector_cosine.png)")
    p.set_defaults(func=run_cosine)

    q = sub.add_parser("projection-trait", help="projection on the persona vector vs judged trait score, Pearson r")
    add_log_arguments(q, out_default="projection_trait.png")
    q.add_argument("--csv", help="a `vectors project` CSV instead of logs")
    q.add_argument("--column", help="projection column of the CSV (default: the first *_proj_layer* column)")
    q.set_defaults(func=run_projection)


def cosine_matrix(paths: list[str], layer: int) -> tuple[list[str], Any]:
    """Labels and the cosine-similarity matrix of the vectors' rows at `layer`."""
    import torch

    from persona_evals.steering.vectors import load_vector

    rows, labels = [], []
    for item in paths:
        path, key = split_key(item)
        vec = load_vector(path, key, arg="vectors")
        if vec.tensor.dim() == 2 and not 0 <= layer < vec.tensor.shape[0]:
            raise ValueError(f"--layer {layer} is outside 0..{vec.tensor.shape[0] - 1} for {path}")
        rows.append(vec.row(layer))
        labels.append(vector_name(path, vec.key if key else None))
    sizes = {r.shape[-1] for r in rows}
    if len(sizes) > 1:
        raise ValueError(f"the vectors have different hidden sizes {sorted(sizes)}: they come from different models")
    m = torch.stack(rows)
    m = m / m.norm(dim=-1, keepdim=True)
    return labels, (m @ m.T).numpy()


def run_cosine(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt
    import seaborn as sns

    from persona_evals.paths import write_csv
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    labels, cos = cosine_matrix(args.vectors, args.layer)
    rows = cosine_pairs(labels, cos)
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(cos, xticklabels=labels, yticklabels=labels, vmin=-1, vmax=1, cmap="RdBu_r", annot=True, fmt=".2f", ax=ax, square=True)
    ax.set_title(f"cosine similarity of persona vectors, layer {args.layer}")
    out = save_figure(fig, args.out, args.overwrite)
    table = write_csv(rows, out.with_suffix(".csv"), overwrite=args.overwrite) if rows else None
    for line in variant_summary(rows):
        print(line)
    print(f"wrote {out}" + (f" and {table}" if table else "") + f" ({len(labels)} vectors)")
    return 0


def trait_of(label: str) -> str:
    """The trait a vector belongs to: its file stem without ``#tensor`` and a ``_<n>`` variant suffix."""
    return re.sub(r"_\d+$", "", label.partition("#")[0])


def cosine_pairs(labels: list[str], cos: Any) -> list[dict[str, Any]]:
    """One row per pair of vectors: their names, traits and cosine."""
    return [
        {"a": a, "b": b, "trait_a": trait_of(a), "trait_b": trait_of(b), "cosine": float(cos[i, j])}
        for i, a in enumerate(labels)
        for j, b in enumerate(labels)
        if i < j
    ]


def variant_summary(rows: list[dict[str, Any]]) -> list[str]:
    """Mean cosine among each trait's variants, and across different traits."""
    lines = []
    for trait in sorted({r["trait_a"] for r in rows} | {r["trait_b"] for r in rows}):
        within = [r["cosine"] for r in rows if r["trait_a"] == r["trait_b"] == trait]
        if within:
            lines.append(f"{trait}: mean cosine among its variants {sum(within) / len(within):.3f} ({len(within)} pairs)")
    across = [r["cosine"] for r in rows if r["trait_a"] != r["trait_b"]]
    if lines and across:
        lines.append(f"across traits: mean cosine {sum(across) / len(across):.3f} ({len(across)} pairs)")
    return lines


def projection_frame(logs: list[str] | None, csv: str | None, column: str | None) -> tuple[Any, str]:
    """Columns `trait` and `proj` (one row per sample with both values); the projection's name."""
    import pandas as pd

    if csv:
        from persona_evals.viz.common import read_csv_rows

        what = "`persona-evals vectors project` from a trait_expression log"
        rows = read_csv_rows(csv, "--csv", ("trait",), what)
        candidates = [c for c in rows[0] if "_proj_layer" in c and "prompt" not in c]
        column = column or (candidates[0] if candidates else None)
        if column is None or column not in rows[0]:
            found = f"no projection column {column!r}" if column else "no projection column (*_proj_layerN)"
            raise LogError(f"--column: {csv} has {found}; it has {', '.join(rows[0])}")
        df = pd.DataFrame(rows)
        frame = pd.DataFrame({"trait": pd.to_numeric(df["trait"], errors="coerce"), "proj": pd.to_numeric(df[column], errors="coerce")})
        name = column
    else:
        from inspect_ai.analysis import SampleColumn, SampleSummary, samples_df

        cols = SampleSummary + [
            SampleColumn("trait", path="scores.trait_score.value.trait"),
            SampleColumn("proj", path=f"scores.projection.value.{PROJ}"),
        ]
        df = samples_df(logs, columns=cols, quiet=True)
        if "proj" not in df or pd.to_numeric(df["proj"], errors="coerce").isna().all():
            raise LogError("the logs have no projection scores: run with -M monitor=<vector> -M monitor_layer=<L>")
        frame = pd.DataFrame({"trait": pd.to_numeric(df["trait"], errors="coerce"), "proj": pd.to_numeric(df["proj"], errors="coerce")})
        name = "proj (live monitor)"
    frame = frame.dropna()
    if len(frame) < 2:
        raise LogError(f"only {len(frame)} sample(s) have both a judged trait score and a projection")
    return frame, name


def pearson(x: Any, y: Any) -> float:
    from scipy.stats import pearsonr

    if len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(pearsonr(x, y).statistic)


def run_projection(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt
    import seaborn as sns

    from persona_evals.logs import resolve_logs
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    logs = None if args.csv else resolve_logs(args.logs, args.log_dir, newest_only=False)
    frame, name = projection_frame(logs, args.csv, args.column)
    r = pearson(frame["proj"], frame["trait"])
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.regplot(data=frame, x="proj", y="trait", ax=ax, scatter_kws={"s": 14, "alpha": 0.6})
    ax.set(xlabel=name, ylabel="judged trait score (0-100)", title=f"Pearson r = {r:.3f} (n = {len(frame)})")
    out = save_figure(fig, args.out, args.overwrite)
    print(f"wrote {out} (n={len(frame)}, Pearson r={r:.3f})")
    return 0
