"""`persona-evals viz shift-cosine`: for models finetuned on trait A's data, the shift along trait
B's vector against the cosine similarity of A's and B's vectors (from `vectors shift` CSVs).

Frame: `persona_evals.training.shift.shift_cosine_frame`; figure:
`persona_evals.viz.finetuning.shift_cosine_figure`; the frame is the CSV beside the PNG.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.argtypes import positive_int
    from persona_evals.commands.viz.options import image_path
    from persona_evals.commands.outputs import add_output_argument

    p = sub.add_parser("shift-cosine", help="finetuning shift along each trait's vector vs its cosine with the finetuned trait's")
    p.add_argument("csvs", nargs="+", help="`vectors shift --trait A` CSVs, one per finetuned trait, each with several vectors")
    p.add_argument("--layer", type=positive_int, help="layer to plot (default: the first in the CSVs)")
    add_output_argument(p, "--out", default="shift_cosine.png", companions=(".csv",), type=image_path,
                        help="PNG to write; the plotted numbers go beside it as .csv")
    p.set_defaults(func=run_shift_cosine)


def run_shift_cosine(args: argparse.Namespace) -> int:
    from pathlib import Path

    from persona_evals.paths import write_text_atomic
    from persona_evals.stats import pearson
    from persona_evals.training.shift import shift_cosine_frame
    from persona_evals.viz.common import save_figure, use_agg
    from persona_evals.viz.finetuning import shift_cosine_figure

    use_agg()
    frame = shift_cosine_frame(args.csvs, args.layer)
    r = pearson(frame["cosine"], frame["shift_proj"]) if len(frame) > 2 else float("nan")
    out = save_figure(shift_cosine_figure(frame, r), args.out, args.overwrite)
    table = write_text_atomic(Path(args.out).with_suffix(".csv"), frame.to_csv(index=False), args.overwrite)
    print(f"wrote {out} and {table} ({len(frame)} points, Pearson r={r:.3f})")
    return 0
