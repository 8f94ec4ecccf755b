"""Output arguments of the `persona-evals` commands, checked before any work.

A command declares each file it writes with `add_output_argument` (a file, a folder of named
files, or a file with companions such as a plot's ``.csv``) and each folder it writes into with
`add_folder_argument`; `check_outputs`, run by the CLI before the command, refuses an existing file
unless ``--overwrite``, a directory where a file goes, and a parent that cannot be a folder, all
problems in one error (`persona_evals.paths.check_output` and `check_folder` check each path).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from persona_evals.paths import OutputPathError, check_folder, check_output

Files = Sequence[str] | Callable[[argparse.Namespace], Sequence[str]]


@dataclass(frozen=True)
class Output:
    """A command's output argument: `dest` names a file, or (with `files`) a folder holding them."""

    dest: str
    flag: str
    files: Files | None = None  # names inside the folder; "{name}" is formatted from the arguments
    companions: tuple[str, ...] = ()  # suffixes of files written beside the file (".csv")

    def paths(self, args: argparse.Namespace) -> list[Path]:
        value = getattr(args, self.dest, None)
        if value is None:
            return []
        base = Path(value)
        if self.files is None:
            return [base, *(base.with_suffix(s) for s in self.companions)]
        names = self.files(args) if callable(self.files) else [f.format(**vars(args)) for f in self.files]
        return [base / name for name in names]


def add_output_argument(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    files: Files | None = None,
    companions: Sequence[str] = (),
    **kwargs,
) -> None:
    """Add `flag` (a file, or with `files` a folder of them) and ``--overwrite``; `check_outputs` checks it.

    Args:
        parser: the command's parser.
        flag: e.g. ``--out``; further argparse options (``required``, ``default``, ``help``) in `kwargs`.
        files: the file names written inside the folder `flag` names (or a function of the arguments).
        companions: suffixes of files written beside the file, e.g. ``(".csv",)`` for a plot's table.
    """
    action = parser.add_argument(flag, **kwargs)
    outputs = list(parser.get_default("_outputs") or [])
    if not outputs:
        try:
            parser.add_argument("--overwrite", action="store_true", help="replace output files that exist")
        except argparse.ArgumentError:  # the command has its own --overwrite
            pass
    outputs.append(Output(action.dest, flag, files, tuple(companions)))
    parser.set_defaults(_outputs=outputs)


def add_folder_argument(parser: argparse.ArgumentParser, flag: str, **kwargs) -> None:
    """Add `flag`, a folder the command writes into (an inspect ``--log-dir``); `check_outputs`
    checks before any work that it is, or can become, a writable folder."""
    action = parser.add_argument(flag, **kwargs)
    parser.set_defaults(_folders=[*(parser.get_default("_folders") or []), (action.dest, flag)])


def check_outputs(args: argparse.Namespace) -> list[Path]:
    """Check every output a command declared (see `add_output_argument`); all problems in one error."""
    overwrite = bool(getattr(args, "overwrite", False))
    problems, paths = [], []
    folders = [(out.dest, out.flag) for out in getattr(args, "_outputs", None) or [] if out.files is not None]
    for dest, flag in [*folders, *(getattr(args, "_folders", None) or [])]:
        if getattr(args, dest, None) is not None:
            try:
                check_folder(getattr(args, dest), flag)
            except OutputPathError as ex:
                problems.append(str(ex))
    if problems:  # the files inside a folder that cannot be one need no more words
        raise OutputPathError("; ".join(problems))
    owners: dict[Path, str] = {}
    for out in getattr(args, "_outputs", None) or []:
        for path in out.paths(args):
            owner, key = f"{out.flag} {getattr(args, out.dest)}", Path(os.path.abspath(path))
            if key in owners:  # two outputs of one command on one file: the second would replace the first
                problems.append(f"{owners[key]} and {owner} both write {path}: give them different names")
                continue
            owners[key] = owner
            try:
                paths.append(check_output(path, overwrite, arg=out.flag))
            except OutputPathError as ex:
                problems.append(str(ex))
    if len(problems) == 1:
        raise OutputPathError(problems[0])
    if problems:
        raise OutputPathError("; ".join(problems))
    return paths
