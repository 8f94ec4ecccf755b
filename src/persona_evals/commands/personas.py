"""`persona-evals personas ...`: census personas for opinion simulation.

- ``sample``: meta personas per state from the ACS marginals (seeded) -> personas JSONL;
- ``generate``: LLM-written tiers (objective, subjective, descriptive), run as a logged inspect eval;
- ``calibrate``: LLM consistency check with bounded resampling; every persona kept with its verdict;
- ``refresh-census``: rebuild the marginals file from the Census API (or a local copy of the tables);
- ``values``: the attributes and values of a PERSONA Bench persona source, and how many personas
  each intersection of a config matches (check a config before paying for an eval).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from persona_evals.structured import MAX_RETRIES
    from persona_evals.commands.argtypes import int_at_least, int_between, nonnegative_int, positive_int
    from persona_evals.opinion.calibration import MAX_ROUNDS
    from persona_evals.commands.outputs import add_output_argument
    from persona_evals.personas.census import MAX_PER_STATE

    p = sub.add_parser(
        "personas", help="census-grounded personas: sample, generate, calibrate, refresh-census"
    )
    cmds = p.add_subparsers(dest="personas_command", required=True, metavar="ACTION")

    s = cmds.add_parser("sample", help="sample meta personas per state from ACS marginals")
    s.add_argument("--states", default="all", help="postal codes, comma-separated, or 'all' (default)")
    s.add_argument("--n", type=int_between(1, MAX_PER_STATE), default=100,
                   help=f"personas per state, 1 to {MAX_PER_STATE:,} (default 100)")
    s.add_argument("--seed", type=nonnegative_int, default=0, help="sampler seed (default 0); each state draws from its own stream, so adding a state changes no other")
    s.add_argument(
        "--marginals", help="marginals JSON from refresh-census (default: the shipped ACS 2023 file)"
    )
    add_output_argument(s, "--out", required=True, help="personas JSONL to write")
    s.set_defaults(func=run_sample)

    g = cmds.add_parser("generate", help="write objective/subjective/descriptive tiers with a model")
    g.add_argument("personas", help="personas JSONL (from `personas sample`)")
    g.add_argument("--tiers", default="objective,subjective,descriptive", help="comma-separated tiers")
    _model_arguments(g, "logs/personas")
    g.add_argument("--max-retries", type=int_between(0, MAX_RETRIES), default=2,
                   help=f"re-asks when a table fails validation, 0 to {MAX_RETRIES} (default 2)")
    g.set_defaults(func=run_generate)

    c = cmds.add_parser("calibrate", help="LLM consistency check with bounded resampling")
    c.add_argument("personas", help="personas JSONL")
    c.add_argument("--max-rounds", type=int_between(1, MAX_ROUNDS), default=5,
                   help=f"resampling rounds per persona, 1 to {MAX_ROUNDS} (default 5)")
    _model_arguments(c, "logs/calibration")
    c.set_defaults(func=run_calibrate)

    r = cmds.add_parser("refresh-census", help="rebuild ACS marginals from the Census API (needs network)")
    add_output_argument(r, "--out", required=True, help="marginals JSON to write (use with --marginals)")
    r.add_argument("--year", type=int_at_least(2005), default=2023, help="ACS 1-year vintage (default 2023)")
    r.add_argument("--states", default="all", help="postal codes or 'all'")
    r.add_argument("--from-dir", help="build from local tables in the acs2023 layout instead of the API")
    r.add_argument("--api-key", help="Census API key (default: $CENSUS_API_KEY; optional for small use)")
    r.set_defaults(func=run_refresh)

    v = cmds.add_parser("values", help="attributes and values of a PERSONA Bench persona source")
    v.add_argument(
        "--source",
        default="fixture",
        help="SynthLabsAI/Synthetic-Personas, HannahRoseKirk/prism-alignment, fixture (default) or fixture-prism",
    )
    v.add_argument("--attribute", action="append", default=[], help="only these attributes (repeatable)")
    v.add_argument("--top", type=positive_int, default=8, help="values shown per categorical attribute (default 8)")
    v.add_argument("--intersections", help="intersections config (JSON file or text): personas matched by each")
    v.set_defaults(func=run_values)


def _model_arguments(p: argparse.ArgumentParser, log_dir: str) -> None:
    from persona_evals.args import MAX_TOKENS
    from persona_evals.commands.argtypes import int_between, positive_int
    from persona_evals.commands.outputs import add_folder_argument, add_output_argument

    p.add_argument("--model", required=True, help="inspect model, e.g. openai/gpt-4o-mini or steer/smollm2")
    p.add_argument(
        "-M", dest="model_args", action="append", default=[], metavar="KEY=VALUE", help="model args"
    )
    add_output_argument(p, "--out", required=True, help="personas JSONL to write")
    add_folder_argument(p, "--log-dir", default=log_dir, help=f"where the eval log goes (default {log_dir})")
    p.add_argument("--limit", type=positive_int, help="only the first N personas")
    p.add_argument("--max-tokens", type=int_between(1, MAX_TOKENS),
                   help=f"cap reply length, 1 to {MAX_TOKENS:,} (e.g. for small local models)")


def _error(ex: Exception) -> Exception:
    from persona_evals.commands import CommandError

    return CommandError(str(ex))


def run_sample(args: argparse.Namespace) -> int:
    from persona_evals.opinion.records import PersonaRecord, write_personas
    from persona_evals.personas.census import CensusSampler, sampler_provenance
    from persona_evals.personas.census_data import load_marginals
    from persona_evals.personas.states import normalize_states

    try:
        sampler = CensusSampler(load_marginals(args.marginals) if args.marginals else None)
        codes = normalize_states(args.states, sampler.states)
        prov = sampler_provenance(args.seed) | ({"marginals": args.marginals} if args.marginals else {})
        records = [
            PersonaRecord.from_persona(p, prov) for c in codes for p in sampler.sample(c, args.n, args.seed)
        ]
    except (ValueError, OSError) as ex:
        raise _error(ex) from None
    path = write_personas(args.out, records, args.overwrite)
    print(f"{len(records)} personas ({len(codes)} states x {args.n}, seed {args.seed}) -> {path}")
    return 0


def _read(path: str, limit: int | None):
    from persona_evals.opinion.records import read_personas

    try:
        records = read_personas(path)
    except ValueError as ex:
        raise _error(ex) from None
    return records[:limit] if limit else records


def run_generate(args: argparse.Namespace) -> int:
    from persona_evals.opinion.pipeline import generate_personas
    from persona_evals.opinion.records import write_personas

    from persona_evals.commands import parse_pairs, resolve_model

    model_args = parse_pairs(args.model_args, "-M")  # a malformed option fails before any file is read
    records = _read(args.personas, args.limit)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    model = resolve_model(args.model, "--model", **model_args)
    try:
        out = generate_personas(records, tiers, model, args.log_dir, None, args.max_retries, args.max_tokens)
    except (ValueError, RuntimeError) as ex:  # RuntimeError: the eval did not succeed
        raise _error(ex) from None
    write_personas(args.out, out, args.overwrite)
    for tier in tiers:
        ok = sum(1 for r in out if r.has_tier(tier))
        print(f"{tier}: {ok}/{len(out)} written")
    print(f"-> {args.out}")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from persona_evals.opinion.pipeline import calibrate_personas
    from persona_evals.opinion.records import write_personas

    from persona_evals.commands import parse_pairs, resolve_model

    model_args = parse_pairs(args.model_args, "-M")
    records = _read(args.personas, args.limit)
    model = resolve_model(args.model, "--model", **model_args)
    try:
        out = calibrate_personas(records, model, args.log_dir, args.max_rounds, None, args.max_tokens)
    except (ValueError, RuntimeError) as ex:  # RuntimeError: the eval did not succeed
        raise _error(ex) from None
    write_personas(args.out, out, args.overwrite)
    accepted = sum(1 for r in out if r.calibration and r.calibration.accepted)
    changed = sum(1 for r in out if r.calibration and r.calibration.original_meta)
    print(
        f"accepted {accepted}/{len(out)}; resampled {changed}; never accepted {len(out) - accepted} (kept, flagged)"
    )
    for attr in ("marital_status", "education", "employment_status"):
        print(f"  {attr}: {_shift(records, out, attr):.3f} total-variation shift from calibration")
    print(f"-> {args.out}")
    return 0


def _shift(before, after, attr: str) -> float:
    a = Counter(r.meta.get(attr) for r in before)
    b = Counter(r.meta.get(attr) for r in after)
    return 0.5 * sum(abs(a[k] / len(before) - b[k] / len(after)) for k in set(a) | set(b))


def run_refresh(args: argparse.Namespace) -> int:
    import json

    from persona_evals.personas.census_data import build_marginals
    from persona_evals.personas.states import STATE_NAMES, normalize_states

    if args.from_dir and not Path(args.from_dir).is_dir():
        raise _error(ValueError(f"--from-dir {args.from_dir}: no such folder (expected the acs2023 layout)"))
    try:
        valid = [s for s in STATE_NAMES if s != "DC"]
        states = normalize_states(args.states, valid)
        if args.from_dir:
            marginals = build_marginals(args.from_dir, states)
        else:
            from persona_evals.personas.census_api import fetch_marginals

            marginals = fetch_marginals(args.year, states, api_key=args.api_key)
    except (ValueError, OSError) as ex:
        raise _error(ex) from None
    from persona_evals.paths import write_text_atomic

    out = write_text_atomic(args.out, json.dumps(marginals, separators=(",", ":")), args.overwrite)
    print(
        f"marginals for {len(marginals['states'])} states -> {out} (use: personas sample --marginals {out})"
    )
    return 0


def run_values(args: argparse.Namespace) -> int:
    from persona_evals.commands import CommandError
    from persona_evals.datasets.hub import GatedDatasetError, HubUnavailableError
    from persona_evals.persona_bench.dataset import load_intersection_config
    from persona_evals.persona_bench.sources import load_personas
    from persona_evals.personas.attributes import attribute_kind, numeric_interval
    from persona_evals.personas.matching import members

    try:
        pool = load_personas(args.source)
    except (ValueError, GatedDatasetError, HubUnavailableError) as ex:
        raise CommandError(f"--source: {ex}") from None
    names = list(dict.fromkeys(n for p in pool for n in p.names))
    unknown = [a for a in args.attribute if a not in names]
    if unknown:
        raise CommandError(f"--attribute {unknown} not in {args.source}; it has: {', '.join(names)}")
    found = None
    if args.intersections:  # checked before anything is printed
        try:
            found = members(load_intersection_config(args.intersections, pool), pool)
        except ValueError as ex:
            raise CommandError(f"--intersections: {ex}") from None
    print(f"{len(pool)} personas from {args.source}")
    for name in args.attribute or names:
        values = [p[name] for p in pool if name in p]
        missing = len(pool) - len(values)
        head = f"- {name} ({attribute_kind(name)}; {len(values)} with a value, {missing} without)"
        if attribute_kind(name) == "numeric":
            intervals = [i for i in map(numeric_interval, values) if i is not None]
            span = f"{min(i[0] for i in intervals):g} .. {max(i[1] for i in intervals):g}" if intervals else "no number"
            print(f"{head}: {span}; not numeric: {len(values) - len(intervals)}")
            continue
        # counted case-insensitively, as intersection clauses match; shown in the commonest spelling
        spellings = Counter(str(v).strip() for v in values)
        counts = Counter(v.casefold() for v in spellings.elements()).most_common()
        label = {k: max((v for v in spellings if v.casefold() == k), key=spellings.__getitem__) for k, _ in counts}
        shown = "; ".join(f"{label[v][:40]!r} {n}" for v, n in counts[: args.top])
        more = f"; ... {len(counts) - args.top} more" if len(counts) > args.top else ""
        print(f"{head}: {shown}{more}")
    if found is not None:
        print("intersections (a persona may be in several):")
        for name, people in found.items():
            print(f"- {name}: {len(people)} personas")
    return 0
