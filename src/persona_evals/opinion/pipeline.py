"""The opinion pipelines that run evals: persona tiers written by a model, personas calibrated.

Each runs its registered task(s) as logged inspect evals and returns the merged records; the
`persona-evals personas generate|calibrate` commands write and report them.
"""

from __future__ import annotations

from typing import Any

from persona_evals.ids import keyed_rng
from persona_evals.opinion.calibration import MAX_ROUNDS, ValueBudget, calibration_round, merge_calibration
from persona_evals.opinion.generation import generation_task, merge_generation_log
from persona_evals.opinion.records import PersonaRecord
from persona_evals.personas.census import CensusSampler
from persona_evals.personas.census_data import load_marginals
from persona_evals.solvers.writer import read_written


def generate_personas(
    records: list[PersonaRecord],
    tiers: list[str],
    model: Any,
    log_dir: str,
    model_args: dict[str, Any] | None = None,
    max_retries: int = 2,
    max_tokens: int | None = None,
) -> list[PersonaRecord]:
    """The records with the `tiers` a writer model wrote for them (one logged eval in `log_dir`)."""
    from inspect_ai import eval as inspect_eval

    task = generation_task(records, tiers, max_retries=max_retries)
    limits = {"max_tokens": max_tokens} if max_tokens else {}
    log = inspect_eval(task, model=model, model_args=model_args or {}, log_dir=log_dir, display="none", **limits)[0]
    return merge_generation_log(records, log)


def calibrate_personas(
    records: list[PersonaRecord],
    model: Any,
    log_dir: str,
    max_rounds: int = 5,
    model_args: dict[str, Any] | None = None,
    max_tokens: int | None = None,
) -> list[PersonaRecord]:
    """Every record, calibrated: rounds of verification and budgeted redraws (`opinion.calibration`),
    one eval log per round in `log_dir`."""
    from inspect_ai import eval as inspect_eval

    if not 0 <= max_rounds <= MAX_ROUNDS:
        raise ValueError(f"max_rounds: expected 0 to {MAX_ROUNDS} resampling rounds, got {max_rounds}")
    current = {r.id: r.persona for r in records}
    index = {r.id: i for i, r in enumerate(records)}
    budget = ValueBudget(current.values())
    samplers: dict[str, CensusSampler] = {}
    outcome: dict[str, tuple[bool, int, list[str]]] = {}
    logs: list[str] = []
    model_name = ""
    pending = [r.id for r in records]
    limits = {"max_tokens": max_tokens} if max_tokens else {}
    for round_ in range(max_rounds + 1):
        task_ = calibration_round([(index[i], current[i]) for i in pending], round_)
        log = inspect_eval(task_, model=model, model_args=model_args or {}, log_dir=log_dir, display="none", **limits)[0]
        written = read_written(log, f"calibration round {round_}")
        logs.append(log.location)
        model_name = log.eval.model
        for i in pending:
            verdict = written[i].value["verdict"]
            outcome[i] = (bool(verdict["accepted"]), round_, list(verdict["issues"]))
            if outcome[i][0]:
                budget.take(current[i])
        pending = [i for i in pending if not outcome[i][0]]
        if not pending or round_ == max_rounds:
            break
        for i in pending:  # after every acceptance of the round: the order of samples never matters
            path = str(records[index[i]].provenance.get("marginals") or "")
            if path not in samplers:
                samplers[path] = CensusSampler(load_marginals(path) if path else None)
            current[i] = budget.redraw(current[i], samplers[path], keyed_rng(index[i], round_, key=i))
    return [merge_calibration(r, current[r.id], *outcome[r.id], model_name, logs) for r in records]
