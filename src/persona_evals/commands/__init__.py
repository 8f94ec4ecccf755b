"""Subcommands of the `persona-evals` console command (one module each, see `persona_evals.cli`)."""


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit code 2.

    Defined here, not in `persona_evals.cli`, so that running ``python -m persona_evals.cli``
    (where cli is ``__main__``) still catches the class the commands raise.
    """
