"""The project's error types for bad input: each message says everything, so it is printed alone.

`UserError` is an inspect ``PrerequisiteError`` (`persona_evals.compat`): ``inspect eval`` prints
its message alone, instead of a ~235-line exception group with the message at the end.
`ArgumentError` (a bad task or model argument, or a file an argument names) is also a
``ValueError``, so Python callers and ``persona-evals`` commands catch it as before;
`SteeringConfigError` is the one for steering arguments (``-M vector=...``, ``--steer``).
Errors of one domain (a log, an output path, a trait artifact) live beside the code that raises
them and subclass ``ValueError`` (or one of these).
"""

from __future__ import annotations

from persona_evals.compat import PrerequisiteError


class UserError(PrerequisiteError):
    """An error whose message says everything: inspect prints it alone, without a traceback."""

    def __init__(self, message: str) -> None:
        from rich.markup import escape

        Exception.__init__(self, message)
        self.message = escape(message)  # inspect prints .message as rich markup: keep [a,b] literal


class ArgumentError(UserError, ValueError):
    """A bad task or model argument, or a bad file an argument names (the message names it)."""


class SteeringConfigError(ArgumentError):
    """A steering argument is invalid; the message names the argument."""
