"""The run record (`run.json`) written beside every adapter and checkpoint of a finetuning run.

It says what was trained on what: the base model (as given, as resolved, and its fingerprint,
which `-M adapter=` checks), the data file's SHA-256 and split sizes, every option, the steering
or ablation terms with their files' hashes, library versions, and the loss history.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

from persona_evals.steering.vectors import LoadedVector
from persona_evals.steering_args import VectorSpec

FORMAT = "persona-evals/finetune-run-v1"
_LIBRARIES = ("persona-evals", "torch", "transformers", "peft", "safetensors", "accelerate")


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def term_records(terms: tuple[VectorSpec, ...], vectors: list[LoadedVector], coef: bool) -> list[dict[str, Any]]:
    """Each steering or ablation term with its file's hash (and trait, when the file records one)."""
    out = []
    for t, v in zip(terms, vectors, strict=True):
        rec: dict[str, Any] = {"path": t.path, "key": v.key, "sha256": v.sha256, "layer": t.layer}
        if coef:
            rec["coef"] = t.coef
        if "trait" in v.metadata:
            rec["trait"] = v.metadata["trait"]
        out.append(rec)
    return out


def write_record(folder: Path, record: dict[str, Any]) -> Path:
    path = folder / "run.json"
    path.write_text(json.dumps({"format": FORMAT, **record}, indent=2) + "\n")
    return path
