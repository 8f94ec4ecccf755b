"""Simulation samples: one per (persona, question), option order shuffled per sample (seeded).

The shuffle removes any position confound (a candidate always shown as option A);
``metadata["order"]`` maps each displayed letter back to the question's original option key.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.dataset import Sample

from persona_evals.ids import keyed_rng
from persona_evals.opinion.prompts import question_text
from persona_evals.opinion.questions import Question
from persona_evals.opinion.records import PersonaRecord, require_tier


def option_order(question: Question, persona_id: str, seed: int) -> dict[str, str]:
    """Displayed letter -> original key, a seeded permutation per (persona, question)."""
    rng = keyed_rng(seed, key=f"{persona_id}|{question.question_id}")
    keys = question.letters
    perm = [keys[i] for i in rng.permutation(len(keys))]
    return {chr(ord("A") + i): key for i, key in enumerate(perm)}


def opinion_samples(
    records: list[PersonaRecord], questions: list[Question], tier: str, seed: int = 0
) -> list[Sample]:
    """Samples for every persona x question; raises when a persona lacks `tier`."""
    require_tier(records, tier)
    samples = []
    for record in records:
        persona_text = record.render(tier)
        for q in questions:
            order = option_order(q, record.id, seed)
            shown = {letter: q.candidates[key].stance for letter, key in order.items()}
            metadata: dict[str, Any] = {
                "persona_id": record.id,
                "state": record.state,
                "state_name": str(record.meta.get("state_name", record.state)),
                "tier": tier,
                "question_id": q.question_id,
                "kind": q.kind,
                "year": q.year,
                "category": q.category,
                "scale": q.scale,
                "order": order,
                "shown": shown,
                "options": {k: o.model_dump() for k, o in q.candidates.items()},
                "persona": persona_text,
            }
            samples.append(
                Sample(
                    id=f"{record.id}|{q.question_id}",
                    input=question_text(q.topic, q.question, shown),
                    metadata=metadata,
                )
            )
    return samples


def simulation_records(
    personas: str | None, tier: str, states: str | list[str], n_per_state: int, seed: int
) -> list[PersonaRecord]:
    """Records from a personas JSONL (filtered to `states`), or fresh meta personas when none is given."""
    from persona_evals.opinion.records import TIERS, read_personas
    from persona_evals.personas.census import sample_meta_personas, sampler_provenance
    from persona_evals.personas.states import STATE_NAMES, normalize_states

    if tier not in TIERS:
        raise ValueError(f"tier: expected one of {', '.join(TIERS)}, got {tier!r}")
    if personas is None:
        if tier != "meta":
            raise ValueError(
                f"tier={tier!r} needs a personas file (-T personas=...) written by `persona-evals personas generate`; "
                "only tier=meta can sample personas on the fly"
            )
        prov = sampler_provenance(seed)
        return [PersonaRecord.from_persona(p, prov) for p in sample_meta_personas(states, n_per_state, seed)]
    records = read_personas(personas)
    in_file = sorted({r.state for r in records})
    if states in ("all", ["all"]):
        return records
    wanted = normalize_states(states, list(STATE_NAMES))
    absent = [s for s in wanted if s not in in_file]
    if absent:
        raise ValueError(
            f"states: {personas} has no personas for {', '.join(absent)}; it has {', '.join(in_file)}"
        )
    return [r for r in records if r.state in wanted]
