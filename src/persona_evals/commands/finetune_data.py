"""`persona-evals finetune-data`: chat JSONL to finetune on, per trait level (or from trait logs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.structured import MAX_RETRIES
    from persona_evals.commands.argtypes import int_between
    from persona_evals.commands.outputs import add_output_argument

    p = sub.add_parser(
        "finetune-data",
        help="finetuning chats for a trait: normal, trait level I and II (a logged eval), or from pos/neg logs",
    )
    p.add_argument("trait", help="a shipped trait (persona-evals traits list) or a trait artifact file")
    add_output_argument(p, "--out", required=True, files=_files,
                        help="folder for normal.jsonl, trait_1.jsonl, trait_2.jsonl (trait.jsonl with --from-logs)")
    p.add_argument("--model", help="the generator model, e.g. openai/gpt-4.1-mini")
    p.add_argument("--questions", help="questions file: one per line, or a JSON list (default: the trait's questions)")
    p.add_argument("--split", choices=["extract", "eval", "both"], default="extract",
                   help="which of the trait's questions (default extract: the eval split stays unseen)")
    p.add_argument("--description", help="how the trait shows (default: the trait's first pos instruction)")
    p.add_argument("--from-logs", nargs=2, metavar=("POS", "NEG"),
                   help="offline: trait_expression logs (or dirs: newest log); pos answers -> trait.jsonl, neg -> normal.jsonl")
    p.add_argument("--log-dir", default=os.environ.get("INSPECT_LOG_DIR", "logs"), help="where the generation eval is logged")
    p.add_argument("--max-retries", type=int_between(0, MAX_RETRIES), default=2,
                   help=f"re-asks after an invalid reply, 0 to {MAX_RETRIES} (default 2)")
    p.set_defaults(func=run)


def _files(args: argparse.Namespace) -> list[str]:
    """The files written into --out (checked before the generator runs)."""
    from persona_evals.traits.finetune_data import LEVELS

    return ["trait.jsonl", "normal.jsonl"] if args.from_logs else [f"{level}.jsonl" for level in LEVELS]


def run(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.datasets.chats import write_chats
    from persona_evals.traits.artifact import TraitArtifactError
    from persona_evals.traits.dataset import load_trait, trait_name_of

    try:
        trait = trait_name_of(args.trait)
        extract = load_trait(args.trait, "extract")
    except (TraitArtifactError, FileNotFoundError, ValueError) as ex:
        raise CommandError(f"TRAIT {args.trait}: {ex}") from None
    if args.from_logs:
        sets, notes = _from_logs(args, trait)
    else:
        if not args.model:
            raise CommandError("--model is required (or build the sets offline with --from-logs POS NEG)")
        sets, notes = _generate(args, trait, extract)
    paths = {level: Path(args.out) / f"{level}.jsonl" for level in sets}  # checked by the CLI before any work
    for level, rows in sets.items():
        n = write_chats(paths[level], rows, overwrite=args.overwrite)
        print(f"wrote {paths[level]}  ({n} chats)")
    for note in notes:
        print(note)
    return 0


def _from_logs(args: argparse.Namespace, trait: str) -> tuple[dict, list[str]]:
    from persona_evals.commands import CommandError
    from persona_evals.logs import existing_log
    from persona_evals.traits.finetune_data import sets_from_logs
    from persona_evals.traits.results import TraitLogError, read_trait_log

    try:
        pos = read_trait_log(existing_log(args.from_logs[0], "--from-logs POS"), "pos")
        neg = read_trait_log(existing_log(args.from_logs[1], "--from-logs NEG"), "neg")
    except TraitLogError as ex:
        raise CommandError(str(ex)) from None
    for log in (pos, neg):
        if log.trait != trait:
            raise CommandError(f"{log.path} is a log of trait {log.trait!r}, not {trait!r}")
    sets, empty = sets_from_logs(pos, neg)
    return sets, [f"dropped {empty} empty answer(s)"] if empty else []


def _generate(args: argparse.Namespace, trait: str, extract) -> tuple[dict, list[str]]:
    from persona_evals.commands import CommandError, resolve_model
    from persona_evals.traits.dataset import load_trait
    from persona_evals.traits.pipeline import generate_levels

    if args.questions:
        questions = _read_questions(args.questions)
    else:
        splits = ["extract", "eval"] if args.split == "both" else [args.split]
        questions = [q for s in splits for q in load_trait(args.trait, s).questions]
    description = args.description or extract.instruction[0].pos
    model = resolve_model(args.model)
    try:
        sets, failures = generate_levels(trait, description, questions, model, args.log_dir, args.max_retries)
    except RuntimeError as ex:
        raise CommandError(str(ex)) from None
    if failures and not any(sets.values()):
        raise CommandError(f"no question got valid answers; first failure: {failures[0]}")
    return sets, [f"no valid answers for {len(failures)} question(s):", *(f"  {f}" for f in failures)] if failures else []


def _read_questions(path: str) -> list[str]:
    from persona_evals.commands import CommandError
    from persona_evals.paths import loads_json

    p = Path(path)
    if not p.is_file():
        raise CommandError(f"--questions {path}: no such file")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".json":
        try:
            items = loads_json(text, f"--questions {path}")
        except ValueError as ex:  # names the file and the line
            raise CommandError(str(ex)) from None
        if not isinstance(items, list) or not all(isinstance(q, str) for q in items):
            raise CommandError(f"--questions {path}: expected a JSON list of strings")
    else:
        items = text.splitlines()
    questions = [q.strip() for q in items if q.strip()]
    if not questions:
        raise CommandError(f"--questions {path}: no question in the file")
    return questions

