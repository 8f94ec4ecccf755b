"""`persona-evals vectors shift`: the finetuning shift of adapters and checkpoints along persona vectors."""

from __future__ import annotations

import argparse

from persona_evals.commands._files import existing_log, refuse_existing


def register_shift(actions: argparse._SubParsersAction) -> None:
    sh = actions.add_parser("shift", help="finetuning shift of adapters/checkpoints along vectors (CSV + plot)")
    sh.add_argument("--base", required=True, help="the base model the adapters were trained on")
    sh.add_argument("--adapters", nargs="+", required=True, help="adapter folders, e.g. OUT/checkpoint-* OUT")
    sh.add_argument("--vector", action="append", required=True, help="vector file (repeatable)")
    sh.add_argument("--layer", type=int, action="append", required=True, help="layer (repeatable)")
    sh.add_argument("--trait", help="the trait the adapters were finetuned on (labels the CSV; default prompts: its eval questions)")
    sh.add_argument("--prompts", help="a trait (eval questions), chat JSONL (prompts) or eval log (inputs); default --trait's")
    sh.add_argument("--logs", nargs="+", help="trait_expression logs of the adapters (-M adapter=...): adds their mean trait score")
    sh.add_argument("--out", required=True, help="CSV to write")
    sh.add_argument("--plot", help="PNG: shift per checkpoint (and vs trait score with --logs)")
    sh.add_argument("--batch-size", type=int, default=8)
    sh.add_argument("--overwrite", action="store_true", help="replace existing output files")
    sh.set_defaults(func=_shift)


def _shift(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.steering.adapters import read_adapter
    from persona_evals.steering.loading import load_shared
    from persona_evals.steering.project import write_csv
    from persona_evals.steering.spec import SteeringConfigError
    from persona_evals.steering.vectors import load_vector
    from persona_evals.training.shift import adapter_shifts

    refuse_existing([(args.out, "--out"), (args.plot, "--plot")], args.overwrite)
    try:
        vectors = [load_vector(*_split_key(v), arg="--vector") for v in args.vector]
        adapters = [read_adapter(a, arg="--adapters") for a in args.adapters]
        trait = args.trait or vectors[0].metadata.get("trait")
        prompts = _prompts(args.prompts or trait)
        shared = load_shared(args.base)
        rows = adapter_shifts(shared, adapters, prompts, vectors, args.layer, args.batch_size)
    except SteeringConfigError as ex:
        raise CommandError(str(ex)) from None
    scores = _trait_scores(args.logs) if args.logs else {}
    for row in rows:
        row["finetuned_trait"] = args.trait or ""
        if args.logs:
            row["trait_score"] = scores.get(row["adapter"], float("nan"))
    print(f"wrote {write_csv(rows, args.out, overwrite=args.overwrite)}  ({len(adapters)} adapters, {len(prompts)} prompts)")
    for row in rows:
        print(f"  step {row['step']}  {row['vector']}@{row['layer']}: shift {row['shift_proj']:+.4f}  "
              f"(norm {row['shift_norm']:.4f}, cos {row['shift_cos']:+.3f})  {row['adapter']}")
    if args.plot:
        import pandas as pd

        from persona_evals.viz.common import save_figure, use_agg
        from persona_evals.viz.finetuning import plot_shift

        use_agg()
        print(f"wrote {save_figure(plot_shift(pd.DataFrame(rows)), args.plot)}")
    return 0


def _split_key(item: str) -> tuple[str, str | None]:
    path, _, key = item.partition("#")
    return path, key or None


def _prompts(spec: str | None) -> list:
    """Prompt message lists from a trait (its eval questions), chat JSONL or an eval log."""
    from pathlib import Path

    from inspect_ai.model import ChatMessageUser

    from persona_evals.commands import CommandError
    from persona_evals.datasets.chats import ChatFileError, read_chats
    from persona_evals.steering.project import log_pairs
    from persona_evals.traits import TraitArtifactError, load_trait, trait_names
    from persona_evals.training.screen import chat_rows

    if not spec:
        raise CommandError("say which prompts to measure on: --prompts (or --trait, or a vector with trait metadata)")
    if spec.endswith(".jsonl"):
        try:
            return [r[2] for r in chat_rows(read_chats(spec, last_is_assistant=True))]
        except ChatFileError as ex:
            raise CommandError(str(ex)) from None
    if spec not in trait_names() and not spec.endswith(".json") and Path(spec).exists():
        return [r[2] for r in log_pairs(existing_log(spec, "--prompts"))[1]]
    try:
        return [[ChatMessageUser(content=q)] for q in load_trait(spec, "eval").questions]
    except (TraitArtifactError, FileNotFoundError, ValueError) as ex:
        raise CommandError(f"--prompts {spec}: {ex}") from None


def _trait_scores(logs: list[str]) -> dict[str, float]:
    """{adapter path: mean judged trait score} of trait_expression logs run with -M adapter=..."""
    import math
    from pathlib import Path

    from persona_evals.commands import CommandError
    from persona_evals.traits.logs import TraitLogError, read_trait_log
    from persona_evals.logs import LogError, resolve_logs

    out = {}
    try:
        paths = resolve_logs(logs, "", newest_only=False)
    except LogError as ex:
        raise CommandError(f"--logs: {ex}") from None
    for path in paths:
        try:
            log = read_trait_log(path)
        except TraitLogError as ex:
            raise CommandError(str(ex)) from None
        adapter = log.model_args.get("adapter")
        if adapter is None:
            continue
        values = [r.trait for r in log.rows.values() if not math.isnan(r.trait)]
        out[str(Path(adapter).expanduser().resolve())] = sum(values) / len(values) if values else float("nan")
    return out
