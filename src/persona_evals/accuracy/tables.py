"""CSV and markdown output of the persona_accuracy metric rows (no pandas needed)."""

from __future__ import annotations

import math
from pathlib import Path

from persona_evals import paths
from persona_evals.accuracy.metrics import MetricRow
from persona_evals.accuracy.results import Run
from persona_evals.stats import CORRECTION_NAMES

COLUMNS = list(MetricRow.__dataclass_fields__)
ACCURACY_COLUMNS = ["model", "mitigation", "task", "persona", "group", "accuracy", "n_items"]


def write_csv(rows: list[MetricRow], path: str | Path, overwrite: bool = False) -> Path:
    """The metric rows (atomically; an existing file only with `overwrite`)."""
    return paths.write_csv((row.as_dict() for row in rows), path, COLUMNS, overwrite)


def write_accuracy_csv(runs: list[Run], path: str | Path, overwrite: bool = False) -> Path:
    """Accuracy of every persona in every run (one row each)."""
    rows = [
        dict(zip(ACCURACY_COLUMNS, [*run.key, persona, run.groups[persona], f"{sum(hits.values()) / len(hits):.4f}", len(hits)]))
        for run in sorted(runs, key=lambda r: r.key)
        for persona, hits in sorted(run.hits.items())
    ]
    return paths.write_csv(rows, path, ACCURACY_COLUMNS, overwrite)


def markdown(rows: list[MetricRow], correction: str = "none") -> str:
    """One table per model and mitigation: task, metric, persona, value, p, 95% CI, verdict, and
    with a `correction` the adjusted p and verdict, the correction named in the first line.

    Fidelity rows show the bootstrap-mean tau (the paper's Fid) with the point tau after it.
    """
    adjusted = correction != "none"
    name = CORRECTION_NAMES[correction]
    family = ", per model and mitigation" if adjusted else " (p-values as computed)"
    out: list[str] = [f"Multiple-testing correction: {name}{family}.\n"]
    sections: dict[tuple[str, str], list[MetricRow]] = {}
    for row in rows:
        sections.setdefault((row.model, row.mitigation), []).append(row)
    for (model, mitigation), members in sections.items():
        out.append(f"### {model} (mitigation: {mitigation})\n")
        head = ["task", "metric", "persona", "value", "p", "95% CI", "verdict"] + (
            [f"p ({name})", f"verdict ({name})"] if adjusted else []
        )
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for r in members:
            ci = "" if math.isnan(r.ci_low) else f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]"
            value = f"{r.value:+.3f}" + ("" if math.isnan(r.tau_point) else f" (point {r.tau_point:+.3f})")
            cells = [r.task, r.metric, r.persona, value, _p(r.p_value), ci, r.verdict]
            if adjusted:
                cells += [_p(r.p_adjusted), r.verdict_adjusted]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def _p(p: float) -> str:
    return "" if math.isnan(p) else f"{p:.3g}"
