"""`persona-evals viz opinion-tiers|opinion-states|opinion-topics`: opinion-simulation plots.

Each reads the simulation logs into reports (`persona_evals.opinion.results.reports`, each log read
once), takes its rows from them (`tier_means`, `state_rows`, `topic_frame` there), draws them with
`persona_evals.viz.opinion` and writes the PNG with a CSV of the plotted rows beside it.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(plots: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    t = plots.add_parser("opinion-tiers", help="opinion simulation: alignment per persona tier")
    add_log_arguments(t, "plots/opinion_tiers.png")
    t.add_argument("--truth", help="survey truth JSON (adds mean survey alignment)")
    t.set_defaults(func=plot_tiers)
    s = plots.add_parser("opinion-states", help="opinion simulation: state grid of simulated vs real margin")
    add_log_arguments(s, "plots/opinion_states.png")
    s.set_defaults(func=plot_states)
    c = plots.add_parser("opinion-topics", help="opinion simulation: answer shares for custom topics")
    add_log_arguments(c, "plots/opinion_topics.png")
    c.set_defaults(func=plot_topics)


def _reports(args: argparse.Namespace, newest_only: bool, truth: str | None = None) -> list[dict[str, Any]]:
    from persona_evals.logs import find_logs
    from persona_evals.opinion.results import reports

    return reports(find_logs(args.logs, args.log_dir, newest_only=newest_only), truth)


def _save(fig: Any, table: Any, args: argparse.Namespace, columns: list[str] | None = None) -> int:
    from persona_evals.commands.viz.options import write_plot

    png, csv = write_plot(fig, table, args.out, args.overwrite, columns)
    print(f"wrote {png} and {csv}")
    return 0


def plot_tiers(args: argparse.Namespace) -> int:
    from persona_evals.opinion.results import tier_means, tier_rows
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.opinion import tiers_figure

    use_agg()
    frame = tier_means(tier_rows(_reports(args, newest_only=False, truth=args.truth)))
    return _save(tiers_figure(frame), frame, args)


def plot_states(args: argparse.Namespace) -> int:
    from persona_evals.opinion.results import STATE_COLUMNS, state_rows
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.opinion import states_figure

    use_agg()
    report, rows = state_rows(_reports(args, newest_only=True))
    return _save(states_figure(rows, report), rows, args, STATE_COLUMNS)


def plot_topics(args: argparse.Namespace) -> int:
    from persona_evals.opinion.results import topic_frame
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.opinion import topics_figure

    use_agg()
    frame = topic_frame(_reports(args, newest_only=False))
    return _save(topics_figure(frame), frame, args)
