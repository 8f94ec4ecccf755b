"""Command-line file arguments: a log file or the newest log of a folder; outputs that must not exist yet."""

from __future__ import annotations

from pathlib import Path

from persona_evals.commands import CommandError


def existing_log(path: str, arg: str) -> str:
    """A log file, or the newest log in a directory (a `CommandError` naming `arg` otherwise)."""
    from persona_evals.logs import LogError, newest_log

    if not Path(path).exists():
        raise CommandError(f"{arg}: {path} does not exist")
    if Path(path).is_dir():
        try:
            return newest_log(path, arg=arg)
        except LogError as ex:
            raise CommandError(str(ex)) from None
    return path


def refuse_existing(paths: list[tuple[str | None, str]], overwrite: bool) -> None:
    """Refuse outputs (path, arg) that exist unless `overwrite`; None paths are skipped."""
    existing = [f"{arg} {path}" for path, arg in paths if path and Path(path).exists()]
    if existing and not overwrite:
        raise CommandError(f"{', '.join(existing)} already exist(s); pass --overwrite to replace")
