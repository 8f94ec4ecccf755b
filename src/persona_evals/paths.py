"""Paths the user typed, resolved against the directory they typed them in.

``inspect eval tasks/x.py -T config=loo.json`` creates and runs the task with the working directory
changed to ``tasks/``, so a plain ``Path("loo.json")`` would look for ``tasks/loo.json``. Every task
argument that names a file goes through `user_path`, which tries the shell's directory (``$PWD``,
which ``os.chdir`` leaves alone) first and the current directory second.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from persona_evals.args import ArgumentError


def user_path(value: str | os.PathLike[str]) -> Path:
    """`value` as the user meant it: absolute, or relative to where the command was started.

    Returns the first of ``$PWD/value`` and ``./value`` that exists; when neither does, the
    ``$PWD`` one (so a file to be written, or an error message, names the place the user expects).
    """
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    start = os.environ.get("PWD")
    candidates = [Path(start) / path] if start and Path(start).is_dir() else []
    candidates.append(Path.cwd() / path)
    return next((c for c in candidates if c.exists()), candidates[0])


def write_text_atomic(path: str | os.PathLike[str], text: str, overwrite: bool = False) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it into place.

    A reader never sees a half-written file, and an existing `path` is refused unless `overwrite`
    (`FileExistsError` naming the path).
    """
    import tempfile

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """Parse the JSON file an argument names; errors name the argument, the file and the line.

    An empty file, unreadable bytes and a syntax error are each an `ArgumentError` (a ValueError)
    such as ``experts_cache: cache.json, line 3 column 5: Expecting ':' delimiter``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArgumentError(f"{what}: file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as ex:
        raise ArgumentError(f"{what}: cannot read {path} as UTF-8 text ({ex})") from None
    return loads_json(text, f"{what}: {path}")


def loads_json(text: str, source: str) -> Any:
    """`text` parsed as JSON; an empty text or a syntax error raises naming `source` and the line."""
    if not text.strip():
        raise ArgumentError(f"{source} is empty (expected JSON)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as ex:
        raise ArgumentError(f"{source}, line {ex.lineno} column {ex.colno}: {ex.msg}") from None
