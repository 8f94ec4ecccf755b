"""`persona-evals viz trait-steering`: trait and coherence vs steering coefficient, one line per layer.

The frame is `persona_evals.traits.results.steering_frame` (one row per trait_expression log);
the figure `persona_evals.viz.trait_steering.plot_trait_steering`.
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
    from persona_evals.logs import find_logs
    from persona_evals.traits.results import steering_frame
    from persona_evals.viz import trait_steering
    from persona_evals.viz.common import save_figure, use_agg

    use_agg()
    paths = find_logs(args.logs, args.log_dir, newest_only=False)  # read once, by steering_frame
    frame = steering_frame(paths, trait=args.trait, instruction=args.instruction)
    choice = None
    if args.min_coherence is not None:
        from persona_evals.traits.choice import choose_coefficients

        choice = choose_coefficients(frame, args.min_coherence)
    out = save_figure(trait_steering.plot_trait_steering(frame, choice, args.min_coherence), args.out, args.overwrite)
    steered = frame[frame["layer"].notna()]
    print(f"wrote {out} ({len(steered)} steered runs over vectors {sorted(steered['vector'].unique())}, layers "
          f"{sorted(int(x) for x in steered['layer'].unique())}, {int(frame['layer'].isna().sum())} unsteered)")
    return 0
