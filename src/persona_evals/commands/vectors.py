"""`persona-evals vectors`: extract persona vectors from trait logs, project logs onto them, show
files, choose the steering layer and coefficient from a sweep, and measure how well a vector
separates pos from neg answers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, get_args

from persona_evals.logs import existing_log
from persona_evals.steering_args import split_key

if TYPE_CHECKING:
    from persona_evals.steering.loading import SharedModel
    from persona_evals.steering.vectors import LoadedVector


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.args import MAX_TOKENS
    from persona_evals.commands.argtypes import finite_float, int_between, positive_int
    from persona_evals.commands.outputs import add_output_argument
    from persona_evals.steering.spec import DType
    from persona_evals.commands.viz.options import add_plot_argument

    DTYPES = list(get_args(DType))

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
    ex.add_argument("--batch-size", type=positive_int, default=8, help="sequences per forward pass (default 8)")
    ex.add_argument("--dtype", default="auto", choices=DTYPES)
    ex.add_argument("--device", default="auto")
    ex.set_defaults(func=_extract)

    pr = actions.add_parser(
        "project", help="per-sample projections of a log or chat JSONL onto a vector (CSV); data screening; finetuning shift"
    )
    pr.add_argument("log", help="an eval log of any chat task (or a dir: its newest log), or chat JSONL (finetuning data)")
    pr.add_argument("--vector", required=True, help="vector file (file.safetensors or file.safetensors#prompt_last)")
    pr.add_argument("--layer", type=positive_int, action="append", required=True, help="layer (repeatable; the first one screens)")
    add_output_argument(pr, "--out", required=True, help="CSV to write; with --keep-below, the kept chats (.jsonl)")
    pr.add_argument("--model", help="weights to read with (default: the log's steer/hf model; required for chat JSONL)")
    pr.add_argument("--base-model", help="also report the finetuning shift of --model against this base model")
    pr.add_argument("--batch-size", type=positive_int, default=8, help="sequences per forward pass (default 8)")
    pr.add_argument("--dtype", choices=DTYPES, help="of the weights (default: an eval log's own -M dtype, else auto)")
    pr.add_argument("--allow-other-model", action="store_true",
                    help="use a --vector whose metadata names another model than the one reading (refused otherwise)")
    sc = pr.add_argument_group("screening chat JSONL (projection difference: training answer vs the model's own)")
    sc.add_argument("--no-base-answers", action="store_true", help="skip generating the model's own answers (no proj_diff)")
    sc.add_argument("--keep-below", type=finite_float, help="write the chats whose projection difference is below this to --out")
    sc.add_argument("--by", choices=["proj_diff", "proj"], default="proj_diff", help="what --keep-below compares (proj_diff)")
    add_output_argument(sc, "--csv", help="with --keep-below (only): also write the per-chat table here")
    sc.add_argument("--max-tokens", type=int_between(1, MAX_TOKENS), default=256,
                    help=f"length of the model's own answers, 1 to {MAX_TOKENS:,} (256)")
    sc.add_argument("--temperature", type=finite_float, default=0.0, help="of the model's own answers (0: greedy)")
    sc.add_argument("--log-dir", default="logs", help="where the eval generating the model's own answers is logged")
    pr.set_defaults(func=_project)

    sh = actions.add_parser("shift", help="finetuning shift of adapters/checkpoints along vectors (CSV + plot)")
    sh.add_argument("--base", required=True, help="the base model the adapters were trained on")
    sh.add_argument("--adapters", nargs="+", required=True, help="adapter folders, e.g. OUT/checkpoint-* OUT")
    sh.add_argument("--vector", action="append", required=True, help="vector file (repeatable)")
    sh.add_argument("--layer", type=positive_int, action="append", required=True, help="layer (repeatable)")
    sh.add_argument("--trait", help="the trait the adapters were finetuned on (labels the CSV; default prompts: its eval questions)")
    sh.add_argument("--prompts", help="a trait (eval questions), chat JSONL (prompts) or eval log (inputs); default --trait's")
    sh.add_argument("--logs", nargs="+", help="trait_expression logs of the adapters (-M adapter=...): adds their mean trait score")
    add_output_argument(sh, "--out", required=True, help="CSV to write")
    add_plot_argument(sh, "--plot", help="PNG: shift per checkpoint (and vs trait score with --logs)")
    sh.add_argument("--batch-size", type=positive_int, default=8, help="sequences per forward pass (default 8)")
    sh.add_argument("--dtype", choices=DTYPES, default="auto", help="of the weights (auto: bf16 on a CUDA GPU, else fp32)")
    sh.add_argument("--allow-other-model", action="store_true",
                    help="use a --vector whose metadata names another model than --base (refused otherwise)")
    sh.set_defaults(func=_shift)

    ch = actions.add_parser(
        "choose", help="per layer, the largest coefficient of a sweep whose mean coherence stays >= a threshold (CSV, plot)"
    )
    ch.add_argument("logs", nargs="*", help="trait_expression logs of a sweep, or folders (default: all in --log-dir)")
    ch.add_argument("--log-dir", default="logs/sweep", help="where to look when no logs are given (default logs/sweep)")
    ch.add_argument("--trait", help="keep only logs of this trait (needed when logs mix traits)")
    ch.add_argument("--instruction", choices=["pos", "neg", "none"], help="keep only this instruction")
    ch.add_argument("--min-coherence", type=_score_0_100, default=75.0,
                    help="a coefficient passes when its mean coherence is >= this (default 75; the paper's mitigation used 80)")
    ch.add_argument("--direction", choices=["up", "down"], default="up",
                    help="up: the largest passing coefficient (towards the trait); down: the smallest (away from it)")
    add_output_argument(ch, "--out", default="choice.csv", help="CSV of the choice per layer (default choice.csv)")
    add_plot_argument(ch, "--plot", help="also the steering plot with the chosen cells starred")
    ch.add_argument("--apply", action="store_true", help="print the -M arguments of the best layer's choice")
    ch.set_defaults(func=_choose)

    se = actions.add_parser(
        "separability", help="ROC AUC per layer of a vector's projection separating pos from neg answers (CSV, plot)"
    )
    se.add_argument("pos", help="trait_expression log (or dir: its newest log) run with -T instruction=pos")
    se.add_argument("neg", help="trait_expression log (or dir: its newest log) run with -T instruction=neg")
    se.add_argument("--vector", required=True, help="vector file (file.safetensors, or file.safetensors#prompt_last ...)")
    add_output_argument(se, "--out", default="separability.csv", help="CSV: AUC per layer (default separability.csv)")
    add_plot_argument(se, "--plot", help="also a PNG of AUC vs layer")
    se.add_argument("--model", help="local dir or HF id of the weights (default: the logs' steer/hf model)")
    se.add_argument("--batch-size", type=positive_int, default=8, help="sequences per forward pass (default 8)")
    se.add_argument("--dtype", default="auto", choices=DTYPES)
    se.add_argument("--allow-other-model", action="store_true",
                    help="use a --vector whose metadata names another model than the one reading (refused otherwise)")
    se.set_defaults(func=_separability)


def _score_0_100(text: str) -> float:
    from persona_evals.commands.argtypes import finite_float

    value = finite_float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a judge score between 0 and 100, got {text}")
    return value


def _safetensors(text: str) -> str:
    if not text.endswith(".safetensors"):
        raise argparse.ArgumentTypeError(f"expected a .safetensors file name, got {text!r}")
    return text


def _show(args: argparse.Namespace) -> int:
    from safetensors import safe_open

    from persona_evals.commands import CommandError
    from persona_evals.errors import SteeringConfigError
    from persona_evals.steering.vectors import load_vector

    path, key = split_key(args.path)
    try:
        first = load_vector(path, key, arg="path")
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
    from persona_evals.commands import CommandError, first_line
    from persona_evals.commands.progress import ProgressBar
    from persona_evals.errors import SteeringConfigError
    from persona_evals.paths import atomic_path
    from persona_evals.traits.extract import extract_vectors
    from persona_evals.traits.results import TraitLogError, read_trait_log

    try:
        pos = read_trait_log(existing_log(args.pos, "--pos"), "pos")
        neg = read_trait_log(existing_log(args.neg, "--neg"), "neg")
        with atomic_path(args.out, args.overwrite) as tmp, ProgressBar("activations", "sample") as bar:
            _, counts = extract_vectors(
                pos, neg, tmp, model=args.model, pos_min=args.pos_threshold, neg_max=args.neg_threshold,
                coherence_min=args.coherence_threshold, batch_size=args.batch_size, dtype=args.dtype,
                device=args.device, use_scores=not args.no_filter, progress=bar,
            )
    except (TraitLogError, SteeringConfigError) as ex:
        raise CommandError(str(ex)) from None
    except OSError as ex:  # weights not found (offline, a wrong id)
        where = f"--model {args.model}" if args.model else "the logs' model (pass --model with local weights)"
        raise CommandError(f"{where}: {first_line(ex)}") from None
    print(f"wrote {args.out}  (trait {pos.trait}; pairs kept after each filter: {counts})")
    return 0


def _project(args: argparse.Namespace) -> int:
    import json

    from persona_evals.commands import CommandError
    from persona_evals.errors import SteeringConfigError
    from persona_evals.paths import write_csv
    from persona_evals.steering.project import finetuning_shift, log_pairs, project_rows
    from persona_evals.steering.spec import DType
    from persona_evals.steering.vectors import load_vector

    if args.csv and args.keep_below is None:
        raise CommandError("--csv is the per-chat table of a --keep-below screening; without --keep-below, --out is that table")
    if args.log.endswith(".jsonl"):
        return _screen(args)
    if args.keep_below is not None:
        raise CommandError("--keep-below screens chat JSONL (finetuning data), not eval logs")
    log, rows = log_pairs(existing_log(args.log, None))
    model = args.model
    if model is None:
        provider, _, name = log.eval.model.partition("/")
        if provider not in ("steer", "hf"):
            raise CommandError(f"{args.log} was generated by {log.eval.model}; pass --model with the weights to read it with")
        model = name
    path, key = split_key(args.vector)
    try:  # everything is loaded and computed before --out is written
        vector = load_vector(path, key, arg="--vector")
        # the log's dtype: projections of the model as it generated (a GPU's auto would be bf16)
        logged = str(log.eval.model_args.get("dtype", "auto"))
        dtype = args.dtype or (logged if logged in get_args(DType) else "auto")
        shared = _load(model, "--model", dtype)
        base = _load(args.base_model, "--base-model", dtype) if args.base_model else None
        _check_vector(vector, args, (model, shared), (args.base_model, base))
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


def _check_vector(vector: LoadedVector, args: argparse.Namespace, *models: tuple[str | None, SharedModel | None]) -> None:
    """--vector and --layer against the models reading (a model, and --base-model if given): layers
    exist, the vector fits, is non-zero, and (without --allow-other-model) was extracted from one of
    them by its metadata."""
    from persona_evals.steering.project import check_projection
    from persona_evals.steering.vectors import check_model

    loaded = [(name, shared) for name, shared in models if shared is not None]
    for _, shared in loaded:
        check_projection(shared, vector, args.layer, arg="--vector", layer_arg="--layer")
    if not args.allow_other_model:
        check_model(vector, [(name, shared.path) for name, shared in loaded], "--vector", "--allow-other-model")


def _screen(args: argparse.Namespace) -> int:
    """`vectors project DATA.jsonl`: projections of training answers, and the projection difference."""
    import math

    from persona_evals.commands import CommandError
    from persona_evals.datasets.chats import ChatFileError, read_chats, write_chats
    from persona_evals.errors import SteeringConfigError
    from persona_evals.paths import write_csv
    from persona_evals.steering.vectors import load_vector
    from persona_evals.training.pipeline import base_answers
    from persona_evals.training.screen import column, keep_below, screen_rows

    if not args.model:
        raise CommandError("--model is required for chat JSONL (the weights to read the chats with)")
    screening = args.keep_below is not None
    if screening and not args.out.endswith(".jsonl"):
        raise CommandError(f"with --keep-below, --out is the screened chat file (.jsonl), got {args.out}")
    if screening and args.by == "proj_diff" and args.no_base_answers:
        raise CommandError("--by proj_diff needs the model's own answers; drop --no-base-answers or use --by proj")
    table = args.csv if screening else args.out  # both checked by the CLI before any work
    path, key = split_key(args.vector)
    try:
        chats = read_chats(args.log, last_is_assistant=True)
        vector = load_vector(path, key, arg="--vector")
        dtype = args.dtype or "auto"
        shared = _load(args.model, "--model", dtype)
        _check_vector(vector, args, (args.model, shared))  # before the model's own answers are generated
        base = None
        if not args.no_base_answers:
            base, location = base_answers(args.model, chats, args.max_tokens, args.temperature, args.log_dir, dtype)
            print(f"the model's own answers: {location}")
        rows = screen_rows(shared, chats, vector, args.layer, base, args.batch_size)
    except (ChatFileError, SteeringConfigError) as ex:
        raise CommandError(str(ex)) from None
    if table:
        print(f"wrote {write_csv(rows, table, overwrite=args.overwrite)}  ({len(rows)} chats, layers {args.layer})")
    layer = args.layer[0]
    for kind in ("proj", "proj_diff"):
        values = [r[column(vector, kind, layer)] for r in rows if column(vector, kind, layer) in r]
        finite = [v for v in values if not math.isnan(v)]
        if finite:
            print(f"mean {kind} at layer {layer}: {sum(finite) / len(finite):.4f}  ({len(finite)} chats)")
    if screening:
        by = column(vector, args.by, layer)
        kept = keep_below(chats, rows, by, args.keep_below)
        write_chats(args.out, [c.record for c in kept], overwrite=args.overwrite)
        print(f"kept {len(kept)} of {len(chats)} chats in {args.out}; dropped {len(chats) - len(kept)} "
              f"with {args.by} >= {args.keep_below} at layer {layer} (or no answer)")
    return 0


def _shift(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.errors import SteeringConfigError
    from persona_evals.steering.adapters import read_adapter
    from persona_evals.paths import write_csv
    from persona_evals.steering.vectors import check_model, load_vector
    from persona_evals.training.shift import adapter_shifts

    try:  # --out and --plot were checked by the CLI before any work
        vectors = [load_vector(*split_key(v), arg="--vector") for v in args.vector]
        adapters = [read_adapter(a, arg="--adapters") for a in args.adapters]
        trait = args.trait or vectors[0].metadata.get("trait")
        prompts = _prompts(args.prompts or trait)
        shared = _load(args.base, "--base", args.dtype)
        if not args.allow_other_model:
            for vector in vectors:
                check_model(vector, [(args.base, shared.path)], "--vector", "--allow-other-model")
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

        from persona_evals.commands.viz.options import write_plot
        from persona_evals.viz.common import use_agg
        from persona_evals.viz.finetuning import plot_shift

        use_agg()
        png, numbers = write_plot(plot_shift(pd.DataFrame(rows)), rows, args.plot, args.overwrite)
        print(f"wrote {png} and {numbers}")
    return 0


def _choose(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.logs import LogError, find_logs
    from persona_evals.paths import write_csv
    from persona_evals.traits.choice import choose_coefficients, model_args
    from persona_evals.traits.results import steering_frame

    try:  # each log read once, by steering_frame
        frame = steering_frame(find_logs(args.logs, args.log_dir, newest_only=False), args.trait, args.instruction)
        table = choose_coefficients(frame, args.min_coherence, args.direction)
    except LogError as ex:
        raise CommandError(str(ex)) from None
    out = write_csv(table.to_dict("records"), args.out, overwrite=args.overwrite)
    for row in table.to_dict("records"):
        what = (f"coef {row['coef']:g}: trait {row['trait_mean']:.1f}, coherence {row['coherence_mean']:.1f}"
                if row["coef"] == row["coef"] else "no coefficient")
        note = row["note"].removeprefix(f"no coefficient keeps coherence >= {args.min_coherence:g}").strip("; ")
        print(f"{row['vector']} layer {row['layer']}: {what} ({row['n_passing']} of {row['n_coefs']} coefficients "
              f"keep coherence >= {args.min_coherence:g})" + ("  <- best" if row["best"] else "")
              + (f"; {note}" if note else ""))
    print(f"wrote {out}")
    if args.plot:
        from persona_evals.commands.viz.options import write_plot
        from persona_evals.traits.choice import mark_choice
        from persona_evals.viz.common import use_agg
        from persona_evals.viz.trait_steering import plot_trait_steering

        use_agg()
        marked = mark_choice(frame, table)
        png, numbers = write_plot(plot_trait_steering(marked), marked, args.plot, args.overwrite)
        print(f"wrote {png} and {numbers}")
    if args.apply:
        best = table[table["best"]]
        if best.empty:
            raise CommandError(f"no layer has a non-zero coefficient keeping coherence >= {args.min_coherence:g}: nothing to apply")
        print(" ".join(model_args(best.iloc[0])))
    return 0


def _separability(args: argparse.Namespace) -> int:
    from pathlib import Path

    from persona_evals.commands import CommandError
    from persona_evals.errors import SteeringConfigError
    from persona_evals.paths import write_csv
    from persona_evals.steering.vectors import check_model, load_vector
    from persona_evals.traits.extract import model_for_logs
    from persona_evals.traits.results import TraitLogError, check_same_source, read_trait_log
    from persona_evals.traits.separability import SEPARABILITY_COLUMNS, separability

    try:  # everything is read and checked before the model loads
        pos = read_trait_log(existing_log(args.pos, "pos"), "pos")
        neg = read_trait_log(existing_log(args.neg, "neg"), "neg")
        check_same_source(pos, neg)
        vector = load_vector(*split_key(args.vector), arg="--vector")
        name = model_for_logs(pos, args.model)
        shared = _load(name, "--model", args.dtype)
        if not args.allow_other_model:
            check_model(vector, [(name, shared.path)], "--vector", "--allow-other-model")
        rows = separability(shared, pos, neg, vector, args.batch_size, check_source=False)
    except (TraitLogError, SteeringConfigError) as ex:
        raise CommandError(str(ex)) from None
    out = write_csv(rows, args.out, SEPARABILITY_COLUMNS, overwrite=args.overwrite)
    best = max(rows, key=lambda r: r["auc"])
    print(f"{pos.trait}: AUC of {Path(vector.path).stem} ({rows[0]['pooling']}) per layer, {rows[0]['n_pos']} pos vs "
          f"{rows[0]['n_neg']} neg answers; best layer {best['layer']}: {best['auc']:.3f}")
    print("  " + " ".join(f"{r['layer']}:{r['auc']:.3f}" for r in rows))
    print(f"wrote {out}")
    if args.plot:
        import pandas as pd

        from persona_evals.commands.viz.options import write_plot
        from persona_evals.viz.common import use_agg
        from persona_evals.viz.separability import plot_separability

        use_agg()
        title = f"{pos.trait}: {Path(vector.path).stem} separating pos from neg answers"
        fig = plot_separability(pd.DataFrame(rows), title)
        png, numbers = write_plot(fig, rows, args.plot, args.overwrite, SEPARABILITY_COLUMNS)
        print(f"wrote {png} and {numbers}")
    return 0


def _prompts(spec: str | None) -> list:
    """Prompt message lists from a trait (its eval questions), chat JSONL or an eval log."""
    from pathlib import Path

    from inspect_ai.model import ChatMessageUser

    from persona_evals.commands import CommandError
    from persona_evals.datasets.chats import ChatFileError, read_chats
    from persona_evals.steering.project import log_pairs
    from persona_evals.traits.artifact import TraitArtifactError
    from persona_evals.traits.dataset import load_trait, trait_names
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
    from persona_evals.traits.results import TraitLogError, read_trait_log
    from persona_evals.logs import LogError, find_logs

    out = {}
    try:
        paths = find_logs(logs, "", newest_only=False)
    except LogError as ex:
        raise CommandError(f"--logs: {ex}") from None
    for path in paths:
        try:
            log = read_trait_log(path)
        except TraitLogError as ex:
            raise CommandError(f"--logs: {ex}") from None
        adapter = log.model_args.get("adapter")
        if adapter is None:
            continue
        values = [r.trait for r in log.rows.values() if not math.isnan(r.trait)]
        out[str(Path(adapter).expanduser().resolve())] = sum(values) / len(values) if values else float("nan")
    return out


def _load(model: str, arg: str, dtype: str = "auto"):  # -> SharedModel
    """The shared weights of `model`; weights that cannot be found (offline, a wrong id) name `arg`."""
    from persona_evals.commands import CommandError, first_line
    from persona_evals.steering.loading import load_shared

    try:
        return load_shared(model, dtype)
    except OSError as ex:
        raise CommandError(f"{arg} {model}: {first_line(ex)}") from None
