"""What the plot commands share: their log and output arguments, and writing a plot with its table."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def add_log_arguments(p: argparse.ArgumentParser, out_default: str, companions: tuple[str, ...] = ()) -> None:
    """The arguments every plot takes: logs (files or dirs), --log-dir, --out and --overwrite.

    `companions`: suffixes of files written beside the PNG (``(".csv",)``: its table).
    """
    from persona_evals.commands.outputs import add_output_argument

    p.add_argument("logs", nargs="*", help="log files or directories (default: newest in --log-dir)")
    p.add_argument(
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where to look when no logs are given (default: $INSPECT_LOG_DIR or ./logs)",
    )
    also = "".join(f" and its {s} table" for s in companions)
    add_output_argument(p, "--out", default=out_default, companions=companions, type=image_path,
                        help=f"PNG to write{also} (default: {out_default}; .pdf, .svg ... also work)")


def image_path(text: str) -> str:
    """An argparse type: a file name whose suffix matplotlib can write (none: PNG), checked before plotting."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(text).suffix.lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise argparse.ArgumentTypeError(f"{text!r}: cannot write a .{suffix} image; use one of {', '.join(sorted(formats))}")
    return text


def write_plot(fig: Any, rows: list[dict[str, Any]], out: str | Path, overwrite: bool,
               columns: list[str] | None = None) -> tuple[Path, Path]:
    """The figure at `out` and, beside it (same name, ``.csv``), the table of its plotted numbers."""
    from persona_evals.paths import write_csv
    from persona_evals.viz.common import save_figure

    png = save_figure(fig, out, overwrite)
    return png, write_csv(rows, png.with_suffix(".csv"), columns, overwrite=overwrite)
