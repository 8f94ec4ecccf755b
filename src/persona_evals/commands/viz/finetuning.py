"""`persona-evals viz shift-cosine`: for models finetuned on trait A's data, the shift along trait
B's vector against the cosine similarity of A's and B's vectors (from `vectors shift` CSVs).

Frame: `persona_evals.training.shift.shift_cosine_frame`; figure:
`persona_evals.viz.finetuning.shift_cosine_figure`; the frame is the CSV beside the PNG.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.argtypes import positive_int
    from persona_evals.commands.viz.options import add_plot_argument

    p = sub.add_parser("shift-cosine", help="finetuning shift along each trait's vector vs its cosine with the finetuned trait's")
    p.add_argument("csvs", nargs="+", help="`vectors shift --trait A` CSVs, one per finetuned trait, each with several vectors")
    p.add_argument("--layer", type=positive_int, help="layer to plot (default: the first in the CSVs)")
    add_plot_argument(p, "--out", default="shift_cosine.png")
    p.set_defaults(func=run_shift_cosine)


def run_shift_cosine(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.stats.correlation import pearson
    from persona_evals.training.shift import shift_cosine_frame
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.finetuning import shift_cosine_figure

    use_agg()
    frame = shift_cosine_frame(args.csvs, args.layer)
    r = pearson(frame["cosine"], frame["shift_proj"]) if len(frame) > 2 else float("nan")
    out, table = write_plot(shift_cosine_figure(frame, r), frame, args.out, args.overwrite)
    print(f"wrote {out} and {table} ({len(frame)} points, Pearson r={r:.3f})")
    return 0
