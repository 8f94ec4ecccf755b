"""`persona-evals viz trait-steering`: trait and coherence vs steering coefficient, one line per layer.

The frame is `persona_evals.traits.results.steering_frame` (one row per trait_expression log);
the figure `persona_evals.viz.trait_steering.plot_trait_steering`; the frame (with the choice, given
--min-coherence) is the CSV beside the PNG.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    p = sub.add_parser(
        "trait-steering",
        help="trait and coherence vs steering coefficient, one line per layer (all logs in --log-dir)",
    )
    add_log_arguments(p, out_default="trait_steering.png")
    p.add_argument("--trait", help="keep only logs of this trait (needed when logs mix traits)")
    p.add_argument("--instruction", choices=["pos", "neg", "none"], help="keep only this instruction")
    p.add_argument("--min-coherence", type=float, default=None,
                   help="star each layer's largest coefficient whose mean coherence is >= this, and draw the "
                   "threshold (as `persona-evals vectors choose`)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.logs import find_logs
    from persona_evals.traits.results import steering_frame
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.trait_steering import plot_trait_steering

    use_agg()
    paths = find_logs(args.logs, args.log_dir, newest_only=False)  # read once, by steering_frame
    frame = steering_frame(paths, trait=args.trait, instruction=args.instruction)
    if args.min_coherence is not None:
        from persona_evals.traits.choice import choose_coefficients, mark_choice

        frame = mark_choice(frame, choose_coefficients(frame, args.min_coherence))
    png, table = write_plot(plot_trait_steering(frame), frame, args.out, args.overwrite)
    steered = frame[frame["layer"].notna()]
    print(f"wrote {png} and {table} ({len(steered)} steered runs over vectors {sorted(steered['vector'].unique())}, "
          f"layers {sorted(int(x) for x in steered['layer'].unique())}, {int(frame['layer'].isna().sum())} unsteered)")
    return 0
