"""Is the effect of steering with A and B together the sum of their effects alone? (multi-persona
dynamics: linearity and interference)

For every log steered with several vectors at once (A@L×a + B@L×b) whose single-vector runs
(A@L×a, B@L×b) and an unsteered run of the same model and task settings (or a coef-0 cell) are
among the logs, and
for each metric (default: every judged score with a standard error, e.g. each trait of
``-T judge_traits=...``): effect(X) = metric(X) − metric(unsteered); predicted = Σ effect(single);
observed = effect(combined); interference = observed − predicted, with a 95% normal interval
from the logs' standard errors, treating the runs as independent samples (they answer the same
questions, so the interval is conservative when answers correlate). The rows of
``viz steering-linearity`` (its table and plot).
"""

from __future__ import annotations

import math
from typing import Any

from persona_evals.logs import LogError
from persona_evals.stats import Z95

COLUMNS = [
    "metric", "combined", "parts", "baseline", "predicted", "observed", "interference", "ci_low", "ci_high",
    "ratio", "logs",
]


def linearity_rows(logs: list[Any], metrics: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """A row per (metric, combined run): its parts' effects, their sum and its own effect; and the
    combined runs left out, each with what it lacks.

    Raises:
        LogError: no metric, a metric no log has, or no combined run with its parts and baseline.
    """
    from persona_evals.compare.log_metrics import check_metrics, check_one_task, comparison_groups

    if not metrics:
        raise LogError("the logs share no metric with a standard error; name one with --metric")
    check_one_task(logs, allow_mixed=False)
    check_metrics(logs, metrics)
    groups = comparison_groups(logs)
    sets, skipped = _complete_sets(logs, groups)
    rows = []
    for metric in metrics:
        for base, parts, combined in sets:
            values = [log.get(metric) for log in (base, *parts, combined)]
            if any(v is None or not math.isfinite(v.value) for v in values):
                continue
            b, *singles, both = values
            effects = [s.value - b.value for s in singles]
            predicted, observed = sum(effects), both.value - b.value
            se = math.sqrt(both.stderr**2 + sum(s.stderr**2 for s in singles) + (len(singles) - 1) ** 2 * b.stderr**2)
            gap = observed - predicted
            rows.append({
                "metric": metric, "combined": " + ".join(t.label for t in combined.identity.terms),
                "parts": "; ".join(f"{p.identity.terms[0].label}: {e:+.4g}" for p, e in zip(parts, effects, strict=True)),
                "part_effects": effects, "baseline": b.value, "predicted": predicted, "observed": observed,
                "interference": gap, "ci_low": gap - Z95 * se, "ci_high": gap + Z95 * se,
                "ratio": observed / predicted if predicted else math.nan,
                "logs": " ".join(log.path for log in (base, *parts, combined)),
            })
    if not rows:
        raise LogError(f"no scored {', '.join(metrics)} for the combined runs and their parts")
    return rows, skipped


def _complete_sets(logs: list[Any], groups: dict[str, Any]) -> tuple[list[tuple[Any, list[Any], Any]], list[str]]:
    """(baseline, single-term parts, combined) for each combined run whose parts are all present;
    and what each other combined run lacks."""
    from persona_evals.compare.log_metrics import find_baseline, is_null_steering

    sets, missing = [], []
    for combined in (log for log in logs if len(log.identity.terms) > 1 and not is_null_steering(log)):
        group, positions = groups[combined.path], dict(combined.identity.other).get("positions")
        parts = []
        for term in combined.identity.terms:
            found = [
                log for log in logs
                if groups[log.path] == group and log.identity.terms == (term,)
                and dict(log.identity.other).get("positions") == positions
            ]
            if len(found) > 1:
                raise LogError(f"several logs steered with {term.label} alone: {', '.join(f.path for f in found)}")
            parts.append(found[0] if found else None)
        lacking = [t.label for t, p in zip(combined.identity.terms, parts, strict=True) if p is None]
        base = find_baseline(combined, logs, groups)  # several candidates: an error naming them
        if base is None:
            lacking.append("an unsteered run")
        if lacking:
            missing.append(f"{combined.label} lacks " + ", ".join(lacking))
        else:
            sets.append((base, parts, combined))
    if not sets:
        found = "; ".join(missing) if missing else "no log steers with several vectors at once"
        raise LogError(f"nothing to compare: {found}")
    return sets, missing
