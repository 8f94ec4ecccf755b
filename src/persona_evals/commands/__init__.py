"""Subcommands of the `persona-evals` console command (one module each, see `persona_evals.cli`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspect_ai.model import Model


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit code 2.

    Defined here, not in `persona_evals.cli`, so that running ``python -m persona_evals.cli``
    (where cli is ``__main__``) still catches the class the commands raise.
    """


def first_line(ex: Exception) -> str:
    """An exception's first line (library errors on missing weights run to many lines)."""
    return (str(ex).strip().splitlines() or [type(ex).__name__])[0]


def parse_pairs(items: list[str], arg: str) -> dict[str, Any]:
    """`K=V` items (`-M`, `-T`, `--model-role`) -> dict, values parsed as YAML like inspect's own."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"{arg} expects K=V, got {item!r}")
        out[key.replace("-", "_")] = yaml.safe_load(value)
    return out


def resolve_model(name: str, arg: str = "--model", **model_args: Any) -> Model:
    """`get_model(name)` before any eval runs, so a misspelt or unusable model fails first, naming `arg`.

    Unknown providers, bad names (``nope``, ``steer/nope``), missing model folders and missing
    provider packages or keys all become a `CommandError`.
    """
    import re

    from inspect_ai.model import get_model

    try:
        return get_model(name, **model_args)
    except Exception as ex:  # constructing a model does no work: any failure is about the name or setup
        message = re.sub(r"\[/?bold\]", "", str(ex)).strip()  # inspect's rich markup
        raise CommandError(f"{arg} {name}: {message}") from None
