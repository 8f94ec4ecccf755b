"""Any task's metric (95% CI) vs the steering coefficient: the rows of ``viz steering-effect``.

One line per steering direction (vector and layer; a log steered with several vectors at once,
e.g. an interpolation cell ``A×w + B×(1−w)``, is one line over the first vector's coefficient),
one panel per ``--metric``. A model's steering comes from its `ModelIdentity`: an unsteered log
of the same model and task settings is the coefficient-0 point of every line that has no coef-0
cell of its own. Lines are also split by anything else that differs between the logs: the base
model (an adapter, an ablation), the task (with ``--allow-mixed``) and task args that differ.
Every row is a plotted point (the plot's CSV).
"""

from __future__ import annotations

import json
from typing import Any

from persona_evals.logs import LogError

COLUMNS = ["metric", "task", "line", "coef", "value", "ci_low", "ci_high", "n", "baseline", "model", "log"]


def effect_rows(logs: list[Any], metrics: list[str], allow_mixed: bool = False) -> list[dict[str, Any]]:
    """One row per (metric, log) with the log's coefficient and line; baselines join every line.

    Raises:
        LogError: a metric no log has (listing those available), several tasks without
            `allow_mixed`, or two logs for the same point of a line.
    """
    from persona_evals.compare.log_metrics import check_metrics, check_one_task, comparison_groups

    check_one_task(logs, allow_mixed)
    check_metrics(logs, metrics or [""])
    groups = comparison_groups(logs)
    rows: list[dict[str, Any]] = []
    for metric in metrics:
        points = [_point(metric, log, groups[log.path]) for log in logs if log.get(metric) is not None]
        rows += _with_baselines(points)
    _check_unique(rows)
    return rows


def _point(metric: str, log: Any, group: tuple[str, str, str]) -> dict[str, Any]:
    ident, value = log.identity, log.get(metric)
    terms = ident.terms
    positions = json.loads(dict(ident.other).get("positions", '"response"'))
    direction = " + ".join(f"{t.name}@L{t.layer}" for t in terms)
    if terms and positions != "response":
        direction += f" [{positions}]"
    return {
        "metric": metric, "task": log.task, "direction": direction, "args": group[2],
        "base": ident.base.label, "group": group,
        "coef": terms[0].coef if terms else 0.0, "value": value.value, "ci_low": value.ci_low,
        "ci_high": value.ci_high, "n": value.n, "baseline": not terms, "model": log.label, "log": log.path,
    }


def _with_baselines(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unsteered points become the coef-0 point of each line of their group; then name lines."""
    out = [p for p in points if not p["baseline"]]
    for point in (p for p in points if p["baseline"]):
        directions = sorted({p["direction"] for p in out if p["group"] == point["group"]}) or [""]
        for direction in directions:
            if not any(p["group"] == point["group"] and p["direction"] == direction and p["coef"] == 0 for p in out if not p["baseline"]):
                out.append({**point, "direction": direction})
    vary = [k for k in ("base", "task", "args") if len({p[k] for p in out}) > 1]
    for p in out:
        p["line"] = " · ".join(x for x in [*(p[k] for k in vary), p["direction"] or "unsteered"] if x)
    return out


def _check_unique(rows: list[dict[str, Any]]) -> None:
    seen: dict[tuple[str, str, float], str] = {}
    for r in rows:
        key = (r["metric"], r["line"], r["coef"])
        if key in seen and seen[key] != r["log"]:
            raise LogError(
                f"two logs for {r['line']} at coef {r['coef']:g} ({r['metric']}): {seen[key]} and {r['log']}; "
                "pass the logs you want explicitly"
            )
        seen[key] = r["log"]
