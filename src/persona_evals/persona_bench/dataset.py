"""Samples of the four PERSONA Bench tasks, built from seeded question-persona pairs.

- main: one sample per pair and generate mode.
- leave-one-out: per pair, the full persona (``full``), the persona without every listed
  attribute (``none``) and one variant per listed attribute (``drop:<attribute>``). The target
  sees the variant; the critic always judges against the full persona.
- intersectionality: pairs drawn per intersection from the personas it matches; every sample
  records all the intersections its persona belongs to (overlaps count toward each).
- pass@k: the main samples of one mode; attempts come from epochs.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inspect_ai.dataset import Sample

from persona_evals.datasets.questions import DEFAULT_CONVERSATION_TYPES, Question
from persona_evals.paths import loads_json, read_json, user_path
from persona_evals.persona_bench.pairing import Pair, draw_pairs, pair_sample
from persona_evals.persona_bench.solver import PERSONA_MODES
from persona_evals.persona_bench.sources import load_personas, load_questions
from persona_evals.personas.attributes import valid_attribute_names
from persona_evals.personas.matching import Intersection, load_intersections, members
from persona_evals.personas.persona import Persona

FULL, NONE, DROP = "full", "none", "drop:"


def load_sources(
    personas: str, questions: str, conversation_types: Sequence[str] = DEFAULT_CONVERSATION_TYPES
) -> tuple[list[Question], list[Persona]]:
    return load_questions(questions, conversation_types), load_personas(personas)


def main_samples(pairs: Sequence[Pair], modes: Sequence[str]) -> list[Sample]:
    """One sample per pair and mode (pairs outer, so ``--limit`` keeps whole mode sets)."""
    return [pair_sample(pair, mode) for pair in pairs for mode in modes]


def persona_mode(mode: str) -> str:
    """One mode that shows the persona (leave-one-out and intersections need one)."""
    if mode not in PERSONA_MODES:
        raise ValueError(f"mode {mode!r} invalid here: give one of {', '.join(PERSONA_MODES)}")
    return mode


# -- leave-one-out ------------------------------------------------------------------------


def load_loo_attributes(config: str | Path | Mapping[str, Any], pool: Sequence[Persona]) -> list[str]:
    """The attributes of a leave-one-out config ``{"attributes": [...]}`` (a path or JSON text).

    Names must be PERSONA attributes or attributes the persona pool uses; an unknown name is an
    error listing the valid ones.
    """
    if isinstance(config, Mapping):
        raw = config
    else:
        text = str(config)
        if text.lstrip().startswith("{"):
            raw = loads_json(text, "config (inline JSON)")
        else:
            path = user_path(text)
            if not path.is_file():
                raise ValueError(f"config file {path} does not exist (expected JSON {{\"attributes\": [...]}})")
            raw = read_json(path, "config")
    if not isinstance(raw, Mapping) or set(raw) != {"attributes"}:
        raise ValueError(f'config must be a JSON object {{"attributes": [...]}}, got {raw!r}')
    names = raw["attributes"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"config 'attributes' must be a non-empty list of attribute names, got {names!r}")
    valid = valid_attribute_names(n for p in pool for n in p.names)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"config: unknown attribute(s) {unknown}; valid attributes: {', '.join(valid)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"config lists attribute(s) {repeated} more than once")
    return list(names)


def loo_variants(persona: Persona, attributes: Sequence[str]) -> list[tuple[str, Persona]]:
    """(variant, persona shown) for the full persona, all listed dropped, and each dropped.

    An attribute this persona lacks gives no ``drop:`` variant (it would repeat ``full``); the
    drop metric is therefore paired over the personas that have the attribute.
    """
    present = [a for a in attributes if a in persona]
    return [
        (FULL, persona),
        (NONE, persona.without(*present)),
        *((f"{DROP}{a}", persona.without(a)) for a in present),
    ]


def loo_samples(pairs: Sequence[Pair], attributes: Sequence[str], mode: str) -> list[Sample]:
    samples = []
    for pair in pairs:
        for variant, shown in loo_variants(pair.persona, attributes):
            samples.append(
                pair_sample(
                    pair,
                    mode,
                    shown=shown,
                    variant=variant.replace(":", "-").replace(" ", "_"),
                    metadata={
                        "variant": variant,
                        "dropped": [a for a in pair.persona.names if a not in shown],
                    },
                )
            )
    return samples


def loo_absent_counts(pairs: Sequence[Pair], attributes: Sequence[str]) -> dict[str, int]:
    """Per listed attribute, how many pairs' personas lack it (no variant is built for those)."""
    return {a: sum(a not in p.persona for p in pairs) for a in attributes}


# -- intersectionality --------------------------------------------------------------------


def load_intersection_config(config: str | Path | list[Any] | Mapping[str, Any], pool: Sequence[Persona]) -> list[Intersection]:
    return load_intersections(config, valid_attribute_names(n for p in pool for n in p.names))


def intersection_pairs(
    questions: Sequence[Question],
    personas: Sequence[Persona],
    intersections: Sequence[Intersection],
    pairs_per_intersection: int | None,
    seed: int,
) -> tuple[list[Pair], dict[str, list[str]]]:
    """Pairs drawn per intersection (seeded), merged; and the intersections of each persona.

    Each intersection gets ``pairs_per_intersection`` pairs (or all its combinations when there
    are fewer) from its own members, so a small slice is not swamped by a large one. A pair drawn
    for one slice also counts toward every other slice its persona matches.
    """
    found = members(intersections, personas)  # raises when a slice matches nobody
    belongs: dict[str, list[str]] = {}
    for name, people in found.items():
        for p in people:
            belongs.setdefault(str(p.id), []).append(name)
    merged: dict[str, Pair] = {}
    for i, (name, people) in enumerate(found.items()):
        total = len(questions) * len(people)
        n = total if pairs_per_intersection is None else min(pairs_per_intersection, total)
        for pair in draw_pairs(questions, people, n, seed=_slice_seed(seed, i, name)):
            merged.setdefault(pair.id, pair)
    ordered = [p.model_copy(update={"index": i, "seed": seed}) for i, p in enumerate(merged.values())]
    return ordered, belongs


def intersection_samples(pairs: Sequence[Pair], belongs: Mapping[str, list[str]], mode: str) -> list[Sample]:
    return [
        pair_sample(pair, mode, metadata={"intersections": list(belongs[str(pair.persona.id)])})
        for pair in pairs
    ]


def _slice_seed(seed: int, index: int, name: str) -> int:
    return random.Random(f"{seed}/{index}/{name}").getrandbits(32)
