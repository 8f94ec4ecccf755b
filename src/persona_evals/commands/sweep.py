"""`persona-evals sweep`: one task over layers x coefficients, against one loaded copy of the model.

Every cell is its own `steer` model (its own log, with `layer` and `coef` in its model args), and
all cells share the weights: they run at once in one inspect `eval` (one task per cell), and
since steering is per row, requests of different cells share batches. The unsteered baseline is
the cell with coef 0 (include 0 in --coefs). With ``--mix A B --weights ...`` the cells
interpolate between two vectors instead: w·A + (1−w)·B at each layer (`persona_evals.steering.mix`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.commands.argtypes import finite_float, positive_int
    from persona_evals.commands.outputs import add_folder_argument

    p = sub.add_parser("sweep", help="run a task over layers x coefficients with one loaded model")
    p.add_argument("task", help="task file or file@task, e.g. tasks/trait_expression.py")
    p.add_argument("--model", default="smollm2", help="embedded name, local dir or HF id (default smollm2)")
    p.add_argument("--vector", help="vector file (file.safetensors or file.safetensors#name)")
    p.add_argument("--layers", type=positive_int, nargs="+", required=True, help="layers, e.g. --layers 10 15 20")
    p.add_argument("--coefs", type=finite_float, nargs="+", help="coefficients of --vector, e.g. --coefs 0 1 2")
    p.add_argument("--mix", nargs=2, metavar=("A", "B"), help="instead of --vector: interpolate two vectors")
    p.add_argument("--weights", type=float, nargs="+", help="with --mix: w of w·A + (1−w)·B, in [0, 1], increasing")
    p.add_argument("--positions", default="response", choices=["response", "prompt", "all"])
    p.add_argument("-M", dest="model_args", action="append", default=[], metavar="K=V", help="other steer model args")
    p.add_argument("-T", dest="task_args", action="append", default=[], metavar="K=V", help="task args")
    p.add_argument("--model-role", action="append", default=[], metavar="ROLE=MODEL", help="e.g. grader=steer/smollm2")
    p.add_argument("--limit", type=positive_int, help="samples per cell")
    add_folder_argument(p, "--log-dir", default="logs/sweep", help="where the cells' logs go (default logs/sweep)")
    p.add_argument("--display", default=None, help="inspect display (full, rich, plain, none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval
    from inspect_ai.model import get_model

    from persona_evals.commands import CommandError, first_line, parse_pairs
    from persona_evals.errors import SteeringConfigError

    file, at, name = args.task.partition("@")
    if file.endswith(".py") and not Path(file).expanduser().is_file():  # before loading the model
        raise CommandError(f"task file {file} does not exist")
    # inspect globs a task file from the working directory, which refuses an absolute path
    task = os.path.relpath(Path(file).expanduser()) + at + name if file.endswith(".py") else args.task
    extra = parse_pairs(args.model_args, "-M")
    clash = {"vector", "layer", "coef", "positions"} & set(extra)
    if clash:
        raise CommandError(f"-M {sorted(clash)} are set by the sweep's own options")
    roles = {k: str(v) for k, v in parse_pairs(args.model_role, "--model-role").items()}
    task_args = parse_pairs(args.task_args, "-T")
    try:
        cells = _cells(args)
        models = [
            get_model(f"steer/{args.model}", memoize=False, layer=layer, positions=args.positions, **cell, **extra)
            for layer in args.layers
            for cell in cells
        ]
    except SteeringConfigError as ex:
        raise CommandError(str(ex)) from None
    except OSError as ex:  # weights not found (offline, a wrong id)
        raise CommandError(f"--model {args.model}: {first_line(ex)}") from None
    logs = eval(
        task,
        model=models,
        task_args=task_args,
        model_roles=roles or None,
        limit=args.limit,
        max_tasks=len(models),  # inspect would run cells of one model name one after another
        log_dir=args.log_dir,
        display=args.display,
    )
    if len(logs) < len(models):  # interrupted (Ctrl-C): inspect returns no logs, having written them
        print(f"interrupted: {len(models)} cells were started in {args.log_dir}; continue them with "
              f"inspect eval-retry {args.log_dir}/<log>, or run the sweep again", file=sys.stderr)
        return 130
    failed = [log.location for log in logs if log.status != "success"]
    steps = f"{len(args.coefs)} coefs" if args.vector else f"{len(args.weights)} weights"
    print(f"{len(logs)} cells ({len(args.layers)} layers x {steps}) in {args.log_dir}")
    for log in failed:
        print(f"failed: {log}")
    return 1 if failed else 0


def _distinct(values: list[float] | list[int], arg: str) -> None:
    """Refuse a value listed twice: two identical cells (two logs of one model that every reader,
    ``viz steering-effect`` first, refuses to tell apart)."""
    from persona_evals.commands import CommandError

    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise CommandError(f"{arg} lists {', '.join(f'{v:g}' for v in twice)} more than once: each value is one cell, run once")


def _cells(args: argparse.Namespace) -> list[dict[str, object]]:
    """Each cell's steering args: ``--vector`` with ``--coefs``, or ``--mix A B`` with ``--weights``."""
    from persona_evals.commands import CommandError
    from persona_evals.steering.mix import check_same_hidden, mix_cells

    if (args.vector is None) == (args.mix is None):
        raise CommandError("give either --vector (with --coefs) or --mix A B (with --weights)")
    _distinct(args.layers, "--layers")
    if args.vector is not None:
        if args.weights:
            raise CommandError("--weights belongs to --mix; --vector sweeps --coefs")
        if not args.coefs:
            raise CommandError("--vector needs --coefs, e.g. --coefs 0 1 2 (0 is the unsteered baseline)")
        _distinct(args.coefs, "--coefs")
        return [{"vector": args.vector, "coef": coef} for coef in args.coefs]
    if args.coefs:
        raise CommandError("--coefs belongs to --vector; --mix A B sweeps --weights (w·A + (1−w)·B at coef 1)")
    if not args.weights:
        raise CommandError("--mix needs --weights, e.g. --weights 0 0.25 0.5 0.75 1")
    cells = mix_cells(*args.mix, args.weights)
    check_same_hidden(*args.mix)
    return cells
