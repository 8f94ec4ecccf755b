"""`persona-evals viz monitoring LOGS`: the persona-vectors monitoring check, per trait and condition
(graded system prompts, many-shot examples): each sample's last-prompt-token projection against the
judged trait score of its answer, with Pearson r and its 95% interval (Fisher z).

The frame and the correlations come from `persona_evals.traits.results` (`monitoring_frame`,
`monitoring_correlations`), the figure from `persona_evals.viz.monitoring`. Writes the PNG, beside
it the correlations (``.csv``) and the plotted samples (``.samples.csv``).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    p = sub.add_parser("monitoring", help="last-prompt-token projection vs judged trait score, Pearson r and 95%% CI per trait")
    add_log_arguments(p, out_default="monitoring.png", extra=(".samples.csv",))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from persona_evals.commands.viz.options import write_plot
    from persona_evals.logs import find_logs
    from persona_evals.paths import write_csv
    from persona_evals.traits.results import CORRELATION_COLUMNS, MONITORING_COLUMNS, monitoring_correlations, monitoring_frame
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.monitoring import plot_monitoring

    use_agg()
    frame = monitoring_frame(find_logs(args.logs, args.log_dir, newest_only=False))
    table = monitoring_correlations(frame)
    png, csv = write_plot(plot_monitoring(frame, table), table, args.out, args.overwrite, CORRELATION_COLUMNS)
    samples = write_csv(frame.to_dict("records"), Path(png).with_suffix(".samples.csv"), MONITORING_COLUMNS,
                        overwrite=args.overwrite)
    for row in table:
        print(f"{row['trait']} ({row['monitoring']}, {row['monitor']}): Pearson r = {row['r']:.3f}, 95% CI "
              f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}], p = {row['p_value']:.3g}, n = {row['n']}"
              + (f" ({row['n_unscored']} unscored left out)" if row["n_unscored"] else ""))
    print(f"wrote {png}, {csv} and {samples}")
    return 0
