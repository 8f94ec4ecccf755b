"""What the plot commands share: their log and output arguments, and writing a plot with its table.

Every plot is a PNG (or another format matplotlib writes) plus, beside it, a CSV of exactly the
numbers it draws: same name, ``.csv``. `add_plot_argument` declares both, so the CLI refuses an
existing PNG or CSV (without ``--overwrite``) before any work; `write_plot` writes both atomically.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TABLE_SUFFIX = ".csv"  # a plot's table: beside the image, same name


def add_log_arguments(p: argparse.ArgumentParser, out_default: str, extra: tuple[str, ...] = ()) -> None:
    """The arguments every plot of logs takes: logs (files or dirs), --log-dir, --out and --overwrite.

    `extra`: suffixes of further files written beside the PNG and its CSV (``(".samples.csv",)``).
    """
    p.add_argument("logs", nargs="*", help="log files or directories (default: newest in --log-dir)")
    p.add_argument(
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where to look when no logs are given (default: $INSPECT_LOG_DIR or ./logs)",
    )
    add_plot_argument(p, "--out", default=out_default, extra=extra)


def add_plot_argument(p: argparse.ArgumentParser, flag: str, default: str | None = None, extra: tuple[str, ...] = (),
                      help: str | None = None) -> None:
    """`flag` names a plot: its image and, beside it, the CSV of its numbers (and the `extra` files),
    all checked by the CLI before any work (`persona_evals.paths.add_output_argument`)."""
    from persona_evals.commands.outputs import add_output_argument

    also = "".join(f", {s}" for s in extra)
    text = help or "PNG to write"
    text += f" and beside it a CSV of the plotted numbers (same name, {TABLE_SUFFIX}{also})"
    text += f"; default {default}" if default else ""
    add_output_argument(p, flag, default=default, companions=(TABLE_SUFFIX, *extra), type=image_path,
                        help=f"{text}; .pdf, .svg ... also work")


def image_path(text: str) -> str:
    """An argparse type: a file name whose suffix matplotlib can write (none: PNG), checked before plotting."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(text).suffix.lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise argparse.ArgumentTypeError(f"{text!r}: cannot write a .{suffix} image; use one of {', '.join(sorted(formats))}")
    return text


def table_path(out: str | Path) -> Path:
    """Where the CSV of the plot `out` goes."""
    return Path(out).with_suffix(TABLE_SUFFIX)


def write_plot(fig: Any, table: Any, out: str | Path, overwrite: bool,
               columns: Sequence[str] | None = None) -> tuple[Path, Path]:
    """The figure at `out` and, beside it (`table_path`), the table of its plotted numbers: rows
    (dicts) or a DataFrame, `columns` of them (default: all). Both written atomically."""
    from persona_evals.paths import write_csv
    from persona_evals.viz.common import save_figure

    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    png = save_figure(fig, out, overwrite)
    return png, write_csv(rows, table_path(png), columns, overwrite=overwrite)
