"""The model-size options of `persona-evals metrics --regression` and `viz persona-regression`:
``--model-size MODEL=SIZE`` and ``--model-family MODEL=FAMILY`` (repeated), ``--model-sizes FILE``
(a CSV with columns ``model``, ``size`` and optionally ``family``); a flag wins over the file's row
for the same model. Checked against the models of the logs by `persona_evals.accuracy.sizes`."""

from __future__ import annotations

import argparse
from typing import Any

FILE_COLUMNS = ("model", "size")  # and optionally "family"


def add_size_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model-size",
        action="append",
        default=[],
        type=_size_pair,
        metavar="MODEL=SIZE",
        help="a model's size for the paper's scale regressions (each metric ~ size, random intercept per model "
        "family x task); MODEL as the metrics name it, SIZE a positive number (the paper: 1 = 2-3B, 2 = 7-9B, "
        "3 = 27B, 4 = 70-72B parameters); repeat for every model",
    )
    p.add_argument(
        "--model-family",
        action="append",
        default=[],
        type=_family_pair,
        metavar="MODEL=FAMILY",
        help="a model's family (the paper: gemma, llama, qwen), for every model with a size or for none "
        "(then all models are one family); repeat per model",
    )
    p.add_argument(
        "--model-sizes",
        metavar="FILE.csv",
        help="sizes (and families) from a CSV with columns model, size and optionally family; "
        "--model-size/--model-family win over its rows",
    )


def given(args: argparse.Namespace) -> bool:
    return bool(args.model_size or args.model_family or args.model_sizes)


def model_sizes(args: argparse.Namespace, models: list[str]) -> Any:
    """The `ModelSizes` the arguments give for `models` (the labels in the logs).

    Raises:
        SizeError: a bad file row, a model given twice, a name not in the logs, families for only
            some of the sized models (each message names the argument).
    """
    from persona_evals.accuracy.sizes import collect, resolve_sizes

    file_sizes, file_families = _read_file(args.model_sizes) if args.model_sizes else ({}, {})
    sizes = {**file_sizes, **collect((m, v, "--model-size") for m, v in args.model_size)}
    families = {**file_families, **collect((m, v, "--model-family") for m, v in args.model_family)}
    return resolve_sizes(sizes, families, models)


def _read_file(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from persona_evals.accuracy.sizes import SizeError, collect, positive_size
    from persona_evals.paths import read_csv_rows

    rows = read_csv_rows(path, "--model-sizes", FILE_COLUMNS, "hand (columns model, size and optionally family)")
    sizes, families = [], []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"--model-sizes {path} line {line}"
        model = (row.get("model") or "").strip()
        if not model:
            raise SizeError(f"{where}: no model name")
        try:
            sizes.append((model, positive_size((row.get("size") or "").strip()), where))
        except SizeError as ex:
            raise SizeError(f"{where}: {ex}") from None
        family = (row.get("family") or "").strip()
        if family:
            families.append((model, family, where))
    return collect(sizes), collect(families)


def _split(text: str, what: str) -> tuple[str, str]:
    model, sep, value = text.rpartition("=")  # a label may hold '=' (model args); the value never does
    if not sep or not model.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected MODEL={what}, got {text!r}")
    return model.strip(), value.strip()


def _size_pair(text: str) -> tuple[str, float]:
    from persona_evals.accuracy.sizes import SizeError, positive_size

    model, size = _split(text, "SIZE")
    try:
        return model, positive_size(size)
    except SizeError as ex:
        raise argparse.ArgumentTypeError(f"{ex} in {text!r}") from None


def _family_pair(text: str) -> tuple[str, str]:
    return _split(text, "FAMILY")
