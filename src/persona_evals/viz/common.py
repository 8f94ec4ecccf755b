"""What the plots share: writing a figure, the headless backend, and reading a CSV a plot is drawn from."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_figure(fig: Any, out: str | Path, overwrite: bool = False) -> Path:
    """Write `fig` atomically (PNG, or the format of `out`'s suffix), creating the folder; an existing
    file is replaced only with `overwrite`. The figure is closed."""
    import matplotlib.pyplot as plt

    from persona_evals.paths import atomic_path

    try:
        with atomic_path(out, overwrite) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=Path(out).suffix[1:] or "png")
    finally:
        plt.close(fig)
    return Path(out)


def use_agg() -> None:
    """Headless backend: our machines and CI have no display."""
    import matplotlib

    matplotlib.use("Agg")


def read_csv_rows(path: str, arg: str, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """The rows of a CSV that a plot reads (`--csv`), checked: a file, with a header, `columns` and rows.

    Args:
        path: the file.
        arg: the option it came from, named in errors.
        columns: the columns the plot needs.
        what: what wrote such a file, for the error (e.g. "`persona-evals metrics`").

    Raises:
        ValueError: naming the argument and file, and the missing columns or the bad line.
    """
    import csv

    where = f"{arg} {path}"
    if not Path(path).is_file():
        raise ValueError(f"{where}: {'is a directory' if Path(path).is_dir() else 'no such file'}")
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as ex:
        raise ValueError(f"{where} is not a readable CSV ({ex})") from None
    if not header:
        raise ValueError(f"{where} is empty; expected a CSV written by {what}")
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(
            f"{where} lacks the column(s) {', '.join(missing)} (it has {', '.join(header)}); "
            f"expected a CSV written by {what}"
        )
    if not rows:
        raise ValueError(f"{where} has a header but no rows")
    return rows


def csv_float(row: dict[str, str], column: str, path: str, line: int) -> float:
    """`row[column]` as a float (empty: NaN); else a ValueError naming the file, line and column."""
    text = (row.get(column) or "").strip()
    if not text:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}:{line}: column {column} is {text!r}, not a number") from None
