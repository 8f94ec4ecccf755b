"""Model sizes for the Principled Personas scale regressions, and the frame they are fitted on.

The paper's notebook (``evaluate.ipynb``, the "Scale effect on ..." cells and "Combined scale
effect") regresses each of nine metrics on model size, one fit per metric: ``score ~ size`` with
statsmodels ``mixedlm`` and a random intercept per model family x task (its ``familyDataset``);
one observation per (model, task), the metric's value there. Its sizes are an ordinal scale,
``sizes = [1, 2, 3, 1, 2, 4, 1, 2, 4]`` over gemma-2 2b/9b/27b, Llama 3B/8B/70B, Qwen2.5 3B/7B/72B
(2-3B = 1, 7-9B = 2, 27B = 3, 70-72B = 4), its families gemma, llama and qwen.

The logs hold neither sizes nor families, so the user gives them (``--model-size MODEL=SIZE``,
``--model-family MODEL=FAMILY``, ``--model-sizes FILE.csv``), keyed by the model labels the
metrics print. Any positive number is a size (the paper's 1-4, or billions of parameters): the
slope is per unit of what was given, which is why sizes are never filled in from elsewhere (a
parameter count beside a user's 1-4 would mix units). Without families every model is one family,
and the random intercept is per task.

Where the notebook differs from itself, the base-prompt cells are followed: every fit has an
intercept (its mitigation sections fit one metric as ``score ~ 0+size``), and R² come from the
fitted rows (it passed its whole persona frame to ``compute_r2``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SIZE_METRICS: tuple[str, ...] = (
    "advantage:static", "advantage:level1", "advantage:level2", "advantage:level3",
    "robustness:colors", "robustness:names",
    "fidelity:domain", "fidelity:education", "fidelity:specialization",
)
"""The metrics the paper regresses on size, in its order (`persona_evals.accuracy.metrics` names)."""
SIZE_FAMILY = "size"  # a metric's fit is the regression family ``size:<metric>``
SIZE_FORMULA = "value ~ size"
SIZE_GROUPS = "group"  # model family x task
ONE_FAMILY = "all"
SIZE_ARGS = "--model-size MODEL=SIZE (or --model-sizes FILE.csv)"
PAPER_SCALE = "the paper's scale: 1 = 2-3B, 2 = 7-9B, 3 = 27B, 4 = 70-72B parameters"


class SizeError(ValueError):
    """Sizes or families that cannot be used; the message names the argument and the model."""


@dataclass(frozen=True)
class Given:
    """A value the user gave for a model, and where (``--model-size``, ``--model-sizes F line 3``)."""

    value: Any
    source: str


@dataclass(frozen=True)
class ModelSizes:
    """Each model's size and family (labels as in the logs), and the models of the logs without a size."""

    sizes: Mapping[str, float]
    families: Mapping[str, str]
    missing: tuple[str, ...]

    def skip_reason(self) -> str | None:
        """Why no size regression can be fitted (None when every model has a size)."""
        if not self.sizes:
            return f"no model sizes given: {SIZE_ARGS} for every model ({PAPER_SCALE})"
        if self.missing:
            return f"no size for model(s) {', '.join(self.missing)}: give {SIZE_ARGS} for every model in the logs"
        return None

    def describe(self) -> str:
        """The sizes and families used, for the table's note (nothing about a fit left implicit)."""
        return "sizes " + ", ".join(f"{m} = {self.sizes[m]:g} ({self.families[m]})" for m in sorted(self.sizes))


def positive_size(text: str) -> float:
    """`text` as a size: a finite number > 0, else a `SizeError`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SizeError(f"size {text!r} is not a positive number")
    return value


def collect(given: Iterable[tuple[str, Any, str]]) -> dict[str, Given]:
    """model -> `Given` from (model, value, source) triples of one kind of source (the flags, or a
    file); the same model twice with different values is an error naming both places."""
    out: dict[str, Given] = {}
    for model, value, source in given:
        if model in out and out[model].value != value:
            raise SizeError(f"{source}: model {model!r} given twice ({out[model].value!r} at {out[model].source}, now {value!r})")
        out.setdefault(model, Given(value, source))
    return out


def resolve_sizes(sizes: Mapping[str, Given], families: Mapping[str, Given], models: Iterable[str]) -> ModelSizes:
    """Check the given sizes and families against the models of the logs.

    Raises:
        SizeError: a name that is no model of the logs, or families given for some sized models
            but not all (naming the argument and the models).
    """
    models = sorted(set(models))
    for given in (sizes, families):
        for name, value in given.items():
            if name not in models:
                raise SizeError(f"{value.source}: no model {name!r} in the logs; they hold: {', '.join(models)}")
    unfamilied = sorted(m for m in sizes if m not in families)
    if families and unfamilied:
        raise SizeError(
            f"{next(iter(families.values())).source}: no family for model(s) {', '.join(unfamilied)}; give "
            "--model-family MODEL=FAMILY for every model with a size, or for none (all models are then one family)"
        )
    return ModelSizes(
        sizes={m: float(g.value) for m, g in sizes.items()},
        families={m: str(families[m].value) if families else ONE_FAMILY for m in sizes},
        missing=tuple(m for m in models if m not in sizes),
    )


def size_frame(metric_rows: Iterable[Any], sizes: ModelSizes) -> Any:
    """One row per (mitigation, metric, model, task) of the size metrics: the metric's value (the
    mean where a task has several in-domain experts, each a row of its own), the model's size,
    family, and random-intercept group (family x task). Non-finite values (an undefined tau) are
    left out and counted in ``n_undefined`` of the remaining rows of their metric."""
    import pandas as pd

    values: dict[tuple[str, str, str, str], list[float]] = {}
    for r in metric_rows:
        if r.metric in SIZE_METRICS:
            values.setdefault((r.mitigation, r.metric, r.model, r.task), []).append(r.value)
    means = {key: math.fsum(v) / len(v) for key, v in sorted(values.items())}  # a NaN stays NaN
    undefined: dict[tuple[str, str], int] = {}
    for (mitigation, metric, _, _), value in means.items():
        undefined[(mitigation, metric)] = undefined.get((mitigation, metric), 0) + (not math.isfinite(value))
    rows = [
        {"mitigation": mitigation, "metric": metric, "model": model, "task": task, "value": value,
         "n_undefined": undefined[(mitigation, metric)], "size": sizes.sizes[model], "family": sizes.families[model],
         SIZE_GROUPS: f"{sizes.families[model]} | {task}"}
        for (mitigation, metric, model, task), value in means.items()
        if math.isfinite(value)
    ]
    columns = ["mitigation", "metric", "model", "task", "value", "n_undefined", "size", "family", SIZE_GROUPS]
    return pd.DataFrame(rows, columns=columns)


def check_size_rows(rows: Any, metric: str, min_groups: int) -> str | None:
    """Why `rows` (one metric, one mitigation) cannot carry its size regression (None when they can)."""
    if rows.empty:
        return f"no {metric} values (its personas were not run, or every value is undefined)"
    if rows["size"].nunique() < 2 or rows[SIZE_GROUPS].nunique() < min_groups:
        return (f"needs {metric} for models of at least 2 sizes in {min_groups}+ (family, task) groups; "
                f"has {rows['size'].nunique()} size(s) in {rows[SIZE_GROUPS].nunique()} group(s)")
    return None
