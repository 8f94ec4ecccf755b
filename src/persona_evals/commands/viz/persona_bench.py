"""`persona-evals viz persona-modes|persona-loo|persona-intersections|persona-pass-at-k`: PERSONA Bench.

Each reads the logs of its task (all logs in --log-dir by default) into the table of
`persona_bench.results`, draws it (`persona_evals.viz.persona_bench`) and writes a PNG plus a CSV
of the plotted numbers next to it (same name, ``.csv``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

OUT = "results/persona_bench"


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.argtypes import int_between
    from persona_evals.commands.viz.options import add_log_arguments
    from persona_evals.stats import MAX_N_BOOT

    plots = [
        ("persona-modes", "prism_personalization: accuracy per generate mode and model (95%% CI)", run_modes, "modes.png"),
        ("persona-loo", "leave_one_out: drop in accuracy per removed attribute (sorted, 95%% CI)", run_loo, "loo.png"),
        ("persona-intersections", "intersectionality: accuracy per intersection (95%% CI)", run_intersections, "intersections.png"),
        ("persona-pass-at-k", "pass_at_k: the unbiased pass@k curve per model", run_pass_at_k, "pass_at_k.png"),
    ]
    for name, help_text, func, out in plots:
        p = sub.add_parser(name, help=help_text)
        add_log_arguments(p, f"{OUT}/{out}")
        if name == "persona-loo":
            p.add_argument("--n-boot", type=int_between(1, MAX_N_BOOT), default=2000,
                           help=f"paired bootstrap resamples, 1 to {MAX_N_BOOT:,} (default 2000)")
        p.set_defaults(func=func)


def _rows(args: argparse.Namespace, task: str, build: Callable[[Any], list[dict[str, Any]]], **load: Any) -> list[dict[str, Any]]:
    from persona_evals.logs import find_logs
    from persona_evals.persona_bench.results import NoSamplesError, load_samples

    paths = find_logs(args.logs, args.log_dir, newest_only=False)  # read by load_samples
    try:
        return build(load_samples(paths, task, **load))
    except NoSamplesError as ex:
        raise NoSamplesError(f"{ex}: run tasks/{task}.py first, or pass its logs") from ex


def _write(fig: Any, rows: list[dict[str, Any]], args: argparse.Namespace) -> int:
    """The PNG and, beside it, a CSV of the plotted numbers (both atomic; checked before computing)."""
    from persona_evals.commands.viz.options import write_plot

    png, table = write_plot(fig, rows, args.out, args.overwrite)
    print(f"wrote {png} and {table}")
    return 0


def run_modes(args: argparse.Namespace) -> int:
    from persona_evals.persona_bench.results import mode_table
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.persona_bench import modes_figure

    use_agg()
    rows = _rows(args, "prism_personalization", mode_table, answer_tokens=True)
    return _write(modes_figure(rows), rows, args)


def run_loo(args: argparse.Namespace) -> int:
    from persona_evals.persona_bench.results import loo_table
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.persona_bench import loo_figure

    use_agg()
    rows = _rows(args, "leave_one_out", lambda df: loo_table(df, n_boot=args.n_boot))
    return _write(loo_figure(rows), rows, args)


def run_intersections(args: argparse.Namespace) -> int:
    from persona_evals.persona_bench.results import intersection_table
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.persona_bench import intersections_figure

    use_agg()
    rows = _rows(args, "intersectionality", intersection_table)
    return _write(intersections_figure(rows), rows, args)


def run_pass_at_k(args: argparse.Namespace) -> int:
    from persona_evals.logs import find_logs
    from persona_evals.persona_bench.results import NoSamplesError, pass_at_k_table
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.persona_bench import pass_at_k_figure

    use_agg()
    paths = find_logs(args.logs, args.log_dir, newest_only=False)  # read by pass_at_k_table
    try:
        rows = pass_at_k_table(paths)
    except NoSamplesError as ex:
        raise NoSamplesError(f"{ex}: run tasks/pass_at_k.py first, or pass its logs") from ex
    return _write(pass_at_k_figure(rows), rows, args)
