"""`persona-evals vectors`: extract persona vectors from trait logs, project logs onto them, show files."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.argtypes import finite_float, positive_int
    from persona_evals.paths import add_output_argument

    p = sub.add_parser("vectors", help="persona-vector files")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="tensors, shapes, per-layer norms and metadata of a vector file")
    show.add_argument("path", help=".safetensors (or .pt) file; file#name shows one tensor")
    show.set_defaults(func=_show)

    ex = actions.add_parser("extract", help="mean-difference vectors from a trait's pos and neg trait_expression logs")
    ex.add_argument("--pos", required=True, help="log (or dir: its newest log) of trait_expression -T instruction=pos")
    ex.add_argument("--neg", required=True, help="log (or dir: its newest log) of trait_expression -T instruction=neg")
    add_output_argument(ex, "--out", required=True, type=_safetensors, help="vector file to write (.safetensors)")
    ex.add_argument("--model", help="local dir or HF id of the weights (default: the logs' steer/hf model)")
    ex.add_argument("--pos-threshold", type=finite_float, default=50, help="keep pairs whose pos trait score >= this (50)")
    ex.add_argument("--neg-threshold", type=finite_float, default=50, help="... and whose neg trait score < this (50)")
    ex.add_argument("--coherence-threshold", type=finite_float, default=50, help="... and both coherences >= this (50)")
    ex.add_argument("--no-filter", action="store_true", help="keep every pair, ignoring the judge's scores")
    ex.add_argument("--batch-size", type=positive_int, default=8)
    ex.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    ex.add_argument("--device", default="auto")
    ex.set_defaults(func=_extract)

    pr = actions.add_parser("project", help="per-sample projections of a log onto a vector (CSV); finetuning shift")
    pr.add_argument("log", help="an eval log of any chat task (or a dir: its newest log)")
    pr.add_argument("--vector", required=True, help="vector file (file.safetensors or file.safetensors#prompt_last)")
    pr.add_argument("--layer", type=positive_int, action="append", required=True, help="layer (repeatable)")
    add_output_argument(pr, "--out", required=True, help="CSV to write")
    pr.add_argument("--model", help="weights to read the log with (default: the log's steer/hf model)")
    pr.add_argument("--base-model", help="also report the finetuning shift of --model against this base model")
    pr.add_argument("--batch-size", type=positive_int, default=8)
    pr.set_defaults(func=_project)


def _safetensors(text: str) -> str:
    if not text.endswith(".safetensors"):
        raise argparse.ArgumentTypeError(f"expected a .safetensors file name, got {text!r}")
    return text


def _show(args: argparse.Namespace) -> int:
    from safetensors import safe_open

    from persona_evals.commands import CommandError
    from persona_evals.steering.spec import SteeringConfigError
    from persona_evals.steering.vectors import load_vector

    path, _, key = args.path.partition("#")
    try:
        first = load_vector(path, key or None, arg="path")
    except SteeringConfigError as ex:
        raise CommandError(str(ex)) from None
    keys = [first.key]
    if path.endswith(".safetensors") and not key:
        with safe_open(path, "pt") as f:
            keys = list(f.keys())
    print(f"file:    {path}\nsha256:  {first.sha256}")
    for k, v in sorted(first.metadata.items()):
        print(f"  {k}: {v}")
    for key in keys:
        t = load_vector(path, key, arg="path").tensor
        print(f"tensor {key!r}: shape {list(t.shape)}")
        if t.dim() == 2:
            norms = " ".join(f"{i}:{float(n):.2f}" for i, n in enumerate(t.norm(dim=-1)))
            print(f"  norm per row (row L = hidden_states[L]): {norms}")
        else:
            print(f"  norm: {float(t.norm()):.3f}")
    return 0


def _extract(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.paths import atomic_path
    from persona_evals.steering.spec import SteeringConfigError
    from persona_evals.traits.extract import extract_vectors
    from persona_evals.traits.logs import TraitLogError, read_trait_log

    try:
        pos = read_trait_log(_exists(args.pos, "--pos"), "pos")
        neg = read_trait_log(_exists(args.neg, "--neg"), "neg")
        with atomic_path(args.out, args.overwrite) as tmp:
            _, counts = extract_vectors(
                pos, neg, tmp, model=args.model, pos_min=args.pos_threshold, neg_max=args.neg_threshold,
                coherence_min=args.coherence_threshold, batch_size=args.batch_size, dtype=args.dtype,
                device=args.device, use_scores=not args.no_filter,
            )
    except (TraitLogError, SteeringConfigError) as ex:
        raise CommandError(str(ex)) from None
    print(f"wrote {args.out}  (trait {pos.trait}; pairs kept after each filter: {counts})")
    return 0


def _project(args: argparse.Namespace) -> int:
    import json

    from persona_evals.commands import CommandError
    from persona_evals.steering.loading import load_shared
    from persona_evals.steering.project import finetuning_shift, log_pairs, project_rows, write_csv
    from persona_evals.steering.spec import SteeringConfigError
    from persona_evals.steering.vectors import load_vector

    log, rows = log_pairs(_exists(args.log, None))
    model = args.model
    if model is None:
        provider, _, name = log.eval.model.partition("/")
        if provider not in ("steer", "hf"):
            raise CommandError(f"{args.log} was generated by {log.eval.model}; pass --model with the weights to read it with")
        model = name
    path, _, key = args.vector.partition("#")
    try:  # everything is loaded and computed before --out is written
        vector = load_vector(path, key or None, arg="--vector")
        shared = load_shared(model)
        base = load_shared(args.base_model) if args.base_model else None
        out_rows = project_rows(shared, rows, vector, args.layer, args.batch_size)
        shift = base and finetuning_shift(shared, base, [r[2] for r in rows], vector, args.layer, args.batch_size)
    except SteeringConfigError as ex:
        raise CommandError(str(ex)) from None
    out = write_csv(out_rows, args.out, overwrite=args.overwrite)
    print(f"wrote {out}  ({len(out_rows)} samples, layers {args.layer})")
    if shift:
        print("finetuning shift (" + model + " vs " + args.base_model + "):")
        print(json.dumps(shift, indent=2))
    return 0


def _exists(path: str, arg: str | None) -> str:
    """A readable log file, or the newest log in a directory (else a `LogError` naming `arg`)."""
    from pathlib import Path

    from persona_evals.logs import check_log, newest_log

    return check_log(newest_log(path, arg=arg) if Path(path).is_dir() else path, arg=arg)
