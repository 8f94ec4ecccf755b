"""The metrics of any task's logs, by name, with a 95% CI, for the comparisons of steered runs.

Every metric of a log's results is available as ``scorer/metric`` (``trait/mean``,
``persona_answer/accuracy``; our metrics' ``persona_evals/`` registry prefix is dropped), and
by two short names when they are unambiguous within the log: the score's name alone for its
headline metric (its first, e.g. ``trait``, ``persona_answer``) and the metric's name alone
(``accuracy``). The 95% CI is mean ± 1.96·stderr from the log's own ``stderr`` metric (clipped
to [0, 1] for an accuracy), given for the metric that stderr describes (``accuracy`` or
``mean``); other metrics (grouped, counts) have none (NaN). Each log is read once, header-only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from persona_evals.identity import ModelIdentity, log_identity, unique_labels
from persona_evals.logs import LogError, check_all_finished, read_logs, task_name
from persona_evals.stats import Z95
from persona_evals.stats.intervals import normal_ci

_SPREAD = {"stderr", "std", "var"}
_MEANS = {"accuracy", "mean", "finite_mean"}


@dataclass(frozen=True)
class MetricValue:
    value: float
    stderr: float = math.nan  # of `value`, where the log has one
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int | None = None  # scored samples


@dataclass
class LogMetrics:
    """One finished log: where it is, its task and args, its model, and its metrics by name."""

    path: str
    task: str
    task_args: dict[str, Any]
    identity: ModelIdentity
    label: str  # the model's label, unique among the logs read together
    metadata: dict[str, Any] = field(default_factory=dict)  # the task's eval metadata
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # short name -> full name

    def get(self, name: str) -> MetricValue | None:
        return self.metrics.get(self.aliases.get(name, name))


def read_log_metrics(paths: Sequence[str]) -> list[LogMetrics]:
    """Every log's metrics (a folder: every log in it); unfinished logs are an error naming them."""
    logs = read_logs(paths)
    check_all_finished((log.location, log.status) for log in logs)
    idents = [log_identity(log) for log in logs]
    labels = unique_labels(idents)
    out = []
    for log, ident in zip(logs, idents, strict=True):
        if log.results is None:
            raise LogError(f"{log.location} has no results (scores)")
        item = LogMetrics(
            log.location, task_name(log.eval.task), dict(log.eval.task_args or {}), ident, labels[ident.key],
            dict(log.eval.metadata or {}),
        )
        _add_scores(item, log.results.scores)
        out.append(item)
    return out


def check_metrics(logs: Iterable[LogMetrics], names: Sequence[str]) -> None:
    """Raise, listing what the logs have, when a requested metric is in none of them."""
    logs = list(logs)
    for name in names:
        if not name or not any(log.get(name) is not None for log in logs):
            available = ", ".join(sorted({n for log in logs for n in [*log.metrics, *log.aliases]})) or "none"
            raise LogError(f"no log has metric {name!r}; available: {available}" if name else f"pass --metric NAME; available: {available}")


def check_one_task(logs: Iterable[LogMetrics], allow_mixed: bool) -> None:
    """Logs of several tasks belong in one plot only when asked for (``--allow-mixed``)."""
    tasks = sorted({log.task for log in logs})
    if len(tasks) > 1 and not allow_mixed:
        raise LogError(f"the logs are of several tasks ({', '.join(tasks)}); pass --allow-mixed to plot them together")


def varying_task_args(logs: Iterable[LogMetrics]) -> dict[str, str]:
    """path -> ``k=v`` of the task args that differ between logs of the same task ('' if none)."""
    logs = list(logs)
    out: dict[str, str] = {}
    for task in {log.task for log in logs}:
        mine = [log for log in logs if log.task == task]
        keys = sorted({k for log in mine for k in log.task_args})
        varying = [k for k in keys if len({_text(log.task_args.get(k)) for log in mine}) > 1]
        for log in mine:
            out[log.path] = " ".join(f"{k}={_text(log.task_args.get(k))}" for k in varying)
    return out


def comparison_groups(logs: Iterable[LogMetrics]) -> dict[str, tuple[str, str, str]]:
    """path -> what must match for two logs to differ only in their steering terms: the model
    without its vectors (adapter etc. kept), the task and the task args that vary."""
    logs = list(logs)
    args = varying_task_args(logs)
    return {log.path: (log.identity.base.key, log.task, args[log.path]) for log in logs}


def is_null_steering(log: LogMetrics) -> bool:
    """Unsteered, or steered with coefficients that are all 0 (a sweep's coef-0 cell)."""
    return all(t.coef == 0 for t in log.identity.terms)


def baseline_for(log: LogMetrics, logs: Sequence[LogMetrics], groups: dict[str, tuple[str, str, str]]) -> LogMetrics:
    """`find_baseline`, required.

    Raises:
        LogError: no such log, or several (naming them).
    """
    base = find_baseline(log, logs, groups)
    if base is None:
        raise LogError(f"{log.path} has no unsteered (or coef-0) log of the same model and task settings")
    return base


def find_baseline(
    log: LogMetrics, logs: Sequence[LogMetrics], groups: dict[str, tuple[str, str, str]]
) -> LogMetrics | None:
    """The unsteered log of `log`'s comparison group; failing that, its one coef-0 log; None if none.

    Raises:
        LogError: several candidates (naming them).
    """
    same = [x for x in logs if groups[x.path] == groups[log.path]]
    for candidates in ([x for x in same if not x.identity.terms], [x for x in same if x.identity.terms and is_null_steering(x)]):
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise LogError(f"several baseline logs for {log.path}: {', '.join(c.path for c in candidates)}; pass the one you mean")
    return None


def default_metrics(logs: Iterable[LogMetrics]) -> list[str]:
    """The headline metrics with a standard error (means, accuracies) that every log has."""
    logs = list(logs)
    names = [n for n in logs[0].aliases if "/" not in n] if logs else []
    return [n for n in names if all((v := log.get(n)) is not None and math.isfinite(v.stderr) for log in logs)]


def _add_scores(item: LogMetrics, scores: Iterable[Any]) -> None:
    counts: dict[str, int] = {}
    for score in scores:
        metrics = {m.removeprefix("persona_evals/"): v.value for m, v in score.metrics.items()}
        stderr = metrics.get("stderr")
        headline = next((m for m in metrics if m not in _SPREAD), None)
        for metric, value in metrics.items():
            if metric in _SPREAD and metric != headline:
                continue
            mean = _float(value)
            se = _float(stderr) if metric in _MEANS else math.nan
            if not math.isfinite(se):
                low, high = math.nan, math.nan
            elif metric == "accuracy":
                low, high = normal_ci(mean, se)
            else:
                low, high = mean - Z95 * se, mean + Z95 * se
            full = f"{score.name}/{metric}"
            item.metrics[full] = MetricValue(mean, se, low, high, score.scored_samples)
            counts[metric] = counts.get(metric, 0) + 1
            if metric == headline:
                item.aliases[score.name] = full
    for full in item.metrics:
        metric = full.split("/", 1)[1]
        if counts[metric] == 1:
            item.aliases.setdefault(metric, full)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
