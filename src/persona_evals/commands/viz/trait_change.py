"""`persona-evals viz cosine-trait-change`: cosine between persona vectors vs the relative change of
one trait's score when steering with another trait's vector.

Rows: `persona_evals.compare.trait_change.change_rows` over the logs' metrics (each log read once);
figure: `persona_evals.viz.trait_change.change_figure` (the pairs with a relative change); every
row is in the CSV beside the PNG.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.viz.options import add_log_arguments

    p = sub.add_parser(
        "cosine-trait-change",
        help="cosine between trait vectors vs relative change of one trait when steering with another",
    )
    add_log_arguments(p, out_default="cosine_trait_change.png")
    p.add_argument("--vector", action="append", default=[], metavar="TRAIT=FILE",
                   help="a trait's vector file (repeat for each trait; the runs were steered with these files)")
    p.add_argument("--layer", type=int, help="layer of the cosine (default: each run's steering layer)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    from persona_evals.commands.viz.options import write_plot
    from persona_evals.compare.log_metrics import read_log_metrics
    from persona_evals.compare.trait_change import COLUMNS, change_rows, pearson_r
    from persona_evals.logs import find_logs
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.trait_change import change_figure

    use_agg()
    vectors = parse_vectors(args.vector)
    logs = read_log_metrics(find_logs(args.logs, args.log_dir, newest_only=False))
    rows = change_rows(logs, vectors, args.layer)
    shown = [r for r in rows if math.isfinite(r["relative_change"])]
    for r in rows:
        if r not in shown:
            print(f"not plotted: steering {r['steered']} did not change its own score ({r['log']})")
    r_value = pearson_r(shown)
    png, table = write_plot(change_figure(shown, r_value), rows, args.out, args.overwrite, COLUMNS)
    print(f"wrote {png} and {table} ({len(shown)} points, Pearson r {r_value:.3f})")
    return 0


def parse_vectors(items: list[str]) -> dict[str, str]:
    """``TRAIT=FILE`` items -> {trait: file}; an item without ``=`` is named by the file's stem."""
    from pathlib import Path

    from persona_evals.steering_args import split_key

    if len(items) < 2:
        raise ValueError("give each trait's vector file with --vector TRAIT=FILE (at least two traits)")
    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        name, path = (name, path) if sep else (Path(split_key(item)[0]).stem, item)
        if not name or not path:
            raise ValueError(f"--vector expects TRAIT=FILE, got {item!r}")
        if name in out:
            raise ValueError(f"--vector gives trait {name!r} twice")
        out[name] = path
    return out
