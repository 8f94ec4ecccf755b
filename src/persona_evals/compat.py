"""Every place persona-evals reaches into inspect's or torch's internals, or changes the process.

Each coupling below leans on something its package does not promise (a private name, a method's
signature, a config knob) or changes state the whole process shares. They are gathered here so a
version bump has one file to check, and each checks the version it was written for (`WRITTEN_FOR`):
outside that range it warns once, naming the coupling; where the shape it relies on is gone (a
patched method's signature, a private name) it fails loudly rather than doing something else.

- `PrerequisiteError` (inspect, private): ``inspect eval`` prints such an error's message alone,
  not a long exception group (`persona_evals.errors` builds the project's errors on it).
- `add_model_args` (inspect, patch): wraps ``Model.__init__`` so a model API's `identity_args`
  join the model args every log records (`steering.reruns` says why).
- `model_building_task` (inspect, private): the model inspect's task loader is building a task
  for, so a task checks its required model roles, and decides what to score, before any sample.
- `active_generate_config` (inspect, private): the generation options (``--max-tokens``) of the
  eval that is creating a task, so `args.task_args` refuses impossible ones before any sample.
- `freeze_heap` (the garbage collector, process-wide): after a model load.
- `allow_recompiles` and `mark_static_address` (torch dynamo, private): the static decoder's
  shape buckets, each its own graph, and its steering buffers at fixed addresses.

Kept torch- and inspect-free at import (inspect's error module excepted), so the base layer can
import it.
"""

from __future__ import annotations

import functools
import gc
import inspect as pyinspect
import re
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import Any

WRITTEN_FOR: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "inspect_ai": ((0, 3, 285), (0, 4)),
    "torch": ((2, 4), (2, 14)),
}
"""Per package, the versions [low, high) the couplings below were written and tested for."""

_WARNED: set[str] = set()

try:  # private in inspect; without it errors still work, only printed with inspect's traceback
    from inspect_ai._util.error import PrerequisiteError
except ImportError:  # pragma: no cover

    class PrerequisiteError(Exception):  # type: ignore[no-redef]
        def __init__(self, message: Any) -> None:
            self.message = message


def parse_version(text: str) -> tuple[int, ...]:
    """The leading release numbers of a version: ``"2.13.0+cpu"`` -> (2, 13, 0), ``"0.4.0rc1"`` -> (0, 4, 0)."""
    match = re.match(r"\d+(\.\d+)*", text.strip())
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


def check_version(package: str, coupling: str, installed: str | None = None) -> bool:
    """Whether `package`'s installed version is one `coupling` was written for; warns once if not."""
    installed = installed if installed is not None else _installed(package)
    if installed is None:
        return True  # nothing to couple to
    low, high = WRITTEN_FOR[package]
    if low <= parse_version(installed) < high:
        return True
    if package not in _WARNED:
        _WARNED.add(package)
        span = f"{'.'.join(map(str, low))} up to (not including) {'.'.join(map(str, high))}"
        warnings.warn(
            f"persona_evals: {coupling} relies on {package} internals written for {span}; {package} "
            f"{installed} is installed. If it misbehaves, install a {package} in that range "
            "(constraints.txt pins the tested one).",
            RuntimeWarning,
            stacklevel=3,
        )
    return False


@functools.cache
def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def add_model_args(attribute: str = "identity_args") -> None:
    """Make ``inspect_ai.model.Model`` add its API's `attribute` (a dict) to ``model_args``.

    inspect has no hook for a provider to add to its model's args (the provider is built from a
    copy of them, before its `Model`), so this wraps ``Model.__init__``; a model whose API has no
    such attribute is untouched. Idempotent.
    """
    from inspect_ai.model import Model

    original = Model.__init__
    if getattr(original, "_persona_evals", False):
        return
    check_version("inspect_ai", "the model-args patch (Model.__init__)")
    params = list(pyinspect.signature(original).parameters)
    if params[:4] != ["self", "api", "config", "model_args"]:
        raise RuntimeError(
            f"persona_evals: inspect_ai.model.Model.__init__{pyinspect.signature(original)} is not "
            "(self, api, config, model_args): the steering signature cannot join the logged model args "
            "with this inspect_ai; install the version constraints.txt pins"
        )

    @functools.wraps(original)
    def __init__(self: Any, api: Any, config: Any, model_args: dict[str, Any] | None = None, *rest: Any, **kw: Any) -> None:
        original(self, api, config, model_args, *rest, **kw)
        extra = getattr(api, attribute, None)
        if extra:
            self.model_args = {**self.model_args, **extra}

    __init__._persona_evals = True  # type: ignore[attr-defined]
    Model.__init__ = __init__  # type: ignore[method-assign]


def model_building_task() -> Any:
    """The model inspect's task loader is building a task for now, else None.

    inspect sets its active model (private ``active_model``) and the eval's model roles before it
    builds the tasks of an eval, eval_set or eval-retry, so a task can look at both. But the active
    model is also set while samples run, and ``eval_set`` leaves it set in the caller's context
    afterwards: it alone would name a model for a task built later in plain Python. So the model
    counts only while the loader's functions (`_LOADER`) are on the call stack.
    """
    frame = sys._getframe(1)
    while frame is not None and _LOADER.get(frame.f_code.co_name) != frame.f_globals.get("__name__"):
        frame = frame.f_back
    if frame is None:
        return None
    check_version("inspect_ai", "the task-building model (inspect_ai.model._model.active_model)")
    from inspect_ai.model._model import active_model

    return active_model()


_LOADER = {"resolve_tasks": "inspect_ai._eval.loader", "resolve_previous_tasks": "inspect_ai._eval.loader"}


def active_generate_config() -> Any:
    """The ``GenerateConfig`` of the eval creating the current task (inspect sets it before it
    creates tasks); None where this inspect has no such private name."""
    try:
        from inspect_ai.model._generate_config import active_generate_config as active
    except ImportError:  # pragma: no cover
        check_version("inspect_ai", "the generate-config check (active_generate_config)")
        return None
    return active()


def freeze_heap() -> None:
    """Collect, then move every live object out of the cyclic garbage collector's reach.

    After a model load the half a million long-lived objects of torch, transformers, inspect and
    the model are then never scanned again; full collections otherwise took ~0.2 s each at random
    points of a run (the main source of run-to-run spread in the provider's speed). vLLM does the
    same after start-up. The cost: such objects, if they later become unreachable cycles, are
    never freed.
    """
    gc.collect()
    gc.freeze()


def allow_recompiles(limit: int) -> None:
    """Let dynamo keep at least `limit` graphs of one function (one per static shape bucket)."""
    import torch._dynamo

    check_version("torch", "the static decoder's recompile limit (torch._dynamo.config)")
    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"  # before torch 2.6
    setattr(config, name, max(getattr(config, name), limit))


def mark_static_address(tensor: Any) -> None:
    """Tell dynamo that `tensor` keeps its address (a buffer the compiled step reads in place)."""
    import torch._dynamo

    check_version("torch", "the static decoder's buffers (torch._dynamo.mark_static_address)")
    torch._dynamo.mark_static_address(tensor)


def compile_failure(ex: BaseException) -> bool:
    """Whether `ex` is torch failing to compile or capture a graph (not the computation failing).

    Dynamo's and inductor's errors, and CUDA graph capture errors, are; running out of memory is
    not, even when the compiler raised it (see `out_of_memory`).
    """
    if out_of_memory(ex) is not None:
        return False
    return isinstance(ex, _compile_errors()) or (isinstance(ex, RuntimeError) and "captur" in str(ex).lower())


def out_of_memory(ex: BaseException) -> BaseException | None:
    """The out-of-memory error `ex` is or wraps (dynamo wraps a compiler's error), else None."""
    import torch

    chain: list[BaseException] = []
    seen: BaseException | None = ex
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or getattr(seen, "inner_exception", None)
    typed = [e for e in chain if isinstance(e, torch.OutOfMemoryError)]
    worded = [e for e in chain if "out of memory" in str(e).lower()]  # "CUDA error: out of memory"
    return (typed or worded or [None])[0]


def _compile_errors() -> tuple[type[BaseException], ...]:
    import torch._dynamo.exc

    errors: list[type[BaseException]] = [torch._dynamo.exc.TorchDynamoException]
    try:
        from torch._inductor.exc import InductorError  # torch >= 2.7: raised unwrapped by inductor
    except ImportError:  # pragma: no cover
        pass
    else:
        errors.append(InductorError)
    return tuple(errors)
