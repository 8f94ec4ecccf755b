"""Helpers shared by the plot commands: their log arguments, and where PNGs go (logs: `persona_evals.logs`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def add_log_arguments(p: argparse.ArgumentParser, out_default: str) -> None:
    """The arguments every plot takes: logs (files or dirs), --log-dir and --out."""
    p.add_argument("logs", nargs="*", help="log files or directories (default: newest in --log-dir)")
    p.add_argument(
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where to look when no logs are given (default: $INSPECT_LOG_DIR or ./logs)",
    )
    p.add_argument("--out", default=out_default, help=f"PNG to write (default: {out_default})")


def save_figure(fig: Any, out: str | Path) -> Path:
    """Write `fig` as a PNG (creating the folder) and close it."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return out


def check_outputs(out: str | Path, overwrite: bool) -> tuple[Path, Path]:
    """The PNG and its CSV (same name, ``.csv``), refused before any work when they exist."""
    png = Path(out)
    table = png.with_suffix(".csv")
    for path in (png, table):
        if path.exists() and not overwrite:
            raise ValueError(f"{path} already exists; pass --overwrite to replace it")
    return png, table


def write_rows(rows: list[dict[str, Any]], path: str | Path, columns: list[str] | None = None) -> Path:
    """The plotted numbers as a CSV beside the plot (atomically; replaces an existing file)."""
    import csv
    import io

    from persona_evals.paths import write_text_atomic

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns or list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue(), overwrite=True)


def use_agg() -> None:
    """Headless backend: our machines and CI have no display."""
    import matplotlib

    matplotlib.use("Agg")
