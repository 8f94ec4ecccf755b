"""trait_expression logs read into rows and frames: the vector tools' rows, the plots' frames (no torch here).

A row (`read_trait_log`) is one sample: its pairing key (question, instruction pair, repeat), the
messages the model answered (the instruction shown as its solver placed it), the question, the
answer, and the judge's trait and coherence scores (NaN when unscored). pos and neg samples are
paired by key, never by row order.
`steering_frame` is a row per log (its steering and mean scores); `projection_frame` a row per
sample with a judged trait score and a projection on the persona vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from persona_evals.identity import model_identity
from persona_evals.logs import LogError, check_all_finished, prompt_messages, read_task_log
from persona_evals.protocol import PROJ, PROMPT_LAST_PROJ
from persona_evals.scorers.projection import MONITOR_NAME

TASK_NAME = "trait_expression"
SCORES = ("trait", "coherence")  # the judge's scores, each with a mean and stderr per log


class TraitLogError(LogError):
    """A log does not fit what the command expects; the message says which log and why."""


@dataclass(frozen=True)
class TraitRow:
    key: tuple[int, int | None, int]
    sample_id: str
    input: list[Any]  # inspect ChatMessages: what the model answered (`logs.prompt_messages`)
    question: str
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
            input=prompt_messages(s),
            question=str(md.get("question") or s.input_text),
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


def steering_frame(paths: list[str], trait: str | None = None, instruction: str | None = None) -> Any:
    """One row per log (a folder: its logs, each read once, header only): trait, instruction,
    vector, layer, coef, and the mean/stderr of trait and coherence (and of the live monitor's
    projection, when the runs had one).

    The steering knobs come from each log's `ModelIdentity` (the ``vector``, ``layer`` and ``coef``
    model args of ``--model steer/...`` runs, ``coef`` defaulting to 1.0 as in the provider);
    unsteered logs have no vector (NaN layer and coef). All logs must be of one model (adapter and
    other args included); a run steering several vectors at once belongs in ``viz steering-effect``.

    Raises:
        LogError: a log of another task, mixed traits/instructions/versions without a filter,
            logs of several models, a log steering several vectors, or two logs for the same
            (vector, layer, coef).
    """
    from inspect_ai.analysis import EvalInfo, EvalModel, EvalResults, EvalScores, EvalTask, evals_df

    from persona_evals.identity import log_identity
    from persona_evals.logs import read_logs
    from persona_evals.scorers import metric_names

    logs = read_logs(paths, TASK_NAME)
    columns = EvalInfo + EvalTask + EvalModel + EvalResults + EvalScores
    df = evals_df(logs, columns=columns, quiet=True)
    check_all_finished(zip(df["log"], df["status"]))
    for column in ("task_arg_trait", "task_arg_instruction", "task_arg_version"):
        if column not in df:
            df[column] = None
    if trait:
        df = df[df["task_arg_trait"] == trait]
    if instruction:
        df = df[df["task_arg_instruction"] == instruction]
    if df.empty:
        raise LogError(f"no {TASK_NAME} log matches trait={trait} instruction={instruction}")
    identities = {log.location: log_identity(log) for log in logs}
    idents = [identities[loc] for loc in df["log"]]
    models = sorted({ident.base.label for ident in idents})
    if len(models) > 1:
        raise LogError(f"the logs are of several models {models}; pass the logs of one model")
    combos = df[["task_arg_trait", "task_arg_instruction", "task_arg_version"]].drop_duplicates()
    if len(combos) > 1:
        found = "; ".join(f"trait={t} instruction={i} version={v}" for t, i, v in combos.itertuples(index=False))
        raise LogError(
            f"the logs mix several runs ({found}); choose with --trait/--instruction or pass the logs"
        )
    knobs = [_knobs(ident, loc) for ident, loc in zip(idents, df["log"], strict=True)]
    frame = df.assign(
        model=models[0],
        trait=df["task_arg_trait"],
        instruction=df["task_arg_instruction"],
        vector=[k[0] for k in knobs],
        layer=[k[1] for k in knobs],
        coef=[k[2] for k in knobs],
        vector_arg=[k[3] for k in knobs],
    )
    steered = frame[frame["layer"].notna()]
    dupes = steered[steered.duplicated(["vector", "layer", "coef"], keep=False)]
    if len(dupes):
        raise LogError(
            "several logs for the same (layer, coef): " + ", ".join(
                f"{r.vector} layer {int(r.layer)} coef {r.coef}: {r.log}" for r in dupes.itertuples()
            ) + "; pass the logs you want explicitly"
        )
    for key in SCORES:
        for metric in ("mean", "stderr"):
            column = f"score_{key}_{metric}"
            if column not in frame:
                raise LogError(f"the logs have no {key} {metric} (column {column}); were they scored?")
            frame[f"{key}_{metric}"] = _floats(frame[column])
    keep = ["log", "model", "trait", "instruction", "vector", "vector_arg", "layer", "coef"]
    keep += [f"{k}_{m}" for k in SCORES for m in ("mean", "stderr")]
    # the live monitor's projection (projection scorer), when the runs had -M monitor=...
    proj_mean = next((c for c in (f"score_{PROJ}_{n}" for n in metric_names("finite_mean")) if c in frame), None)
    if proj_mean is not None and frame[proj_mean].notna().any():
        stderr = f"score_{PROJ}_stderr"
        frame[f"{PROJ}_mean"] = _floats(frame[proj_mean])
        frame[f"{PROJ}_stderr"] = _floats(frame[stderr]) if stderr in frame else 0.0
        keep += [f"{PROJ}_mean", f"{PROJ}_stderr"]
    return frame[keep].sort_values(["vector", "layer", "coef"], na_position="first").reset_index(drop=True)


def projection_frame(logs: list[str] | None, csv: str | None, column: str | None) -> tuple[Any, str]:
    """Columns `trait` and `proj` (one row per sample with both values); the projection's name.

    From the logs (each read once), the `projection` scorer's `PROJ`; from a `vectors project`
    CSV, its `column` (default: the first ``*_proj_layerN`` column).
    """
    import pandas as pd

    if csv:
        from persona_evals.paths import read_csv_rows

        what = "`persona-evals vectors project` from a trait_expression log"
        rows = read_csv_rows(csv, "--csv", ("trait",), what)
        candidates = [c for c in rows[0] if "_proj_layer" in c and "prompt" not in c]
        column = column or (candidates[0] if candidates else None)
        if column is None or column not in rows[0]:
            found = f"no projection column {column!r}" if column else "no projection column (*_proj_layerN)"
            raise LogError(f"--column: {csv} has {found}; it has {', '.join(rows[0])}")
        df = pd.DataFrame(rows)
        frame = pd.DataFrame({"trait": pd.to_numeric(df["trait"], errors="coerce"), "proj": pd.to_numeric(df[column], errors="coerce")})
        name = column
    else:
        from inspect_ai.analysis import SampleColumn, SampleSummary, samples_df

        from persona_evals.logs import read_logs

        cols = SampleSummary + [
            SampleColumn("trait", path="scores.trait_score.value.trait"),
            SampleColumn("proj", path=f"scores.projection.value.{PROJ}"),
        ]
        read = read_logs(logs or [], TASK_NAME, header_only=False)
        check_all_finished((log.location, log.status) for log in read)
        df = samples_df(read, columns=cols, quiet=True)
        if "proj" not in df or pd.to_numeric(df["proj"], errors="coerce").isna().all():
            raise LogError("the logs have no projection scores: run with -M monitor=<vector> -M monitor_layer=<L>")
        frame = pd.DataFrame({"trait": pd.to_numeric(df["trait"], errors="coerce"), "proj": pd.to_numeric(df["proj"], errors="coerce")})
        name = "proj (live monitor)"
    frame = frame.dropna()
    if len(frame) < 2:
        raise LogError(f"only {len(frame)} sample(s) have both a judged trait score and a projection")
    return frame, name


def _floats(column: Any) -> Any:
    """A score column as float64, NaN for missing (pandas NA breaks matplotlib)."""
    import pandas as pd

    return pd.to_numeric(column, errors="coerce").astype("float64")


def _knobs(ident: Any, log: str) -> tuple[Any, float, float, Any]:
    """(vector name, layer, coef, the vector as -M vector= takes it) of a log's single steering
    term; (None, NaN, NaN, None) unsteered."""
    if not ident.terms:
        return None, math.nan, math.nan, None
    if len(ident.terms) > 1:
        raise LogError(
            f"{log} steers several vectors at once ({ident.label}); plot it with `viz steering-effect`"
        )
    term = ident.terms[0]
    return term.name, float(term.layer), term.coef, term.vector + (f"#{term.key}" if term.key else "")


MONITORING_COLUMNS = ["log", "model", "monitor", "trait", "monitoring", "level", "sample_id", "trait_score", PROMPT_LAST_PROJ, PROJ]


def monitoring_frame(paths: list[str]) -> Any:
    """One row per sample of trait_expression monitoring logs (``-T monitoring=...``, run with
    ``-M monitor=...``): its trait, condition, level, judged trait score and the monitor's
    projections (last prompt token, response mean). Unscored samples keep a NaN trait score.

    Raises:
        TraitLogError: a log of another task, unfinished, not a monitoring run, or without monitor readings.
    """
    import pandas as pd

    from persona_evals.identity import labels_by_log

    labels = labels_by_log(paths)
    rows = []
    for path in paths:
        try:
            log = read_task_log(path, TASK_NAME, finished=True)
        except LogError as ex:
            raise TraitLogError(str(ex)) from None
        monitoring = (log.eval.task_args or {}).get("monitoring")
        if not monitoring:
            raise TraitLogError(f"{path} is not a monitoring run: run trait_expression with -T monitoring=graded or many_shot")
        for s in log.samples or []:
            projection = (s.scores or {}).get("projection")
            value = projection.value if projection is not None and isinstance(projection.value, dict) else {}
            rows.append({
                "log": path,
                "model": labels[path][1],
                "monitor": (projection.metadata or {}).get(MONITOR_NAME, "") if projection is not None else "",
                "trait": str(s.metadata.get("trait")),
                "monitoring": str(monitoring),
                "level": int(s.metadata["monitoring_level"]),
                "sample_id": str(s.id),
                "trait_score": _score(s, "trait_score", "trait"),
                PROMPT_LAST_PROJ: _float(value.get(PROMPT_LAST_PROJ)),
                PROJ: _float(value.get(PROJ)),
            })
    frame = pd.DataFrame(rows, columns=MONITORING_COLUMNS)
    blind = sorted(set(frame.loc[frame[PROMPT_LAST_PROJ].isna(), "log"]))
    if blind:
        raise TraitLogError(
            f"{', '.join(blind)}: samples without a monitor reading; run with "
            "--model steer/... -M monitor=<vector> -M monitor_layer=<L>"
        )
    return frame


CORRELATION_COLUMNS = ["trait", "monitoring", "model", "monitor", "n", "r", "p_value", "ci_low", "ci_high", "n_unscored"]


def monitoring_correlations(frame: Any) -> list[dict[str, Any]]:
    """Per (trait, condition, model, monitor): Pearson r of the last-prompt-token projection with the
    judged trait score, its p-value and 95% Fisher-z interval (`stats.pearson_ci`), over the scored
    samples; the unscored ones are counted."""
    from persona_evals.stats.correlation import pearson_ci

    out = []
    for (trait, monitoring, model, monitor), rows in frame.groupby(["trait", "monitoring", "model", "monitor"], sort=True):
        scored = rows.dropna(subset=["trait_score"])
        c = pearson_ci(scored[PROMPT_LAST_PROJ].to_numpy(), scored["trait_score"].to_numpy())
        out.append({"trait": trait, "monitoring": monitoring, "model": model, "monitor": monitor, "n": c.n, "r": c.r,
                    "p_value": c.p_value, "ci_low": c.low, "ci_high": c.high, "n_unscored": len(rows) - len(scored)})
    return out


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
