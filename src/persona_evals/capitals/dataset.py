"""Capital cities: a tiny factual-recall set shipped with the package (public knowledge).

Used by the `capitals` task to check that a model (steered or not) still answers plain questions,
and by `make demo` as a real eval that runs offline.
"""

from __future__ import annotations

from importlib.resources import files

from inspect_ai.dataset import Dataset, Sample, json_dataset

from persona_evals.capitals.prompts import QUESTION


def capitals_dataset() -> Dataset:
    path = files("persona_evals.capitals") / "data" / "capitals.jsonl"
    return json_dataset(
        str(path),
        sample_fields=lambda r: Sample(
            id=r["id"], input=QUESTION.format(country=r["country"]), target=r["capital"], metadata={"country": r["country"]}
        ),
    )
