"""`persona-evals tasks`: the benchmarks this package registers with inspect, from any folder.

`inspect list tasks` scans files below the current folder, so after a plain `pip install` it shows
nothing; this lists the package's own task files (the same scan, rooted in the package) with the
first line of each task's docstring and the name to pass to `inspect eval`.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="the registered tasks: inspect eval persona_evals/<name>")
    p.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    import importlib
    from pathlib import Path

    from inspect_ai import list_tasks

    import persona_evals

    root = Path(persona_evals.__file__).parent
    for info in sorted(list_tasks(root_dir=root), key=lambda t: t.name):
        module = importlib.import_module("persona_evals." + info.file.removesuffix(".py").replace("/", "."))
        doc = (getattr(module, info.name).__doc__ or "").strip().splitlines()
        print(f"persona_evals/{info.name:24} {doc[0] if doc else ''}")
    return 0
