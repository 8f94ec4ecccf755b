"""Cosine similarity between persona vectors against the relative change of one trait's score
when steering with another trait's vector.

Multi-persona dynamics (the derivative's "cosine similarity vs relative trait score"): steering
with trait A's vector moves A's own judged score by Δ_A and another trait B's by Δ_B (both
against an unsteered run of the same model and questions, or a coef-0 cell); the point for (A, B) is
(cos(v_A, v_B), Δ_B / Δ_A). The derivative measured it after finetuning on A; here the
intervention is steering with A's vector, and every trait is judged on the same answers, which
``trait_expression -T judge_traits=[...]`` does in one run. A pair whose Δ_A is 0 has no
relative change: it stays in the CSV (NaN) and is named, not plotted (the derivative divided
regardless). The cosine is taken at the steering layer (``--layer`` overrides). The rows of
``viz cosine-trait-change``.
"""

from __future__ import annotations

import math
import os
from typing import Any

from persona_evals.logs import LogError
from persona_evals.identity import normal_path
from persona_evals.steering_args import split_key

COLUMNS = ["steered", "trait", "cosine", "layer", "coef", "delta_steered", "delta_trait", "relative_change", "log"]


def change_rows(logs: list[Any], vectors: dict[str, str], layer: int | None = None) -> list[dict[str, Any]]:
    """A row per (steered run of trait A, other trait B): cosine and Δ_B / Δ_A.

    Raises:
        LogError: a run steered with a file not among `vectors`, a run with no unsteered
            counterpart, a trait the logs never judged, or no pair at all.
    """
    from persona_evals.compare.log_metrics import baseline_for, check_one_task, comparison_groups, is_null_steering

    check_one_task(logs, allow_mixed=False)
    groups = comparison_groups(logs)
    rows = []
    for run in (log for log in logs if not is_null_steering(log)):
        if len(run.identity.terms) > 1:
            raise LogError(f"{run.path} steers with several vectors ({run.label}); pass single-vector runs")
        term = run.identity.terms[0]
        steered = _trait_of(term.vector, term.key, vectors, run.path)
        base = baseline_for(run, logs, groups)
        at = term.layer if layer is None else layer
        delta_own = _delta(run, base, steered)
        for trait, path in vectors.items():
            if trait == steered:
                continue
            rows.append({
                "steered": steered, "trait": trait, "cosine": cosine(vectors[steered], path, at), "layer": at,
                "coef": term.coef, "delta_steered": delta_own, "delta_trait": (d := _delta(run, base, trait)),
                "relative_change": d / delta_own if delta_own else math.nan, "log": run.path,
            })
    if not rows:
        raise LogError(f"no steered run among the {len(logs)} log(s), or only one trait given with --vector")
    return rows


def cosine(a: str, b: str, layer: int) -> float:
    """Cosine similarity of two vector files' rows at `layer` (``file#tensor`` picks a tensor)."""
    from persona_evals.steering.vectors import cosine_matrix

    return float(cosine_matrix([a, b], layer)[1][0, 1])


def pearson_r(rows: list[dict[str, Any]]) -> float:
    """Pearson's r of the rows' (cosine, relative change); NaN for fewer than two rows."""
    from persona_evals.stats.correlation import pearson

    return pearson([r["cosine"] for r in rows], [r["relative_change"] for r in rows]) if len(rows) > 1 else math.nan


def _trait_of(vector: str, term_key: str | None, vectors: dict[str, str], log: str) -> str:
    for trait, item in vectors.items():
        path, key = split_key(item)
        given = normal_path(path)
        same = given == vector or (os.path.exists(given) and os.path.exists(vector) and os.path.samefile(given, vector))
        if same and key == term_key:
            return trait
    raise LogError(f"{log} was steered with {vector}, which is none of --vector {', '.join(vectors.values())}")


def _delta(run: Any, base: Any, trait: str) -> float:
    """The change of `trait`'s judged score: the task's own trait is ``trait``, others by name."""
    values = []
    for log in (run, base):
        name = "trait" if log.metadata.get("trait") == trait else trait
        value = log.get(name)
        if value is None:
            raise LogError(f"{log.path} has no judged score for trait {trait!r} (run with -T judge_traits=[...])")
        values.append(value.value)
    return values[0] - values[1]
