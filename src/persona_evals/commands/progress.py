"""Progress bars the commands own: library code reports ``(done, total)`` through a callback.

Library functions that take long (`traits.extract.extract_vectors`, `training.loop.finetune`) print
nothing; they call ``progress(done, total, **postfix)``. A command passes a `ProgressBar`, which
draws a tqdm bar on stderr, starting where the first report says (a resumed run starts midway).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any


class ProgressBar:
    """A ``progress(done, total, **postfix)`` callback drawing one tqdm bar (none when not `enabled`)."""

    def __init__(self, desc: str, unit: str, enabled: bool = True) -> None:
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self._bar: Any = None

    def __call__(self, done: int, total: int, **postfix: Any) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, desc=self.desc, unit=self.unit)
        else:
            self._bar.update(done - self._bar.n)
        if postfix:
            self._bar.set_postfix(**postfix)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, ex: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
