"""Tables behind the PERSONA Bench plots, read from eval logs with ``inspect_ai.analysis``.

Every table counts scored samples only (unscored critic verdicts are NaN and excluded, with the
number excluded kept in ``unscored``), so denominators are the same in every plot. A model is its `ModelIdentity` label (base model plus steering), so a steered
and an unsteered run of one model are two models in every table.

A log run with several epochs (``--epochs``) has one row per sample and epoch; `load_samples`
averages each sample's scored epochs into one score, so every paired statistic pairs one value
per question-persona pair. Accuracies
and their errors are then over pairs, not over pairs x epochs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from persona_evals.identity import log_identity, unique_labels
from persona_evals.logs import LogError, check_all_finished, is_task, read_logs
from persona_evals.persona_bench.dataset import DROP, NONE
from persona_evals.persona_bench.metrics import paired_drops
from persona_evals.persona_bench.solver import MODES
from persona_evals.scorers.metrics import scores_by_pair, slice_scores
from persona_evals.stats.intervals import bootstrap_mean_ci, mean_covariance, mean_se, normal_ci, ratio_se
from persona_evals.stats.significance import sign_test

SCORE = "score_debate_critic"


class ResultsError(LogError):
    """The logs cannot give the table asked for (a message says why)."""


class NoSamplesError(ResultsError):
    """The logs hold no samples of the task a table needs."""


def load_samples(paths: Sequence[str], task: str, answer_tokens: bool = False) -> Any:
    """One row per model and sample of `task` (a DataFrame with model, score and metadata).

    Scores of several epochs are averaged (`mean_over_epochs`); ``epochs`` counts them.

    ``answer_tokens`` adds the output tokens of the target's answer (reads whole samples: slower).
    """
    import pandas as pd
    from inspect_ai.analysis import EvalModel, EvalTask, SampleColumn, SampleSummary, samples_df

    columns = EvalModel + EvalTask + SampleSummary
    if answer_tokens:
        columns = columns + [SampleColumn("answer_tokens", path="output.usage.output_tokens", full=True)]
    # each header read once (a file that is not a log is named here); the samples of `task`'s logs only
    labels = _labels(_finished_logs(paths, task))
    df = samples_df(list(labels), columns=columns, quiet=True) if labels else None
    if df is None or df.empty or SCORE not in df:
        raise NoSamplesError(f"no {task} samples with critic scores in {len(paths)} log(s)")
    df = df.copy()
    df["model"] = [labels[str(x).removeprefix("file://")] for x in df["log"]]
    repeated = df[df.duplicated(["model", "id", "epoch"], keep=False)]
    if not repeated.empty:
        logs = sorted({str(x).removeprefix("file://") for x in repeated["log"]})
        raise ResultsError(
            f"{repeated['id'].nunique()} {task} sample(s) of the same model appear in more than one log "
            f"(a rerun?): {', '.join(logs)}; pass the logs to plot explicitly"
        )
    df["score"] = pd.to_numeric(df[SCORE], errors="coerce").astype(float)
    if "answer_tokens" in df:
        df["answer_tokens"] = pd.to_numeric(df["answer_tokens"], errors="coerce")
    return mean_over_epochs(df)


def mean_over_epochs(df: Any) -> Any:
    """One row per (model, sample id): ``score`` (and ``answer_tokens``) averaged over epochs.

    Unscored epochs (NaN) are left out of the mean; a sample with no scored epoch stays NaN.
    ``epochs`` is the number of epochs read for the sample.
    """
    keys = ["model", "id"]
    grouped = df.groupby(keys, sort=False)
    out = df.drop_duplicates(keys).set_index(keys)
    out["epochs"] = grouped.size()
    for column in ("score", "answer_tokens"):
        if column in df:
            out[column] = grouped[column].mean()
    return out.reset_index()


def mode_table(df: Any) -> list[dict[str, Any]]:
    """Accuracy per model and mode, with stderr, 95% CI and the percent gain over baseline.

    Gain is 100 (acc_m / acc_b - 1), in percent, and so is its error: 100 times the delta-method
    standard error of the ratio acc_m / acc_b (`persona_evals.stats.intervals.ratio_se`):
    sqrt(se_m^2 + R^2 se_b^2 - 2 R cov) / acc_b with R the ratio and cov the covariance of the two
    accuracies over the pairs scored in both modes (the modes share their pairs).
    ``p_vs_baseline`` is the exact sign test of the mode against baseline over the ``n_paired``
    pairs scored in both: McNemar's exact test when each pair has one 0/1 score, and the same
    test on epoch means otherwise. With an
    ``answer_tokens`` column, ``mean_answer_tokens`` is the mean length of the target's reply.
    """
    import pandas as pd

    rows = []
    for model, group in df.groupby("model", sort=True):
        mine = []
        for mode in (m for m in MODES if m in set(group["metadata_mode"])):
            scores = group[group["metadata_mode"] == mode]["score"]
            acc, se = mean_se([float(v) for v in scores if not math.isnan(v)])
            low, high = normal_ci(acc, se)  # clipped to the score range [0, 1]
            mine.append({"model": model, "mode": mode, "n": int(scores.notna().sum()),
                         "unscored": int(scores.isna().sum()), "accuracy": acc, "stderr": se,
                         "ci_low": low, "ci_high": high})
            if "answer_tokens" in group:  # the paper's length comparison per mode (whole reply)
                tokens = pd.to_numeric(group[group["metadata_mode"] == mode]["answer_tokens"], errors="coerce")
                mine[-1]["mean_answer_tokens"] = float(tokens.mean())
        base = next((r for r in mine if r["mode"] == "baseline"), None)
        by_pair = scores_by_pair(zip(group["metadata_mode"], group["metadata_pair_id"], group["score"], strict=True))
        for row in mine:
            paired = _paired_with_baseline(by_pair, row["mode"]) if base else ([], [])
            row["n_paired"] = len(paired[0])
            row["p_vs_baseline"] = sign_test(*paired)[0] if row["n_paired"] else math.nan
            usable = base is not None and row is not base and base["accuracy"] > 0
            if usable:
                cov = mean_covariance(*paired, row["n"], base["n"])
                ratio_error = ratio_se(row["accuracy"], row["stderr"], base["accuracy"], base["stderr"], cov)
            row["gain_pct"] = 100 * (row["accuracy"] / base["accuracy"] - 1) if usable else math.nan
            row["gain_pct_se"] = 100 * ratio_error if usable else math.nan
        rows.extend(mine)
    return rows


def _paired_with_baseline(by_pair: dict[str, dict[str, float]], mode: str) -> tuple[list[float], list[float]]:
    """(mode scores, baseline scores) over the pairs scored in both (empty for baseline itself)."""
    if mode == "baseline":
        return [], []
    base, mine = by_pair.get("baseline", {}), by_pair.get(mode, {})
    pairs = sorted(set(base) & set(mine))
    return [mine[p] for p in pairs], [base[p] for p in pairs]


def loo_table(df: Any, n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Per model and attribute: the paired drop acc(full) - acc(without) with a bootstrap 95% CI.

    Pairs are resampled (paired bootstrap), so the CI reflects question-persona variation. The
    ``none`` variant (every listed attribute removed) appears as attribute ``(all listed)``.
    """
    rows = []
    for model, group in df.groupby("model", sort=True):
        drops = paired_drops(zip(group["metadata_variant"], group["metadata_pair_id"], group["score"], strict=True))
        for variant, diffs in drops.items():
            if not diffs:
                continue
            low, high = bootstrap_mean_ci(diffs, n_boot, seed)
            name = "(all listed)" if variant == NONE else variant.removeprefix(DROP)
            rows.append({"model": model, "attribute": name, "n_pairs": len(diffs),
                         "drop": sum(diffs) / len(diffs), "ci_low": low, "ci_high": high})
    if not rows:
        raise NoSamplesError("no scored full/variant pairs in the leave_one_out logs")
    return rows


def intersection_table(df: Any) -> list[dict[str, Any]]:
    """Accuracy per model and intersection (a sample counts toward each slice it is in)."""
    rows = []
    for model, group in df.groupby("model", sort=True):
        names = (json.loads(n) if isinstance(n, str) else list(n) for n in group["metadata_intersections"])
        for name, scores in slice_scores(zip(names, group["score"], strict=True)).items():
            acc, se = mean_se(scores)
            rows.append({"model": model, "intersection": name, "n": len(scores), "accuracy": acc, "stderr": se})
    return rows


def pass_at_k_table(paths: Sequence[str]) -> list[dict[str, Any]]:
    """pass@k for k = 1..K per model, from the ``pass_at_<k>`` reducers of pass_at_k logs."""
    rows = []
    logs = _finished_logs(paths, "pass_at_k")
    labels = _labels(logs)
    for log in logs:
        path, model = log.location, labels[log.location]
        if log.results is None:
            continue
        for score in log.results.scores:
            reducer = score.reducer or ""
            if score.name == "debate_critic" and reducer.startswith("pass_at_"):
                rows.append({
                    "model": model,
                    "k": int(reducer.removeprefix("pass_at_")),
                    "pass_at_k": score.metrics["accuracy"].value,
                    "stderr": score.metrics["stderr"].value if "stderr" in score.metrics else math.nan,
                    "n": score.scored_samples,
                    "log": path,
                })
    if not rows:
        raise NoSamplesError(f"no pass_at_k results in {len(paths)} log(s)")
    return sorted(rows, key=lambda r: (r["model"], r["k"]))


def _finished_logs(paths: Sequence[str], task: str) -> list[Any]:
    """The headers of `task`'s logs among `paths` (each read once; other tasks' logs are left
    out), each completed (`logs.check_all_finished`, the rule of every reader): an interrupted
    run's log holds some samples and would be plotted as if whole."""
    logs = [log for log in read_logs(paths) if is_task(log.eval.task, task)]
    check_all_finished((log.location, log.status) for log in logs)
    return logs


def _labels(logs: Sequence[Any]) -> dict[str, str]:
    """log path -> its model's label, unique among `logs` (headers already read)."""
    idents = {log.location: log_identity(log) for log in logs}
    labels = unique_labels(idents.values())
    return {path: labels[ident.key] for path, ident in idents.items()}
