"""`persona-evals viz steering-linearity`: is steering with A and B together the sum of A and B alone?

Rows: `persona_evals.compare.linearity.linearity_rows` over the logs' metrics (each log read once);
figure: `persona_evals.viz.steering_linearity.linearity_figure`; the rows are the CSV beside the
PNG, and each is printed.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    p = sub.add_parser(
        "steering-linearity",
        help="effect of steering with A+B against A and B alone, per metric (table + plot)",
    )
    add_log_arguments(p, out_default="steering_linearity.png")
    p.add_argument("--metric", action="append", metavar="NAME",
                   help="metric (repeatable; default: every judged score with a standard error)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.compare.linearity import COLUMNS, linearity_rows
    from persona_evals.compare.log_metrics import default_metrics, read_log_metrics
    from persona_evals.logs import find_logs
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.steering_linearity import linearity_figure

    use_agg()
    logs = read_log_metrics(find_logs(args.logs, args.log_dir, newest_only=False))
    metrics = args.metric or default_metrics(logs)
    rows, skipped = linearity_rows(logs, metrics)
    for line in skipped:
        print(f"skipped: {line}")
    png, table = write_plot(linearity_figure(rows, metrics), rows, args.out, args.overwrite, COLUMNS)
    for r in rows:
        print(f"{r['metric']:>12}  {r['combined']}: predicted {r['predicted']:+.3g}, observed {r['observed']:+.3g}, "
              f"interference {r['interference']:+.3g} [{r['ci_low']:+.3g}, {r['ci_high']:+.3g}]")
    print(f"wrote {png} and {table}")
    return 0
