"""`persona-evals models`: embedded models (list them, or convert one ahead of time)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="embedded local models (list, prepare)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="embedded models and where they are cached").set_defaults(func=_list)
    prep = actions.add_parser("prepare", help="convert an embedded model into the cache now")
    prep.add_argument("name", nargs="?", default="smollm2", help="embedded model name (default smollm2)")
    prep.set_defaults(func=_prepare)


def _list(args: argparse.Namespace) -> int:
    from persona_evals.env import cache_dir
    from persona_evals.steering.embedded import EMBEDDED

    for spec in EMBEDDED.values():
        cached = sorted((cache_dir() / "models").glob(f"{spec.name}-*/config.json"))
        where = str(cached[-1].parent) if cached else "not converted yet (first use converts it, ~20 s)"
        print(f"{spec.name:10} steer/{spec.name:10} {spec.description}\n{'':10} {where}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.errors import SteeringConfigError
    from persona_evals.steering.embedded import embedded_dir

    try:
        print(embedded_dir(args.name))
    except SteeringConfigError as ex:
        raise CommandError(str(ex)) from None
    return 0
