"""`persona-evals viz <plot>`: PNG plots read from eval logs.

Each plot family lives in ``persona_evals.viz.<module>`` and exposes ``register(subparsers)``;
add the module name to `PLOTS` to add one. Shared helpers are in ``persona_evals.viz.common``.
"""

from __future__ import annotations

import argparse
import importlib

PLOTS: tuple[str, ...] = ("trait_steering", "vectors", "finetuning", "opinion", "accuracy", "persona_bench")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="plots (PNG) read from eval logs")
    plots = p.add_subparsers(dest="plot", required=True, metavar="PLOT")
    for name in PLOTS:
        importlib.import_module(f"persona_evals.viz.{name}").register(plots)
