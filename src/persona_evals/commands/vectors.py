"""`persona-evals vectors`: inspect persona-vector files (extraction and projection come later)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vectors", help="persona-vector files")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="tensors, shapes, per-layer norms and metadata of a vector file")
    show.add_argument("path", help=".safetensors (or .pt) file")
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    from safetensors import safe_open

    from persona_evals.cli import CommandError
    from persona_evals.steering.spec import SteeringConfigError
    from persona_evals.steering.vectors import load_vector

    try:
        first = load_vector(args.path, arg="path")
    except SteeringConfigError as ex:
        raise CommandError(str(ex)) from None
    keys = [first.key]
    if args.path.endswith(".safetensors"):
        with safe_open(args.path, "pt") as f:
            keys = list(f.keys())
    print(f"file:    {args.path}\nsha256:  {first.sha256}")
    for k, v in sorted(first.metadata.items()):
        print(f"  {k}: {v}")
    for key in keys:
        t = load_vector(args.path, key, arg="path").tensor
        print(f"tensor {key!r}: shape {list(t.shape)}")
        if t.dim() == 2:
            norms = " ".join(f"{i}:{float(n):.2f}" for i, n in enumerate(t.norm(dim=-1)))
            print(f"  norm per row (row L = hidden_states[L]): {norms}")
        else:
            print(f"  norm: {float(t.norm()):.3f}")
    return 0
