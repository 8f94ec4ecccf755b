"""Paths the user typed: files to read, resolved where the user typed them, and files to write.

Reading: ``inspect eval tasks/x.py -T config=loo.json`` creates and runs the task with the working
directory changed to ``tasks/``, so a plain ``Path("loo.json")`` would look for ``tasks/loo.json``.
Every task argument that names a file goes through `user_path`, which tries the shell's directory
(``$PWD``, which ``os.chdir`` leaves alone) first and the current directory second.

Writing: nothing is silently replaced or half-written. `check_output` and `check_folder` refuse an
existing file unless ``overwrite``, a directory where a file goes, and a parent that cannot be a
folder, so a bad path fails before minutes of computing (the commands check every output they
declare before any work: `persona_evals.commands.outputs`). Writers then go through `atomic_path`
(a temporary file beside the target, renamed into place only when complete).

A write that fails on the file system (disk full, quota, read-only) is one line naming the file
and the cause (`OutputWriteError`, from `writing`), never a library's traceback.

Tables a command reads (`read_csv_rows`, `csv_float`) are checked for their columns and numbers,
with errors that name the argument, file and line.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from persona_evals.errors import ArgumentError


class OutputPathError(ValueError):
    """An output path that cannot be written as asked (exists, is a folder, ...); names the argument."""


class OutputExistsError(OutputPathError, FileExistsError):
    """The output exists and ``--overwrite`` was not given."""


class OutputWriteError(OutputPathError):
    """Writing an output failed on the file system (disk full, read-only ...); names the file and the cause."""


# errors only a write raises: no space, over quota, a read-only file system, a file too large
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")  # how Rust libraries (safetensors) print an OS error


def write_errno(ex: BaseException) -> int | None:
    """The errno of `ex` when it is a failed write (an OSError, or a library's text ending
    ``(os error 28)``) with one of `WRITE_ERRNOS`; else None."""
    if isinstance(ex, OSError):
        code = ex.errno
    else:
        found = _RUST_OS_ERROR.search(str(ex))
        code = int(found.group(1)) if found else None
    return code if code in WRITE_ERRNOS else None


def os_error_line(ex: OSError) -> str | None:
    """One line for a file-system error that names its file or is a failed write (else None, a
    bug to show in full): ``cannot write runs/a.partial/run.json: No space left on device``."""
    if write_errno(ex) is None and ex.filename is None:
        return None
    cause = ex.strerror or str(ex)
    if ex.filename is None:
        return f"cannot write: {cause}"
    return f"{'cannot write ' if write_errno(ex) else ''}{ex.filename}: {cause}"


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a failed write inside the block (see `write_errno`) into an `OutputWriteError` naming
    `path`: ``cannot write out/v.safetensors: No space left on device``."""
    try:
        yield
    except Exception as ex:
        code = write_errno(ex)
        if code is None or isinstance(ex, OutputPathError):
            raise
        raise OutputWriteError(f"cannot write {path}: {os.strerror(code)}") from ex


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


def check_output(path: str | os.PathLike[str], overwrite: bool = False, arg: str = "--out") -> Path:
    """Check, before computing, that a file can be written at `path` (missing parents are created later).

    Raises:
        OutputPathError: `path` is a folder, exists (without `overwrite`), or a parent is a file.
    """
    path = Path(path)
    where = f"{arg} {path}"
    if path.is_dir():
        raise OutputPathError(f"{where} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{where} already exists; pass --overwrite to replace it")
    _check_nearest_folder(path.parent, where)
    return path


def _check_nearest_folder(path: Path, where: str) -> None:
    """The nearest existing one of `path` and its parents must be a writable folder."""
    nearest = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not nearest.is_dir():
        raise OutputPathError(f"{where}: {nearest} is a file, so it cannot hold a folder")
    if not os.access(nearest, os.W_OK):
        raise OutputPathError(f"{where}: {nearest} is not writable")


@contextmanager
def atomic_path(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; rename it onto `path` when the block succeeds.

    The temporary name keeps the suffix (matplotlib and safetensors read the format from it). On
    error it is removed and `path` is left as it was. The file gets the mode a plain ``open`` would
    give (or the mode of the file it replaces), not mkstemp's owner-only 0600.
    """
    path = check_output(path, overwrite, arg="file")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}", dir=path.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with writing(path):  # a full disk names `path`, not the temporary file
            yield tmp
            if not overwrite and path.exists():  # appeared while we computed
                raise OutputExistsError(f"{path} appeared while it was being written; pass --overwrite to replace it")
            os.chmod(tmp, file_mode(path))
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def file_mode(path: Path) -> int:
    """The permission bits of the file `path` replaces, else `default_file_mode`."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return default_file_mode()


def default_file_mode() -> int:
    """The mode a plain ``open`` gives a new file: 0o666 less the process umask (0644 under 022)."""
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def write_text_atomic(path: str | os.PathLike[str], text: str, overwrite: bool = False) -> Path:
    """Write `text` through `atomic_path`: a reader never sees half a file; an existing `path` is
    refused unless `overwrite` (`OutputExistsError`, a `ValueError` and `FileExistsError`, naming the path)."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(
    rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str], columns: Sequence[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Rows as a CSV through `write_text_atomic`: `columns` (other keys ignored), or every key seen
    in any row, in order of first appearance."""
    import csv
    import io

    rows = list(rows)
    fields = list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue(), overwrite=overwrite)


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


def check_folder(path: str | os.PathLike[str], arg: str) -> Path:
    """Check, before computing, that `path` is a folder, or can be created, and is writable.

    Raises:
        OutputPathError: `path` is a file (``--log-dir /dev/full``), a parent is a file, or the
            nearest existing folder is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{arg} {path} is a file; give a folder")
    _check_nearest_folder(path, f"{arg} {path}")
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
