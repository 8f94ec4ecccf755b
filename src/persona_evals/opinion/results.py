"""Simulation logs read into answer distributions, reports against ground truth, and the plots' rows.

A run's model is its `ModelIdentity` label (base model plus steering), so a steered and an
unsteered run of one model are reported as two models. `tier_means` (of `tier_rows`), `state_rows`
and `topic_frame` turn reports into what ``viz opinion-tiers|opinion-states|opinion-topics`` draw.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from persona_evals.identity import log_identity, unique_labels
from persona_evals.logs import LogError, read_task_log
from persona_evals.opinion.alignment import (
    AlignmentError,
    Tally,
    election_alignment,
    question_alignment,
    weighted_mean,
)
from persona_evals.personas.census_data import load_marginals

TASK = "opinion_simulation"


@dataclass
class SimulationRun:
    """One opinion-simulation log: its settings and per (question, state) answer tallies."""

    path: str
    model: str
    tier: str
    mode: str
    context: str
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)

    def shares(self, question_id: str, state: str) -> dict[str, float]:
        return self.tallies[question_id][state].shares(list(self.questions[question_id]["options"]))

    def national_shares(self, question_id: str) -> dict[str, float]:
        """Adult-population-weighted mix of the state distributions (states with valid answers)."""
        adults = adult_population()
        keys = list(self.questions[question_id]["options"])
        per_state = {s: t.shares(keys) for s, t in self.tallies[question_id].items() if t.n_valid}
        if not per_state:
            return {k: float("nan") for k in keys}
        return {k: weighted_mean({s: p[k] for s, p in per_state.items()}, adults) for k in keys}


def adult_population() -> dict[str, float]:
    return {s: float(m["adults"]) for s, m in load_marginals()["states"].items()}


def _run(log: Any) -> SimulationRun:
    path = log.location
    meta = log.eval.metadata or {}
    run = SimulationRun(
        path=str(path),
        model=log_identity(log).label,
        tier=str(meta.get("tier", log.eval.task_args.get("tier", "meta"))),
        mode=str(meta.get("mode", log.eval.task_args.get("mode", "fast"))),
        context=str(meta.get("context", log.eval.task_args.get("context", "?"))),
    )
    for s in log.samples or []:
        md = s.metadata or {}
        if "question_id" not in md or "order" not in md:
            raise ValueError(f"{path}: sample {s.id} is not an opinion-simulation sample")
        qid = md["question_id"]
        run.questions.setdefault(qid, {k: md[k] for k in ("kind", "year", "scale", "category", "options")})
        tally = run.tallies.setdefault(qid, {}).setdefault(md["state"], Tally())
        scores = s.scores or {}
        score = scores.get("opinion_choice") or next(iter(scores.values()), None)
        if score is not None and score.answer:
            tally.counts[score.answer] += 1
        else:
            tally.invalid += 1
    return run


def load_truth(path: str | Path) -> dict[str, dict[str, dict[str, float]]]:
    """A survey ground-truth file: ``{question_id: {"US" or state: {option key: share}}}``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--truth: file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as ex:
        raise ValueError(f"--truth: {path} is not valid JSON ({ex})") from None
    ok = isinstance(data, dict) and all(
        isinstance(v, dict)
        and all(
            isinstance(d, dict) and all(isinstance(x, (int, float)) for x in d.values()) for d in v.values()
        )
        for v in data.values()
    )
    if not ok or not data:
        raise ValueError(
            f'--truth: {path} must look like {{"question_id": {{"US": {{"A": 0.4, "B": 0.6}}}}}}'
            + (" (it holds no question)" if ok else "")
        )
    return data


def reports(paths: list[str], truth_path: str | None = None) -> list[dict[str, Any]]:
    """`run_report` of each log (read once, one at a time), against the survey truth file when one is given."""
    truth = load_truth(truth_path) if truth_path else None
    out, idents = [], []
    for path in paths:
        log = read_task_log(path, TASK, finished=True)
        idents.append(log_identity(log))
        out.append(run_report(_run(log), truth))
    labels = unique_labels(idents)
    for report, ident in zip(out, idents, strict=True):
        report["model"] = labels[ident.key]  # unique among these logs
    asked = {qid for rep in out for qid in rep["questions"]}
    if truth and not asked & set(truth):  # else no alignment at all, silently
        raise ValueError(
            f"--truth: none of its questions ({', '.join(sorted(truth)[:5])}) is in the logs, which ask "
            f"{', '.join(sorted(asked)[:5]) or 'nothing'}"
        )
    return out


def run_report(
    run: SimulationRun, truth: dict[str, dict[str, dict[str, float]]] | None = None
) -> dict[str, Any]:
    """Distributions per question and state, election alignment, and survey alignment if truth is given."""
    report: dict[str, Any] = {
        "log": run.path,
        "model": run.model,
        "tier": run.tier,
        "mode": run.mode,
        "context": run.context,
        "questions": {},
    }
    adults = adult_population()
    for qid, q in run.questions.items():
        tallies = run.tallies[qid]
        entry: dict[str, Any] = {
            "options": {k: o["stance"] for k, o in q["options"].items()},
            "distributions": {
                s: {"shares": run.shares(qid, s), "n_valid": t.n_valid, "n_invalid": t.invalid}
                for s, t in sorted(tallies.items())
            },
            "national_shares": run.national_shares(qid),
        }
        if q["kind"] == "election":
            parties = {k: o.get("party") for k, o in q["options"].items()}
            entry["election"] = election_alignment(tallies, parties, int(q["year"]), adults)
        if truth and qid in truth:
            scores, errors = {}, {}
            for scope, real in truth[qid].items():
                sim = (
                    entry["national_shares"]
                    if scope == "US"
                    else (run.shares(qid, scope) if scope in tallies and tallies[scope].n_valid else None)
                )
                if sim is None:
                    continue
                try:
                    scores[scope] = question_alignment(q["options"], q["scale"], sim, real)
                except AlignmentError as ex:  # one undefined scope must not abort the report
                    errors[scope] = f"question {qid}, {'national' if scope == 'US' else 'state ' + scope}: {ex}"
            entry["alignment"] = scores
            if errors:
                entry["alignment_errors"] = errors
        report["questions"][qid] = entry
    return report


def tier_rows(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (log, question) with election error/bias and survey alignment where present.

    Raises:
        LogError: no election item, nor survey item with a truth: nothing to plot.
    """
    rows = []
    for rep in reports:
        for qid, entry in rep["questions"].items():
            row: dict[str, Any] = {"model": rep["model"], "tier": rep["tier"], "question": qid}
            if "election" in entry and entry["election"]["summary"]["n_states"]:
                s = entry["election"]["summary"]
                row |= {
                    "series": f"{rep['model']} {s['year']}",
                    "abs_error": s["mean_abs_error"],
                    "bias": s["signed_bias"],
                }
            if entry.get("alignment"):
                vals = list(entry["alignment"].values())
                row |= {"alignment": sum(vals) / len(vals), "series": row.get("series", rep["model"])}
            if "series" in row:
                rows.append(row)
    if not rows:
        raise LogError("no election item or survey item with --truth in these logs: nothing to plot")
    return rows


TIER_MEASURES = ("abs_error", "bias", "alignment")
STATE_COLUMNS = ["state", "sim_margin", "real_margin", "margin_diff", "sim_winner", "real_winner", "n_two_party"]


def tier_means(rows: list[dict[str, Any]]) -> Any:
    """What ``opinion-tiers`` draws: per series (model and year) and tier, the mean of each measure
    over its rows (`tier_rows`, NaN skipped) and how many rows there were, tiers in `TIERS` order."""
    import pandas as pd

    from persona_evals.opinion.records import TIERS

    df = pd.DataFrame(rows)
    measures = [m for m in TIER_MEASURES if m in df]
    means = df.groupby(["series", "tier"], sort=False)[measures].mean()
    frame = means.assign(n_rows=df.groupby(["series", "tier"], sort=False).size()).reset_index()
    frame["order"] = [TIERS.index(t) for t in frame["tier"]]
    return frame.sort_values(["series", "order"]).drop(columns="order").reset_index(drop=True)


def state_rows(reports: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report holding the one election item of `reports`, and that item's per-state margins
    with ``margin_diff`` (simulated minus real margin: the grid's colour).

    Raises:
        LogError: no election item with valid answers, or several (a grid shows one).
    """
    elections = [(rep, qid, e["election"]) for rep in reports for qid, e in rep["questions"].items()
                 if "election" in e and e["election"]["states"]]
    if not elections:
        raise LogError("no election item with valid answers in this log: nothing to plot")
    if len(elections) > 1:
        listed = ", ".join(f"{qid} ({rep['log']})" for rep, qid, _ in elections)
        raise LogError(f"several election items ({listed}); the state grid shows one: pass one log with one election item")
    rep, _, election = elections[0]
    return rep, [{**row, "margin_diff": row["sim_margin"] - row["real_margin"]} for row in election["states"]]


def topic_frame(reports: list[dict[str, Any]]) -> Any:
    """National answer shares: a row per (question, option, tier), the option named by its stance
    as the run showed it (the option key where the log has none); the share is the mean over the
    ``n_logs`` logs of that tier.

    Raises:
        LogError: no valid answer.
    """
    import pandas as pd

    rows = []
    for rep in reports:
        for qid, entry in rep["questions"].items():
            for key, share in entry["national_shares"].items():
                if not math.isnan(share):
                    rows.append(
                        {
                            "question": qid,
                            "option": entry["options"].get(key) or key,
                            "share": share,
                            "tier": rep["tier"],
                        }
                    )
    df = pd.DataFrame(rows)
    if df.empty:
        raise LogError("no valid answers in these logs: nothing to plot")
    return df.groupby(["question", "option", "tier"], sort=False)["share"].agg(share="mean", n_logs="size").reset_index()
