"""`persona-evals viz <plot>`: PNG plots (and the CSV of their numbers) from eval logs or tables.

Three layers per plot family, so that a plot is drawn the same whoever calls it:
- its rows or frame come from a results module (``<benchmark>/results.py``, the shared log reader);
- ``persona_evals.viz.<family>`` draws them: a frame in, a figure out (no arguments, logs or printing);
- ``persona_evals.commands.viz.<family>`` (here) declares the arguments (``register(plots)``),
  reads, draws, writes the files and prints what it wrote.

Add a family by adding its module name to `PLOTS`. Plots raise ordinary errors (`ValueError`, of
which `persona_evals.logs.LogError`) that name the log or argument; here they become `CommandError`.
"""

from __future__ import annotations

import argparse
import functools
import importlib
from collections.abc import Callable

PLOTS: tuple[str, ...] = (
    "trait_steering", "monitoring", "steering_effect", "steering_linearity", "trait_change", "vectors", "finetuning",
    "opinion", "accuracy", "persona_regression", "persona_bench",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="plots (PNG, and beside it a CSV of the plotted numbers) of eval logs or tables")
    plots = p.add_subparsers(dest="plot", required=True, metavar="PLOT")
    for name in PLOTS:
        importlib.import_module(f"persona_evals.commands.viz.{name}").register(plots)
    for parser in plots.choices.values():
        parser.set_defaults(func=_user_errors(parser.get_default("func")))


def _user_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a plot; its `ValueError` (bad log, argument or file content) is a user-facing error."""
    from persona_evals.commands import CommandError

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except ValueError as ex:
            raise CommandError(str(ex)) from ex

    return run
