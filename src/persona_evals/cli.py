"""The `persona-evals` console command: the suite's own tools (models, vectors, metrics, plots...).

Each subcommand lives in ``persona_evals.commands.<name>`` and exposes ``register(subparsers)``;
add a module name to `COMMANDS` to add one. Command modules import heavy libraries (torch,
pandas) only inside their handlers, so ``persona-evals --help`` stays fast. Files a command writes
are declared with `persona_evals.commands.outputs.add_output_argument` and checked here before it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from persona_evals.commands import CommandError

COMMANDS: tuple[str, ...] = (
    "demo", "tasks", "summary", "models", "traits", "vectors", "sweep", "finetune", "finetune_data", "metrics", "personas", "opinion", "viz",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="persona-evals",
        description="persona-evals: tools around the inspect-ai persona benchmarks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"persona_evals.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from persona_evals.commands.outputs import check_outputs
    from persona_evals.env import load_env
    from persona_evals.errors import UserError
    from persona_evals.logs import LogError
    from persona_evals.paths import OutputPathError, os_error_line

    load_env()
    args = build_parser().parse_args(argv)
    try:
        check_outputs(args)  # every declared output path, before any work
        return int(args.func(args) or 0)
    except (CommandError, OutputPathError, LogError, UserError) as ex:  # UserError: e.g. a task's missing role
        print(f"persona-evals {args.command}: error: {ex}", file=sys.stderr)
        return 2
    except OSError as ex:  # disk full, read-only, permissions, outside the writes `writing` names
        line = os_error_line(ex)
        if line is None:
            raise
        print(f"persona-evals {args.command}: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
