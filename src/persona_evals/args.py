"""Task arguments: strict types, bounds checked before any data loads, and one clean error.

inspect passes ``-T key=value`` through YAML, so a value arrives as whatever YAML made of it:
``-T k=abc`` is the string ``"abc"`` and ``-T pairwise=maybe`` a string Python calls true.
`task_args` wraps a ``@task`` function so that every argument is checked against its type hint
(and its bounds, if any) before the body runs, and so that the errors the body raises for bad
input (``ValueError``, the project's convention) reach the user as `ArgumentError`
(`persona_evals.errors`: ``inspect eval`` prints its message alone). `check` converts one value
the same way (``check(value, float, "coef")`` refuses ``nan`` and ``"abc"`` naming ``coef``);
model providers parse their ``-M`` arguments with `persona_evals.steering_args` instead.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, Literal, TypeVar, Union

from persona_evals.compat import active_generate_config, model_building_task
from persona_evals.errors import ArgumentError, UserError

F = TypeVar("F", bound=Callable[..., Any])
Bounds = tuple[float | None, float | None]
MAX_TOKENS = 100_000  # tokens generated per answer (a larger --max-tokens is a typo, and sizes caches)

_INT = re.compile(r"[+-]?\d+")
_ROLES: ContextVar[list[str] | None] = ContextVar("persona_evals_task_roles", default=None)


class _Mismatch(Exception):
    pass


def as_bool(value: Any, name: str) -> bool:
    """``true``/``false`` (YAML's booleans, or those words in any case); anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ArgumentError(f"{name}: expected true or false, got {value!r}")


def task_args(**bounds: Bounds) -> Callable[[F], F]:
    """Check a task's arguments against its type hints and `bounds`, before its body runs.

    Put it under ``@task``::

        @task
        @task_args(k=(1, MAX_K), seed=(0, None))
        def pass_at_k(k: int = 16, seed: int = 0, pairwise: bool = False) -> Task: ...

    Hints understood: ``bool``, ``int``, ``float``, ``str``, ``None``, ``Literal[...]``,
    ``list[...]``/``Sequence[...]`` (a single value becomes a one-item list) and unions of
    these; other hints pass the value through. `bounds` maps an argument to (low, high), either
    end None for open, both inclusive. ``ValueError`` raised by the body becomes `ArgumentError`.
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        unknown = set(bounds) - set(signature.parameters)
        if unknown:
            raise TypeError(f"task_args: {fn.__name__} has no argument(s) {sorted(unknown)}")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as ex:
                raise ArgumentError(f"{fn.__name__}: {ex}") from None
            bound.apply_defaults()
            for name, value in bound.arguments.items():
                if name in hints:
                    bound.arguments[name] = check(value, hints[name], name, bounds.get(name))
            check_generate_config(active_generate_config())  # `inspect eval --max-tokens 0`, before any sample
            roles = _ROLES.set([])
            try:
                built = fn(*bound.args, **bound.kwargs)
                needed = list(_ROLES.get() or [])
            except UserError:
                raise
            except ValueError as ex:
                raise ArgumentError(str(ex)) from ex
            finally:
                _ROLES.reset(roles)
            check_roles(fn.__name__, built, needed)
            return built

        wrapper.task_arg_bounds = dict(bounds)  # type: ignore[attr-defined]  # marks a checked task
        return wrapper  # type: ignore[return-value]

    return decorate


def needs_role(role: str) -> None:
    """Say that the task being built will call ``get_model(role=role, required=True)``.

    A judge, critic or writer factory calls this when it is created (its closure asks for the
    model only per sample, after the sample has generated). `task_args` then checks, while inspect
    builds the task and before any model generates, that the eval binds the role.
    """
    roles = _ROLES.get()
    if roles is not None and role not in roles:
        roles.append(role)


def check_roles(task_name: str, built: Any, needed: Sequence[str]) -> None:
    """Refuse a task that inspect builds for an eval binding not every one of its `needed` roles.

    inspect binds roles (``--model-role grader=...``, ``eval(model_roles=...)``) before it builds
    the tasks it was given by name or function; a `Task` object built before ``eval`` is called
    cannot be checked here (inspect's own check then fails each sample as it scores).
    """
    bound = _eval_roles()
    if not needed or bound is None:
        return
    own = getattr(built, "model_roles", None) or {}
    missing = [r for r in needed if r not in bound and r not in own]
    if missing:
        flags = " ".join(f"--model-role {r}=MODEL" for r in missing)
        raise ArgumentError(
            f"{task_name} needs a model for role {', '.join(repr(r) for r in missing)}, and none was given: "
            f"pass {flags} (e.g. --model-role {missing[0]}=steer/smollm2, or an API model such as "
            f"openai/gpt-4o-mini), or model_roles={{{missing[0]!r}: ...}} to eval()"
        )


def _eval_roles() -> Any:
    """The roles of the eval building the task now (None when no eval is: a task built in Python)."""
    if model_building_task() is None:
        return None
    from inspect_ai.model import model_roles

    return model_roles()


def evaluated_model_args() -> dict[str, Any] | None:
    """The model args of the model an eval is building the task for (inspect builds a task once
    per model); None when no eval is building it (a `Task` built in Python before ``eval``)."""
    model = model_building_task()
    return None if model is None else dict(model.model_args)


def check_generate_config(config: Any) -> None:
    """Refuse generation options no model can honour, before any generation (inspect itself
    accepts ``--max-tokens 0`` and then fails every sample with a long traceback)."""
    max_tokens = getattr(config, "max_tokens", None)
    if max_tokens is not None and max_tokens < 1:
        raise ArgumentError(f"max_tokens (--max-tokens): must be at least 1, got {max_tokens}")


def check(value: Any, hint: Any, name: str, bounds: Bounds | None = None) -> Any:
    """`value` converted to `hint` (see `task_args`), or ArgumentError naming `name`."""
    try:
        result = _convert(value, hint)
    except _Mismatch:
        raise ArgumentError(f"{name}: expected {_describe(hint)}, got {value!r}") from None
    if bounds is not None and isinstance(result, int | float) and not isinstance(result, bool):
        _within(result, name, bounds)
    return result


def _convert(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return value
    if hint is None or hint is type(None):
        if value is None:
            return None
        raise _Mismatch
    if origin in (Union, types.UnionType):
        members = typing.get_args(hint)
        # exact types first, so "2024" stays a string and 2024 an int in `str | int`
        for member in sorted(members, key=lambda m: not _exact(value, m)):
            try:
                return _convert(value, member)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        if value in typing.get_args(hint) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is bool:
        try:
            return as_bool(value, "")
        except ArgumentError:
            raise _Mismatch from None
    if hint is int:
        return _int(value)
    if hint is float:
        return _float(value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin in (list, Sequence, tuple) or hint in (list, tuple):
        (item,) = typing.get_args(hint)[:1] or (Any,)
        items = list(value) if isinstance(value, list | tuple) else [value]
        return [_convert(v, item) for v in items]
    return value  # a hint we do not police (dict, Path, ...)


def _exact(value: Any, hint: Any) -> bool:
    target = typing.get_origin(hint) or hint
    return (isinstance(target, type) and type(value) is target) or (value is None and hint is type(None))


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value)
    raise _Mismatch


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Mismatch
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        raise _Mismatch from None
    if not math.isfinite(number):
        raise _Mismatch
    return number


def _within(number: Any, name: str, bounds: Bounds) -> Any:
    low, high = bounds
    if low is not None and number < low:
        raise ArgumentError(f"{name}: must be at least {_fmt(low)}, got {number!r}")
    if high is not None and number > high:
        raise ArgumentError(f"{name}: must be at most {_fmt(high)}, got {number!r}")
    return number


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else repr(x)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(_describe(m) for m in typing.get_args(hint)))
    if origin is Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(hint))
    if hint is None or hint is type(None):
        return "none"
    if origin in (list, Sequence, tuple):
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return f"a list of {_describe(item)}" if item is not Any else "a list"
    return {bool: "true or false", int: "an integer", float: "a finite number", str: "text"}.get(hint, str(hint))
