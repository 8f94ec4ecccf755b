"""Per-item hits read from persona_accuracy logs, checked for consistency before any statistic.

`collect_hits` returns one `Run` per (model, mitigation, task): persona id -> item id -> hit,
plus each persona's group and rank. A model is a `ModelIdentity` (base model plus steering), named
by its label, so a steered and an unsteered run of one base model are two models. It raises `LogMixError` (naming the logs and what differs)
when logs overlap, when a run's personas were not evaluated on the same items, or when models
were evaluated on different items of the same task, because pairing items silently would compare
different questions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.scorer import CORRECT

from persona_evals.identity import labels_by_log
from persona_evals.logs import LogError, read_task_log

TASK = "persona_accuracy"

SCORER = "persona_answer"


class LogMixError(LogError):
    """Logs that cannot be analysed together; the message says which and why."""


@dataclass
class Run:
    """The hits of one model, mitigation and task, by persona then item."""

    model: str  # the model's label: base model plus steering (`persona_evals.identity`)
    mitigation: str
    task: str
    hits: dict[str, dict[str, int]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # persona id -> log path

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model, self.mitigation, self.task)

    def items(self) -> list[str]:
        return sorted({item for per_item in self.hits.values() for item in per_item})


def collect_hits(paths: Iterable[str]) -> list[Run]:
    """Read every log and group its scored samples into runs (see the module docstring)."""
    runs: dict[tuple[str, str, str], Run] = {}
    normalize_by_task: dict[str, tuple[object, str]] = {}
    paths = list(paths)
    try:
        labels = labels_by_log(paths)
    except LogError as ex:
        raise LogMixError(str(ex)) from None
    for path in paths:
        try:
            log = read_task_log(path, TASK, finished=True)
        except LogError as ex:
            raise LogMixError(str(ex)) from None
        model = labels[path][1]
        args = log.eval.task_args or {}
        mitigation = str(args.get("mitigation", "none"))
        for sample in log.samples or []:
            meta = sample.metadata or {}
            score = (sample.scores or {}).get(SCORER)
            if score is None:
                raise LogMixError(
                    f"log {path}: sample {sample.id} has no {SCORER} score (status {log.status})"
                )
            if sample.epoch > 1:
                raise LogMixError(
                    f"log {path} has several epochs: the metrics need one answer per item and persona"
                )
            task = str(meta["task"])
            seen = normalize_by_task.setdefault(task, (args.get("math_normalize", False), path))
            if seen[0] != args.get("math_normalize", False):
                raise LogMixError(
                    f"logs {seen[1]} and {path} score {task} with different math_normalize"
                )
            run = runs.setdefault((model, mitigation, task), Run(model, mitigation, task))
            persona, item = str(meta["persona_id"]), str(meta["item_id"])
            if persona in run.sources and run.sources[persona] != path:
                raise LogMixError(
                    f"logs {run.sources[persona]} and {path} both hold persona {persona} for "
                    f"model {run.model}, task {task}, mitigation {mitigation}"
                )
            run.sources[persona] = path
            run.groups[persona] = str(meta["persona_group"])
            run.ranks[persona] = int(meta.get("persona_rank", 0))
            run.hits.setdefault(persona, {})[item] = int(score.value == CORRECT)
    result = list(runs.values())
    _check_items(result)
    return result


def _check_items(runs: list[Run]) -> None:
    by_task: dict[str, Run] = {}
    for run in runs:
        items = set(run.items())
        for persona, per_item in run.hits.items():
            if set(per_item) != items:
                missing = sorted(items - set(per_item))
                raise LogMixError(
                    f"model {run.model}, task {run.task}, mitigation {run.mitigation}: persona "
                    f"{persona} ({run.sources[persona]}) lacks {len(missing)} item(s) the other "
                    f"personas have, e.g. {missing[0]}"
                )
        first = by_task.setdefault(run.task, run)
        if set(first.items()) != items:
            raise LogMixError(
                f"task {run.task} was evaluated on different items: {len(first.items())} for model "
                f"{first.model} ({first.mitigation}) and {len(items)} for model {run.model} ({run.mitigation})"
            )



ACCURACY_COLUMNS = ["model", "mitigation", "task", "persona", "group", "rank", "accuracy", "n_items"]


def accuracy_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Every persona's accuracy in every run: one dict per (model, mitigation, task, persona),
    with the persona's group and rank and the number of items (`ACCURACY_COLUMNS`)."""
    return [
        dict(zip(ACCURACY_COLUMNS, [*run.key, persona, run.groups[persona], run.ranks[persona], sum(hits.values()) / len(hits), len(hits)]))
        for run in sorted(runs, key=lambda r: r.key)
        for persona, hits in sorted(run.hits.items())
    ]


def accuracy_frame(runs: list[Run]) -> Any:
    """`accuracy_rows` as a pandas frame (the regressions' input)."""
    import pandas as pd

    return pd.DataFrame(accuracy_rows(runs), columns=ACCURACY_COLUMNS)
