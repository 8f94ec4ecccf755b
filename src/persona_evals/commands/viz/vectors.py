"""`persona-evals viz vector-cosine` and `viz projection-trait`: plots of persona vectors.

`vector-cosine A.safetensors B.safetensors ... --layer 20`: a heatmap of the cosine similarity
between vectors (traits, variants, poolings) at one layer, a CSV of every pair beside it, and the
mean cosine among each trait's variants and across traits.
`projection-trait LOGS`: each sample's projection on the persona vector (the `projection`
scorer's `proj`, or a `vectors project` CSV column) against its judged trait score, with Pearson r;
the CSV beside the PNG holds the plotted samples.
"""

from __future__ import annotations

import argparse
import re
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments, add_plot_argument

    p = sub.add_parser("vector-cosine", help="cosine similarity heatmap of persona vectors at one layer")
    p.add_argument("vectors", nargs="+", help="vector files (file.safetensors or file.safetensors#prompt_last)")
    p.add_argument("--layer", type=int, required=True, help="row of per-layer files to compare")
    add_plot_argument(p, "--out", default="vector_cosine.png", help="PNG to write (the CSV: every pair)")
    p.set_defaults(func=run_cosine)

    q = sub.add_parser("projection-trait", help="projection on the persona vector vs judged trait score, Pearson r")
    add_log_arguments(q, out_default="projection_trait.png")
    q.add_argument("--csv", help="a `vectors project` CSV instead of logs")
    q.add_argument("--column", help="projection column of the CSV (default: the first *_proj_layer* column)")
    q.set_defaults(func=run_projection)


def run_cosine(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.steering.vectors import cosine_matrix
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.vectors import cosine_figure

    use_agg()
    labels, cos = cosine_matrix(args.vectors, args.layer)
    rows = cosine_pairs(labels, cos)
    out, table = write_plot(cosine_figure(labels, cos, args.layer), rows, args.out, args.overwrite, PAIR_COLUMNS)
    for line in variant_summary(rows):
        print(line)
    print(f"wrote {out} and {table} ({len(labels)} vectors)")
    return 0


def trait_of(label: str) -> str:
    """The trait a vector belongs to: its file stem without ``#tensor`` and a ``_<n>`` variant suffix."""
    return re.sub(r"_\d+$", "", label.partition("#")[0])


PAIR_COLUMNS = ["a", "b", "trait_a", "trait_b", "cosine"]


def cosine_pairs(labels: list[str], cos: Any) -> list[dict[str, Any]]:
    """One row per pair of vectors: their names, traits and cosine (the heatmap's cells above its
    diagonal; it is symmetric, with ones on the diagonal)."""
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


def run_projection(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.logs import find_logs
    from persona_evals.stats.correlation import pearson
    from persona_evals.traits.results import projection_frame
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.vectors import projection_figure

    use_agg()
    logs = None if args.csv else find_logs(args.logs, args.log_dir, newest_only=False)  # read once, by projection_frame
    frame, name = projection_frame(logs, args.csv, args.column)
    r = pearson(frame["proj"], frame["trait"])
    out, table = write_plot(projection_figure(frame, name, r), frame, args.out, args.overwrite)
    print(f"wrote {out} and {table} (n={len(frame)}, Pearson r={r:.3f})")
    return 0
