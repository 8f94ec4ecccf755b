"""`persona-evals traits`: list the shipped traits, or draft a new trait's artifacts with an LLM."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SPLIT_FILES = ("{name}_extract.json", "{name}_eval.json")


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.structured import MAX_RETRIES
    from persona_evals.commands.argtypes import int_between
    from persona_evals.commands.outputs import add_folder_argument, add_output_argument

    p = sub.add_parser("traits", help="trait artifacts: list the shipped ones, draft new ones")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    ls = actions.add_parser("list", help="shipped traits and their question counts")
    ls.set_defaults(func=run_list)

    d = actions.add_parser(
        "draft",
        help="draft NAME_extract.json and NAME_eval.json with an LLM (a logged inspect eval)",
    )
    d.add_argument("name", help="trait name: lower case letters, digits, underscores (e.g. 'stubborn')")
    d.add_argument("--description", required=True, help="what the trait means, in a sentence or two")
    d.add_argument("--model", required=True, help="the drafting model, e.g. openai/gpt-4o-mini")
    add_output_argument(d, "--out-dir", required=True, files=SPLIT_FILES,
                        help="folder for NAME_extract.json and NAME_eval.json")
    add_folder_argument(
        d,
        "--log-dir",
        default=os.environ.get("INSPECT_LOG_DIR", "logs"),
        help="where the drafting eval's log goes (default: $INSPECT_LOG_DIR or ./logs)",
    )
    d.add_argument("--max-retries", type=int_between(0, MAX_RETRIES), default=2,
                   help=f"re-asks after an invalid reply, 0 to {MAX_RETRIES} (default 2)")
    d.set_defaults(func=run_draft)


def run_list(args: argparse.Namespace) -> int:
    from persona_evals.traits.dataset import load_trait, trait_names

    for name in trait_names():
        extract, evaluate = load_trait(name, "extract"), load_trait(name, "eval")
        print(f"{name:16} {len(extract.instruction)} pairs, {len(extract.questions)} extract + "
              f"{len(evaluate.questions)} eval questions")
    return 0


def run_draft(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError, resolve_model
    from persona_evals.traits.dataset import write_artifact
    from persona_evals.traits.pipeline import draft_trait_artifacts

    if not NAME.match(args.name):
        raise CommandError(
            f"NAME {args.name!r} must be lower case letters, digits and underscores, starting with a letter"
        )
    if not args.description.strip():
        raise CommandError("--description must not be empty")
    paths = [Path(args.out_dir) / f.format(name=args.name) for f in SPLIT_FILES]  # checked by the CLI
    model = resolve_model(args.model)
    try:
        splits = draft_trait_artifacts(
            args.name, args.description, model, log_dir=args.log_dir, max_retries=args.max_retries
        )
    except RuntimeError as ex:
        raise CommandError(str(ex)) from ex
    for artifact, path in zip(splits, paths):
        write_artifact(artifact, path, args.overwrite)
        print(f"wrote {path}")
    return 0

