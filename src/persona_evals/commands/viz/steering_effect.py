"""`persona-evals viz steering-effect`: any task's metric (95% CI) vs the steering coefficient.

Rows: `persona_evals.compare.effect.effect_rows` over the logs' metrics (each log read once);
figure: `persona_evals.viz.steering_effect.effect_figure`; the rows are the CSV beside the PNG.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    p = sub.add_parser(
        "steering-effect",
        help="any task: a metric (95%% CI) vs steering coefficient, a line per vector and layer",
    )
    add_log_arguments(p, out_default="steering_effect.png")
    p.add_argument(
        "--metric", action="append", metavar="NAME",
        help="metric to plot, e.g. accuracy, trait, coherence/mean (repeat for one panel each; "
        "without it, the error lists the logs' metrics)",
    )
    p.add_argument("--allow-mixed", action="store_true", help="allow logs of several tasks in one plot")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.compare.effect import COLUMNS, effect_rows
    from persona_evals.compare.log_metrics import read_log_metrics
    from persona_evals.logs import find_logs
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.steering_effect import effect_figure

    use_agg()
    logs = read_log_metrics(find_logs(args.logs, args.log_dir, newest_only=False))
    rows = effect_rows(logs, args.metric or [], args.allow_mixed)
    png, table = write_plot(effect_figure(rows, args.metric), rows, args.out, args.overwrite, COLUMNS)
    lines = sorted({r["line"] for r in rows})
    print(f"wrote {png} and {table} ({len(lines)} line(s): {', '.join(lines)}; {len(args.metric)} metric(s))")
    return 0
