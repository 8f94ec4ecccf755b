"""Read trait_expression logs into rows the vector tools use (no torch here).

A row is one sample: its pairing key (question, instruction pair, repeat), its chat input, the
answer, and the judge's trait and coherence scores (NaN when unscored). pos and neg samples are
paired by key, never by row order (the anchor paired rows by file order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from persona_evals.identity import model_identity
from persona_evals.logs import LogError, read_task_log

TASK_NAME = "trait_expression"


class TraitLogError(LogError):
    """A log does not fit what the command expects; the message says which log and why."""


@dataclass(frozen=True)
class TraitRow:
    key: tuple[int, int | None, int]
    sample_id: str
    input: list[Any]  # inspect ChatMessages
    answer: str
    trait: float
    coherence: float


@dataclass(frozen=True)
class TraitLog:
    path: str
    trait: str
    polarity: str
    model: str
    model_args: dict[str, Any]
    grader: str | None
    version: str | None
    rows: dict[tuple[int, int | None, int], TraitRow]


def read_trait_log(path: str, polarity: str | None = None) -> TraitLog:
    """Read a trait_expression log; check its task (and polarity, when given)."""
    try:
        log = read_task_log(path, TASK_NAME, finished=True)
    except LogError as ex:
        raise TraitLogError(str(ex)) from None
    if not log.samples:
        raise TraitLogError(f"{path} holds no samples")
    args = log.eval.task_args or {}
    found = args.get("instruction", "none")
    if polarity is not None and found != polarity:
        raise TraitLogError(f"{path} was run with instruction={found!r}; expected {polarity!r}")
    trait = (log.eval.metadata or {}).get("trait") or log.samples[0].metadata.get("trait")
    rows = {}
    for s in log.samples:
        md = s.metadata
        key = (int(md["question_index"]), md.get("pair_index"), int(md.get("sample_index", 0)))
        rows[key] = TraitRow(
            key=key,
            sample_id=str(s.id),
            input=list(s.input) if not isinstance(s.input, str) else s.input,
            answer=s.output.completion if s.output else "",
            trait=_score(s, "trait_score", "trait"),
            coherence=_score(s, "coherence_score", "coherence"),
        )
    grader = None
    if log.eval.model_roles and "grader" in log.eval.model_roles:
        grader = log.eval.model_roles["grader"].model
    return TraitLog(
        path=path,
        trait=str(trait),
        polarity=found,
        model=log.eval.model,
        model_args=dict(log.eval.model_args or {}),
        grader=grader,
        version=args.get("version"),
        rows=rows,
    )


def _score(sample: Any, scorer: str, key: str) -> float:
    score = (sample.scores or {}).get(scorer)
    if score is None:
        return math.nan
    value = score.value.get(key) if isinstance(score.value, dict) else score.value
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def check_same_source(pos: TraitLog, neg: TraitLog) -> None:
    """pos and neg logs must share trait and model, adapter included (`ModelIdentity`), unsteered."""
    if pos.trait != neg.trait:
        raise TraitLogError(f"pos log is trait {pos.trait!r} but neg log is {neg.trait!r}")
    idents = {log.path: model_identity(log.model, log.model_args) for log in (pos, neg)}
    for log in (pos, neg):
        if idents[log.path].steered:
            raise TraitLogError(f"{log.path} was generated with steering ({idents[log.path].label}); extract from unsteered runs")
    if idents[pos.path].key != idents[neg.path].key:
        raise TraitLogError(f"pos log is model {idents[pos.path].label} but neg log is {idents[neg.path].label}")


@dataclass(frozen=True)
class Filtered:
    keys: list[tuple[int, int | None, int]]
    counts: dict[str, int]


def filter_pairs(
    pos: TraitLog,
    neg: TraitLog,
    pos_min: float = 50,
    neg_max: float = 50,
    coherence_min: float = 50,
    use_scores: bool = True,
) -> Filtered:
    """Pairs with pos trait >= pos_min, neg trait < neg_max, both coherences >= coherence_min and
    both answers non-empty. NaN (unscored) fails every threshold. Counts after each filter.

    `use_scores=False` keeps every pair with two non-empty answers, ignoring the judge (for a
    judge that cannot score, e.g. a tiny local model; the vector then only reflects the prompts).
    """
    keys = sorted(set(pos.rows) & set(neg.rows), key=str)
    counts = {"pos_samples": len(pos.rows), "neg_samples": len(neg.rows), "paired": len(keys)}
    steps = [
        ("pos_trait", lambda p, n: p.trait >= pos_min),
        ("neg_trait", lambda p, n: n.trait < neg_max),
        ("coherence", lambda p, n: p.coherence >= coherence_min and n.coherence >= coherence_min),
        ("non_empty", lambda p, n: bool(p.answer.strip()) and bool(n.answer.strip())),
    ]
    if not use_scores:
        steps = steps[-1:]
    for name, keep in steps:
        keys = [k for k in keys if keep(pos.rows[k], neg.rows[k])]
        counts[f"after_{name}"] = len(keys)
    return Filtered(keys, counts)
