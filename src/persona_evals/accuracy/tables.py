"""CSV and markdown output of the persona_accuracy metric rows (no pandas needed)."""

from __future__ import annotations

import math
from pathlib import Path

from persona_evals import paths
from persona_evals.accuracy.metrics import MetricRow
from persona_evals.accuracy.regression import COLUMNS as REGRESSION_COLUMNS
from persona_evals.accuracy.regression import RegressionRow
from persona_evals.accuracy.results import ACCURACY_COLUMNS, Run, accuracy_rows
from persona_evals.stats.significance import CORRECTION_NAMES

COLUMNS = list(MetricRow.__dataclass_fields__)


def write_csv(rows: list[MetricRow], path: str | Path, overwrite: bool = False) -> Path:
    """The metric rows (atomically; an existing file only with `overwrite`)."""
    return paths.write_csv((row.as_dict() for row in rows), path, COLUMNS, overwrite)


def write_accuracy_csv(runs: list[Run], path: str | Path, overwrite: bool = False) -> Path:
    """Accuracy of every persona in every run (one row each)."""
    rows = [{**row, "accuracy": f"{row['accuracy']:.4f}"} for row in accuracy_rows(runs)]
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


def write_regression_csv(rows: list[RegressionRow], path: str | Path, overwrite: bool = False) -> Path:
    """The regression table: one row per fitted term (atomically; an existing file only with `overwrite`)."""
    return paths.write_csv((row.as_dict() for row in rows), path, REGRESSION_COLUMNS, overwrite)


def regression_markdown(rows: list[RegressionRow], skipped: list[str] = ()) -> str:
    """One table per mitigation and family: term, coefficient, SE, 95% CI, p (and adjusted p),
    under a line with the formula, sizes and the marginal / conditional R²."""
    out: list[str] = []
    fits: dict[tuple[str, str], list[RegressionRow]] = {}
    for row in rows:
        fits.setdefault((row.mitigation, row.family), []).append(row)
    for (mitigation, family), members in fits.items():
        first = members[0]
        adjusted = first.correction != "none"
        out.append(f"### {family} (mitigation: {mitigation})\n")
        out.append(
            f"`{first.formula}`, random intercept per {first.groups}: {first.n_obs} observations in "
            f"{first.n_groups} groups; R² marginal {first.r2_marginal:.3f}, conditional {first.r2_conditional:.3f}"
            + (f"; {first.note}" if first.note else "")
            + "\n"
        )
        head = ["term", "coef", "SE", "95% CI", "p"] + [f"p ({CORRECTION_NAMES[first.correction]})"] * adjusted
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for r in members:
            cells = [r.term, f"{r.coef:+.4f}", f"{r.se:.4f}", f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]", _p(r.p_value)]
            out.append("| " + " | ".join(cells + [_p(r.p_adjusted)] * adjusted) + " |")
        out.append("")
    out += [f"skipped {line}" for line in skipped]
    return "\n".join(out)
