"""The output folder of a finetuning run: built aside, renamed into place when complete.

A run writes into ``OUT.partial`` (checkpoints, then the final adapter and run record) and renames
it to ``OUT`` at the very end, so ``OUT`` is never a half-written adapter. Each checkpoint is
itself written to ``checkpoint-N.tmp`` and renamed, so an interrupted run leaves only complete
checkpoints, and ``--resume`` continues from the newest. An existing ``OUT`` is refused unless
``--overwrite`` (it is replaced only when the new run completes); a leftover ``OUT.partial`` is
refused unless ``--resume`` or ``--overwrite``. A run that fails before its first checkpoint
removes its ``OUT.partial`` (`discard_if_untrained`): there is nothing to resume, and the corrected
rerun must not be told to ``--resume``.

One run at a time per ``OUT``: `lock` holds ``OUT.lock`` (an advisory ``flock``, with the owner's pid
written in it for the message) for the whole run. A second run on the same ``OUT`` is refused while
the first lives; the lock of a run that died is released by the system, so the next run takes the
file over.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from persona_evals.paths import OutputPathError, check_folder

OPTIONS_FILE = "options.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class RunDirError(ValueError):
    """The output folder cannot be used as asked (exists, nothing to resume ...)."""


@dataclass(frozen=True)
class RunDir:
    out: Path

    @property
    def partial(self) -> Path:
        return self.out.with_name(self.out.name + ".partial")

    @property
    def lock_file(self) -> Path:
        return self.out.with_name(self.out.name + ".lock")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``OUT.lock`` while the block runs; `RunDirError` naming the owner if another live run holds it."""
        import fcntl

        try:
            check_folder(self.out, "--out")  # a read-only place fails here, naming --out
        except OutputPathError as ex:
            raise RunDirError(str(ex)) from None
        self.out.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 64).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise RunDirError(
                    f"--out {self.out} is in use by another finetune run (pid {owner}, lock {self.lock_file}); "
                    "wait for it to finish, or give another --out"
                ) from None
            if os.path.exists(self.lock_file) and os.stat(self.lock_file).st_ino == os.fstat(fd).st_ino:
                break  # (else the owner removed the file between our open and our lock: take the new one)
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            self.lock_file.unlink(missing_ok=True)
            os.close(fd)  # closing releases the flock

    def check(self, resume: bool, overwrite: bool) -> None:
        """Raise `RunDirError` if the run may not start (before any model is loaded; under `lock`)."""
        if self.out.exists() and not overwrite:
            raise RunDirError(f"--out {self.out} already exists; pass --overwrite to replace it")
        if self.partial.exists() and self.latest_checkpoint() is not None and not (resume or overwrite):
            raise RunDirError(
                f"an interrupted run left {self.partial}: pass --resume to continue it, or --overwrite to start over"
            )

    def prepare(self, resume: bool, overwrite: bool) -> Path | None:
        """Make the working folder; return the checkpoint to resume from (None: start afresh, also
        when `resume` finds no checkpoint)."""
        self.check(resume, overwrite)
        start = self.latest_checkpoint() if self.partial.is_dir() else None
        if resume and start is not None:
            return start
        if self.partial.exists():
            shutil.rmtree(self.partial)  # replaced (--overwrite), or a leftover with nothing trained
        self.partial.mkdir(parents=True)
        return None

    def discard_if_untrained(self) -> None:
        """Remove ``OUT.partial`` when it holds no complete checkpoint (a failure before the first
        one leaves nothing to resume)."""
        if self.partial.is_dir() and self.latest_checkpoint() is None:
            shutil.rmtree(self.partial)

    def latest_checkpoint(self) -> Path | None:
        steps = [int(m.group(1)) for p in self.partial.iterdir() if (m := _CHECKPOINT.match(p.name))]
        return self.partial / f"checkpoint-{max(steps)}" if steps else None

    def save_checkpoint(self, step: int, write: Callable[[Path], None]) -> Path:
        """`write(folder)` into ``checkpoint-N.tmp``, then rename it to ``checkpoint-N``."""
        final = self.partial / f"checkpoint-{step}"
        tmp = final.with_name(final.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        write(tmp)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        return final

    def finish(self) -> Path:
        """Rename the completed working folder to OUT (replacing an old OUT, allowed by prepare)."""
        for leftover in self.partial.glob("checkpoint-*.tmp"):
            shutil.rmtree(leftover)
        if self.out.exists():
            shutil.rmtree(self.out)
        self.partial.rename(self.out)
        return self.out


def checkpoint_step(path: str | Path) -> int | None:
    """N of a ``checkpoint-N`` folder (None for any other name)."""
    m = _CHECKPOINT.match(Path(path).name)
    return int(m.group(1)) if m else None
