"""The output folder of a finetuning run: built aside, renamed into place when complete.

A run writes into ``OUT.partial`` (checkpoints, then the final adapter and run record) and renames
it to ``OUT`` at the very end, so ``OUT`` is never a half-written adapter. Each checkpoint is
itself written to ``checkpoint-N.tmp`` and renamed, so an interrupted run leaves only complete
checkpoints, and ``--resume`` continues from the newest. An existing ``OUT`` is refused unless
``--overwrite`` (it is replaced only when the new run completes); a leftover ``OUT.partial`` is
refused unless ``--resume`` or ``--overwrite``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

    def check(self, resume: bool, overwrite: bool) -> None:
        """Raise `RunDirError` if the run may not start (before any model is loaded)."""
        if self.out.exists() and not overwrite:
            raise RunDirError(f"--out {self.out} already exists; pass --overwrite to replace it")
        if self.partial.exists() and not (resume or overwrite):
            raise RunDirError(
                f"an interrupted run left {self.partial}: pass --resume to continue it, or --overwrite to start over"
            )

    def prepare(self, resume: bool, overwrite: bool) -> Path | None:
        """Make the working folder; return the checkpoint to resume from (None: start afresh)."""
        self.check(resume, overwrite)
        if self.partial.exists():
            if resume:
                return self.latest_checkpoint()
            shutil.rmtree(self.partial)
        elif resume:
            print(f"--resume: no interrupted run at {self.partial}; starting afresh")
        self.partial.mkdir(parents=True)
        return None

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
