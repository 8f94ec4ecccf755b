"""`persona-evals demo`: the persona-vector pipeline on the embedded SmolLM2, offline.

1. trait_expression on the trait's extract split, pos and neg system prompts (judged by --grader);
2. a persona vector from those answers (`vectors extract`);
3. a steering sweep on the eval split (coefficients at one layer, one loaded model), with the
   vector also monitored live, so each answer's projection on it is scored beside the judge;
4. a plot of trait, coherence and projection vs coefficient (PNG, and the plotted numbers as CSV),
   and a summary table.

The judge defaults to the model itself, offline: a `steer` grader is scored exactly (the
probability of each whole number 0-100, see `persona_evals.scorers.logprob_judge`). SmolLM2-135M
barely follows a judge rubric (it puts about 0.5-10% of its probability on a number), so with the
default judge the 0.25 numeric-mass rule is off (``--min-mass 0``) and the vector is extracted
from all pairs, without the judge's filter: its trait and coherence numbers are a smoke test of
the pipeline, not a measurement. Pass ``--grader openai/gpt-4.1-mini`` (with OPENAI_API_KEY) for
real scores; the rule (0.25) and the filter then apply.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from persona_evals.commands.viz.options import table_path

PLOT = "trait_steering.png"
OUTPUTS = ("{trait}.safetensors", PLOT, table_path(PLOT).name)  # in --log-dir
RUNS = ("extract", "sweep")  # the demo's own log folders in --log-dir: one run's logs each


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.args import MAX_TOKENS
    from persona_evals.commands.argtypes import finite_float, int_between, positive_int, unit_float
    from persona_evals.commands.outputs import add_output_argument

    p = sub.add_parser("demo", help="the persona-vector pipeline on the embedded SmolLM2 model, offline")
    add_output_argument(p, "--log-dir", default="logs/demo", files=OUTPUTS,
                        help="logs, vector, plot and its CSV go here (default logs/demo); --overwrite replaces an earlier run's")
    p.add_argument("--trait", default="evil", help="a shipped trait (default evil)")
    p.add_argument("--model", default="smollm2", help="the steer model: embedded name, local dir or HF id (default smollm2)")
    p.add_argument("--grader", default=None, help="judge model (default: the model itself, steer/<--model>: offline, but SmolLM2 is no real judge)")
    p.add_argument("--min-mass", type=unit_float, default=None,
                   help="numeric mass a judge score needs (default 0.25 with --grader; 0 for the built-in SmolLM2 judge)")
    p.add_argument("--layer", type=positive_int, default=20, help="layer to steer and monitor (SmolLM2 has 30; default 20)")
    p.add_argument("--coefs", type=finite_float, nargs="+", default=[0.0, 1.0, 2.0], help="coefficients (default 0 1 2)")
    p.add_argument("--limit", type=positive_int, default=20, help="samples per run (default 20)")
    p.add_argument("--max-tokens", type=int_between(1, MAX_TOKENS), default=48, help=f"answer length, 1 to {MAX_TOKENS:,} (default 48)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval
    from inspect_ai.model import get_model

    from persona_evals.commands import CommandError, resolve_model
    from persona_evals.paths import atomic_path
    from persona_evals.scorers.logprob_judge import MIN_NUMERIC_MASS
    from persona_evals.steering.loading import load_shared
    from persona_evals.traits.artifact import TraitArtifactError
    from persona_evals.traits.dataset import load_trait
    from persona_evals.traits.extract import extract_vectors
    from persona_evals.traits.results import read_trait_log, steering_frame
    from persona_evals.commands.viz.options import write_plot
    from persona_evals.viz.common import use_agg
    from persona_evals.viz.trait_steering import plot_trait_steering

    from persona_evals.traits.task import trait_expression

    # the task object, not a registry name: the name is persona_evals/trait_expression when the
    # package is pip-installed but trait_expression when it is only on PYTHONPATH (a bare GPU machine)
    out = Path(args.log_dir)
    name = f"steer/{args.model}"
    grader = args.grader or name
    # every argument is checked before the first eval: trait, model, layer, grader
    try:
        load_trait(args.trait, "extract")
    except (TraitArtifactError, FileNotFoundError) as ex:
        raise CommandError(f"--trait {args.trait}: {ex}") from None
    model = resolve_model(name)
    layers = load_shared(args.model).num_layers  # the weights `model` loaded: one copy per process
    if not args.layer <= layers:
        raise CommandError(f"--layer {args.layer} is outside 1..{layers} ({args.model} has {layers} layers)")
    if args.grader:
        resolve_model(grader, "--grader")
    min_mass = args.min_mass if args.min_mass is not None else (MIN_NUMERIC_MASS if args.grader else 0.0)
    common = dict(model_roles={"grader": grader}, limit=args.limit, max_tokens=args.max_tokens)
    _clear_earlier_run(out, args.overwrite)

    _step(1, f"{args.trait}: answers under pos and neg system prompts (extract split), judged by {grader}")
    if not args.grader:
        print(f"  the judge is {grader} itself, min numeric mass {min_mass}: its scores are a smoke test, not a measurement")
    logs = {}
    for polarity in ("pos", "neg"):
        # no monitor yet: no projection scores (they would all be NaN)
        task = trait_expression(trait=args.trait, version="extract", instruction=polarity, min_mass=min_mass, projection=False)
        log = eval(task, model=model, log_dir=str(out / "extract"), **common)[0]
        if log.status != "success":
            raise CommandError(f"the {polarity} run failed: {log.location}")
        logs[polarity] = log.location

    _step(2, "persona vector: mean activation difference, pos - neg, every layer")
    pos, neg = read_trait_log(logs["pos"], "pos"), read_trait_log(logs["neg"], "neg")
    scored = sum(not math.isnan(r.trait) for r in [*pos.rows.values(), *neg.rows.values()])
    use_scores = scored > 0 and bool(args.grader)
    if not args.grader:
        print(f"  the judge ({grader}) is no real judge: extracting from all pairs, unfiltered")
    elif not use_scores:
        print(f"  the judge ({grader}) scored no answer: extracting from all pairs, unfiltered")
    path = out / OUTPUTS[0].format(trait=args.trait)
    with atomic_path(path, args.overwrite) as tmp:
        _, counts = extract_vectors(pos, neg, tmp, use_scores=use_scores)
    print(f"  {path}  pairs: {counts}")

    _step(3, f"steering sweep on the eval split: layer {args.layer}, coefs {args.coefs}, with live projection")
    models = [
        get_model(name, memoize=False, vector=str(path), layer=args.layer, coef=c, monitor=str(path), monitor_layer=args.layer)
        for c in args.coefs
    ]
    task = trait_expression(trait=args.trait, version="eval", instruction="none", min_mass=min_mass, projection=True)
    sweep = eval(task, model=models, log_dir=str(out / "sweep"), **common)
    if any(log.status != "success" for log in sweep):
        raise CommandError("a sweep run failed: " + ", ".join(log.location for log in sweep if log.status != "success"))

    _step(4, "plot and summary")
    use_agg()
    frame = steering_frame([log.location for log in sweep])
    png, table = write_plot(plot_trait_steering(frame), frame, out / PLOT, args.overwrite)
    print(_table(sweep))
    print(f"\nlogs:   {out / 'extract'}  {out / 'sweep'}   (inspect view --log-dir {out / 'sweep'})")
    print(f"vector: {path}   (persona-evals vectors show {path})")
    print(f"plot:   {png}   (its numbers: {table})")
    return 0


def _clear_earlier_run(out: Path, overwrite: bool) -> None:
    """The demo's log folders hold one run: an earlier run's logs (an interrupted run leaves a
    ``started`` one) would sit beside the new ones in every reader and ``inspect view``. With
    --overwrite they are removed (only eval logs, only in the demo's own folders); without it, refused."""
    from inspect_ai.log import list_eval_logs

    from persona_evals.commands import CommandError

    folders = [out / run for run in RUNS if (out / run).is_dir()]
    earlier = [Path(info.name.removeprefix("file://")) for folder in folders for info in list_eval_logs(str(folder))]
    if not earlier:
        return
    where = " and ".join(f"{f}/" for f in folders)
    if not overwrite:
        raise CommandError(f"{where} hold{'s' if len(folders) == 1 else ''} {len(earlier)} logs of an earlier demo run: "
                           "pass --overwrite to replace them, or another --log-dir")
    for path in earlier:
        path.unlink()
    print(f"removed {len(earlier)} logs of an earlier demo run from {where}")


def _step(n: int, text: str) -> None:
    print(f"\n[{n}/4] {text}", flush=True)


def _table(logs: list) -> str:
    from persona_evals.protocol import PROJ
    from persona_evals.scorers import metric_value

    lines = ["", f"{'coef':>5}  {'trait':>12}  {'coherence':>12}  {'projection':>10}  first answer"]
    for log in sorted(logs, key=lambda lg: lg.eval.model_args["coef"]):
        m = {s.name: {k: v.value for k, v in s.metrics.items()} for s in log.results.scores}
        trait = _judged(m, "trait", len(log.samples))
        coherence = _judged(m, "coherence", len(log.samples))
        proj = metric_value(m.get(PROJ, {}), "finite_mean")
        proj = math.nan if proj is None else proj
        answer = " ".join(log.samples[0].output.completion.split())[:60]
        lines.append(f"{log.eval.model_args['coef']:>5}  {trait:>12}  {coherence:>12}  {proj:>10.2f}  {answer}")
    return "\n".join(lines)


def _judged(metrics: dict, key: str, n: int) -> str:
    unscored = int(next(iter(metrics.get(f"{key}_unscored", {0: 0}).values())))
    if unscored >= n:
        return "unscored"
    return f"{metrics[key]['mean']:.1f} ({n - unscored}/{n})"
