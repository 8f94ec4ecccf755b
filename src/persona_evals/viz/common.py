"""What the plots share: writing a figure, and the headless backend."""

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
