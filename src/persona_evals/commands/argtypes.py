"""Argument types for the `persona-evals` commands: a bad value is refused while parsing.

argparse reports an `argparse.ArgumentTypeError` as ``argument --batch-size: expected a whole
number >= 1, got '0'``, naming the argument, before any file is read or model loaded.

Counts that size work or memory (samples, bootstrap replicates, tokens, retries) also have an
upper bound (`int_between`): a typo such as ``--n 1000000000`` is refused at once instead of
filling memory for minutes. The bounds are generous (10x to 100x what the papers used).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from functools import cache


@cache
def int_at_least(low: int) -> Callable[[str], int]:
    """An int type that refuses values below `low` (``--batch-size 0``, ``--samples -1``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
        return value

    parse.__name__ = f"int >= {low}"
    return parse


@cache
def int_between(low: int, high: int) -> Callable[[str], int]:
    """An int type that refuses values outside [`low`, `high`] (``--n-boot 1000000000``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low:,} to {high:,}, got {text!r}")
        return value

    parse.__name__ = f"int in [{low}, {high}]"
    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)


def finite_float(text: str) -> float:
    """A float type that refuses ``nan`` and ``inf`` (which argparse's `float` accepts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def unit_float(text: str) -> float:
    """A number in [0, 1] (a probability: ``--min-mass``)."""
    value = finite_float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value
