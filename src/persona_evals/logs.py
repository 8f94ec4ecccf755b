"""Eval logs: which files to read, the newest one, and one task's log read with a clear error.

Every reader in the suite goes through here, so a task's name is compared one way: without the
package namespace, since the same task logs as ``trait_expression`` when run from
``tasks/trait_expression.py`` and as ``persona_evals/trait_expression`` when run from the package.
Errors are `LogError` (a `ValueError`) whose message names the file; commands turn them into
user-facing errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog, EvalSample
    from inspect_ai.model import ChatMessage


class LogError(ValueError):
    """A log is missing, of another task, unfinished, or lacks what a reader needs (says which)."""


def task_name(task: str) -> str:
    """A task's registry name without its package: ``persona_evals/capitals`` -> ``capitals``."""
    return str(task).split("/")[-1]


def is_task(task: str, name: str) -> bool:
    """Whether a log's `task` is the task `name` (with or without a package namespace)."""
    return task_name(task) == task_name(name)


def newest_log(log_dir: str | Path, arg: str | None = "--log-dir") -> str:
    """The newest eval log in `log_dir` (a plain path); `arg` names the option in errors (None: a
    positional argument, named by its value alone)."""
    from inspect_ai.log import list_eval_logs

    where = f"{arg} {log_dir}" if arg else str(log_dir)
    if not Path(log_dir).exists():
        raise LogError(f"{where} does not exist")
    logs = list_eval_logs(str(log_dir))
    if not logs:
        raise LogError(f"no eval logs (.eval or .json) in {where}")
    return logs[0].name.removeprefix("file://")


def find_logs(logs: Sequence[str], log_dir: str, newest_only: bool = True) -> list[str]:
    """The log files named (a folder: every log in it); with none, the newest in `log_dir` (or all
    of them). Not read: `read_logs`, or a benchmark's results module, reads each once.

    Never returns an empty list (inspect's readers take an empty list for "the default log dir"):
    a folder without logs, or a name that does not exist, is an error.
    """
    from inspect_ai.log import list_eval_logs

    if not logs:
        if newest_only:
            return [newest_log(log_dir)]
        if not Path(log_dir).exists():
            raise LogError(f"--log-dir {log_dir} does not exist")
        paths = [info.name for info in list_eval_logs(log_dir)]
        if not paths:
            raise LogError(f"no eval logs in --log-dir {log_dir}")
        return [p.removeprefix("file://") for p in paths]
    return _expand(logs)


def _expand(logs: Sequence[str]) -> list[str]:
    """Log files as named, folders as the logs in them."""
    from inspect_ai.log import list_eval_logs

    paths: list[str] = []
    for item in logs:
        if Path(item).is_dir():
            found = [info.name.removeprefix("file://") for info in list_eval_logs(item)]
            if not found:
                raise LogError(f"no eval logs (.eval or .json) in {item}")
            paths.extend(found)
        elif Path(item).exists():
            paths.append(str(item))
        else:
            raise LogError(f"log {item} does not exist")
    return paths


def read_logs(logs: Sequence[str], task: str | None = None, header_only: bool = True) -> list[EvalLog]:
    """Each log read once (a folder: every log in it), in order; `task`: all must be logs of it.

    Never returns an empty list (inspect's readers take one for "the default log dir").

    Raises:
        LogError: no log, a file that is not a readable log (naming it), or logs of other tasks
            (listing them).
    """
    if not logs:
        raise LogError("no eval logs given")
    read = [_read(path, None, header_only) for path in _expand(logs)]
    if task is not None:
        check_task(read, task)
    return read


def check_task(logs: Sequence[EvalLog], task: str) -> None:
    """Every log is of `task` (any namespace); else one `LogError` listing the others with their tasks."""
    other = [log for log in logs if not is_task(log.eval.task, task)]
    if other:
        listed = ", ".join(f"{log.location} ({task_name(log.eval.task)})" for log in other)
        raise LogError(f"expected {task_name(task)} logs, got: {listed}")


def existing_log(path: str | Path, arg: str | None = None) -> str:
    """A readable log file, or the newest log in a folder (else a `LogError` naming `arg`)."""
    return check_log(newest_log(path, arg=arg) if Path(path).is_dir() else path, arg=arg)


def check_log(path: str | Path, arg: str | None = None) -> str:
    """`path` if it is a readable eval log (its header reads); else a `LogError` naming the file."""
    _read(str(path).removeprefix("file://"), arg, header_only=True)
    return str(path)


def _read(path: str, arg: str | None, header_only: bool) -> EvalLog:
    """`read_eval_log`, whose errors on a file that is not a log ("EOCD not found") name the file."""
    from inspect_ai.log import read_eval_log

    where = f"{arg}: {path}" if arg else path
    if "://" not in path:  # remote logs (s3://...) are inspect's to check
        if not Path(path).exists():
            raise LogError(f"{where} does not exist")
        if Path(path).suffix not in (".eval", ".json"):
            raise LogError(f"{where} is not an eval log (an inspect .eval or .json file)")
        if Path(path).stat().st_size == 0:
            raise LogError(f"{where} is an empty file, not an eval log")
    try:
        return read_eval_log(path, header_only=header_only)
    except Exception as ex:  # zipfile, JSON and pydantic errors alike: the file is not a whole log
        raise LogError(
            f"{where} is not a readable eval log ({type(ex).__name__}: {ex}); is it truncated, or still being written?"
        ) from None


def read_task_log(
    path: str | Path,
    task: str | None = None,
    *,
    arg: str | None = None,
    finished: bool = False,
    header_only: bool = False,
) -> EvalLog:
    """Read one log, checking that it exists, is of `task` and (with `finished`) completed.

    Args:
        path: the log file.
        task: the task it must be a log of (any namespace); None accepts every task.
        arg: the argument the path came from (``baseline_log``), named in errors.
        finished: also require status ``success``.
        header_only: skip the samples (``inspect_ai.log.read_eval_log``'s option).
    """
    path = str(path).removeprefix("file://")
    where = f"{arg}: {path}" if arg else path
    log = _read(path, arg, header_only)
    if task is not None and not is_task(log.eval.task, task):
        raise LogError(f"{where} is a log of task {task_name(log.eval.task)!r}, not {task_name(task)}")
    if finished:
        check_finished(log.status, where)
    return log


def check_finished(status: str, where: str) -> None:
    """The rule of every reader that computes from logs (`check_all_finished`), for one log."""
    check_all_finished([(where, status)])


def check_all_finished(logs: Iterable[tuple[str, str]]) -> None:
    """The rule of every reader that computes from logs: each (where, status) completed (status
    ``success``). A ``started`` log (interrupted, or still running), an ``error`` or ``cancelled``
    one holds some samples, or none, and would be read as if whole. One error lists them all."""
    unfinished = [(where, status) for where, status in logs if status != "success"]
    if len(unfinished) == 1:
        where, status = unfinished[0]
        raise LogError(f"{where} did not complete (status {status}): rerun it (inspect eval-retry) or leave it out")
    if unfinished:
        listed = ", ".join(f"{where} (status {status})" for where, status in unfinished)
        raise LogError(f"logs that did not complete: {listed}: rerun them (inspect eval-retry) or leave them out")


def prompt_messages(sample: EvalSample) -> list[ChatMessage]:
    """The messages the model answered: the sample's conversation before its last reply.

    Not ``sample.input``: solvers add to it (a persona as a system message or in the user turn),
    and the model saw their result. A sample without a recorded reply gives its whole conversation
    (or its input, as one user message when it is text).
    """
    from inspect_ai.model import ChatMessageUser

    messages = list(sample.messages or [])
    last = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=None)
    if last is not None:
        return messages[:last]
    if messages:
        return messages
    return [ChatMessageUser(content=sample.input)] if isinstance(sample.input, str) else list(sample.input)
