"""Expertise advantage, robustness and fidelity per (model, mitigation, task), from `Run` hits.

Definitions follow the paper (M(p) is persona p's accuracy, the baseline the empty persona's):

- ``advantage:static`` / ``advantage:level1..3``: M(expert) - M(empty), exact McNemar p.
- ``robustness:colors`` / ``robustness:names``: min over the group of M(p) - M(empty), with the
  McNemar p of that worst persona (chosen after looking, as in the paper: read it as optimistic).
  When several personas tie for the worst accuracy, the row lists them all (``a|b``) and takes
  the largest of their p-values: the drop counts as significant only if it is for every persona
  that reaches it, so the verdict never depends on how a tie is broken.
- ``fidelity:education`` / ``fidelity:domain`` / ``fidelity:specialization``: Kendall tau-b of
  the group accuracies against the expected order (education levels; out-of-domain < related <
  in-domain, per-item soft hits for multi-persona groups; level1 < level2 < level3), with a
  10,000-resample item bootstrap. As in the paper, the value is the mean of the bootstrap tau
  (Fid); the point tau-b is given beside it (``tau_point``); significant when the 95% percentile
  interval excludes 0. Group accuracies are compared as exact counts (a soft group's per-item
  count of members right, over its size), so equal accuracies tie. Replicates whose tau is
  undefined (every group equally accurate) are left out, as in the paper's code (its pandas mean
  skips their NaN): with two groups every other replicate's tau is +-1, so
  Fid = (P(in > out) - P(in < out)) / (1 - P(in = out)) = 2 P(in > out | no tie) - 1.

With a multiple-testing correction (``holm`` or ``bh``: Benjamini-Hochberg), every row gets the
adjusted p and its verdict, the family being all rows of one model and mitigation, and names the
correction in its ``correction`` column.

A mitigation run's baseline is its own empty persona (the base prompt: mitigations do not touch
it), else the ``none`` run of the same model and task.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from persona_evals.accuracy.results import LogMixError, Run
from persona_evals.stats import ALPHA, N_BOOTSTRAP
from persona_evals.stats.correlation import bootstrap_tau
from persona_evals.stats.significance import VERDICTS, adjust_pvalues, mcnemar_exact, verdict


@dataclass
class MetricRow:
    model: str
    mitigation: str
    task: str
    metric: str
    persona: str
    value: float
    p_value: float
    verdict: str
    baseline_accuracy: float
    n_items: int
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    tau_point: float = float("nan")  # fidelity: the point tau-b (value is the bootstrap mean)
    correction: str = "none"  # none | holm | bh: how p_adjusted was adjusted
    p_adjusted: float = float("nan")
    verdict_adjusted: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def verdict_counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each model, metric and verdict (`stats.VERDICTS`), how many tasks have it: the bars of
    ``viz accuracy-verdicts``, zeros included.

    Raises:
        ValueError: a row whose verdict is none of `stats.VERDICTS` (it would drop out of the bars).
    """
    from collections import Counter

    odd = sorted({str(r["verdict"]) for r in rows} - set(VERDICTS))
    if odd:
        raise ValueError(f"verdicts {', '.join(map(repr, odd))} are none of {', '.join(VERDICTS)}")
    counts = Counter((r["model"], r["metric"], r["verdict"]) for r in rows)
    return [
        {"model": model, "metric": metric, "verdict": v, "n_tasks": counts[model, metric, v]}
        for model in sorted({r["model"] for r in rows})
        for metric in sorted({r["metric"] for r in rows})
        for v in VERDICTS
    ]


def compute_metrics(
    runs: list[Run], correction: str = "none", n_boot: int = N_BOOTSTRAP
) -> list[MetricRow]:
    """All metric rows of all runs; p-values adjusted by `correction` (none | holm | bh) per model
    and mitigation."""
    adjust_pvalues([], correction)  # a bad name fails before any work
    by_key = {run.key: run for run in runs}
    rows: list[MetricRow] = []
    for run in sorted(runs, key=lambda r: r.key):
        base_run = run if "empty" in run.hits else by_key.get((run.model, "none", run.task))
        if base_run is None or "empty" not in base_run.hits:
            raise LogMixError(
                f"no empty-persona baseline for model {run.model}, task {run.task} "
                f"(mitigation {run.mitigation}): add a log run with personas including 'empty'"
            )
        rows += _run_metrics(run, base_run, n_boot)
    if correction != "none":
        _adjust(rows, correction)
    return rows


def _vector(run: Run, persona: str, items: list[str]) -> np.ndarray:
    per_item = run.hits[persona]
    return np.array([per_item[i] for i in items], dtype=float)


def _members(run: Run, group: str) -> list[str]:
    return sorted((p for p, g in run.groups.items() if g == group), key=lambda p: (run.ranks[p], p))


def _run_metrics(run: Run, base_run: Run, n_boot: int) -> list[MetricRow]:
    items = run.items()
    if set(base_run.items()) != set(items):
        raise LogMixError(
            f"model {run.model}, task {run.task}: the {run.mitigation} run and its baseline differ in items"
        )
    base = _vector(base_run, "empty", items)
    common = {
        "model": run.model,
        "mitigation": run.mitigation,
        "task": run.task,
        "baseline_accuracy": float(base.mean()),
        "n_items": len(items),
    }
    rows: list[MetricRow] = []

    def paired(metric: str, *personas: str) -> None:
        """One row for personas of equal accuracy: listed together, with the largest p."""
        hits = _vector(run, personas[0], items)
        value = float(hits.mean() - base.mean())
        p = max(mcnemar_exact(_vector(run, q, items), base)[0] for q in personas)
        rows.append(
            MetricRow(
                metric=metric,
                persona="|".join(personas),
                value=value,
                p_value=p,
                verdict=verdict(value, p < ALPHA),
                **common,
            )
        )

    for persona in _members(run, "in_domain"):
        paired("advantage:static", persona)
    for persona in _members(run, "dynamic"):
        paired(f"advantage:{persona.partition(':')[2]}", persona)
    for group in ("colors", "names"):
        members = _members(run, group)
        if members:
            correct = {p: int(_vector(run, p, items).sum()) for p in members}  # ties exact
            paired(f"robustness:{group}", *(p for p in members if correct[p] == min(correct.values())))

    def fidelity(metric: str, columns: list[np.ndarray], label: str, members: list[int] | None = None) -> None:
        result = bootstrap_tau(np.column_stack(columns), n_boot=n_boot, members=members)
        rows.append(
            MetricRow(
                metric=metric,
                persona=label,
                value=result.mean,
                p_value=result.p_value,
                verdict=verdict(result.mean, result.significant),
                ci_low=result.low,
                ci_high=result.high,
                tau_point=result.tau,
                **common,
            )
        )

    education = _members(run, "education")
    if len(education) >= 2:
        fidelity(
            "fidelity:education",
            [_vector(run, p, items) for p in education],
            f"{len(education)} levels",
        )
    domain = [g for g in ("out_of_domain", "related", "in_domain") if _members(run, g)]
    if "in_domain" in domain and "out_of_domain" in domain:
        groups = [_members(run, g) for g in domain]  # per item: how many of a group's members are right
        right = [np.sum([_vector(run, p, items) for p in group], axis=0) for group in groups]
        fidelity("fidelity:domain", right, " < ".join(domain), members=[len(group) for group in groups])
    levels = _members(run, "dynamic")
    if len(levels) >= 2:
        fidelity(
            "fidelity:specialization", [_vector(run, p, items) for p in levels], " < ".join(levels)
        )
    return rows


def _adjust(rows: list[MetricRow], correction: str) -> None:
    families: dict[tuple[str, str], list[MetricRow]] = {}
    for row in rows:
        families.setdefault((row.model, row.mitigation), []).append(row)
    for family in families.values():
        adjusted = adjust_pvalues([r.p_value for r in family], correction)
        for row, p in zip(family, adjusted, strict=True):
            row.correction = correction
            row.p_adjusted = float(p)
            row.verdict_adjusted = verdict(row.value, bool(p < ALPHA))
