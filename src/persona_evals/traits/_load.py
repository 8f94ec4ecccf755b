"""Finding and reading trait artifacts: shipped ones by name, anyone's by path."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Literal

from persona_evals.paths import user_path, write_text_atomic
from persona_evals.traits._schema import TraitArtifact, TraitArtifactError, parse_artifact

Version = Literal["extract", "eval"]
VERSIONS: tuple[Version, ...] = ("extract", "eval")

_SPLIT_SUFFIX = re.compile(r"_(extract|eval)$")


def data_dir() -> Path:
    """The folder of shipped artifacts (``<trait>_extract.json`` and ``<trait>_eval.json``)."""
    return Path(str(resources.files("persona_evals.traits") / "data"))


def trait_names() -> list[str]:
    """Names of the shipped traits (those with both an extract and an eval file)."""
    stems = {p.stem for p in data_dir().glob("*.json")}
    return sorted(
        s.removesuffix("_extract") for s in stems if s.endswith("_extract") and f"{s[:-8]}_eval" in stems
    )


def artifact_path(trait: str, version: str) -> Path:
    """Resolve `trait` (a shipped name, or a path to an artifact file) to a file.

    Raises:
        TraitArtifactError: unknown name, missing file, bad `version`, or a path whose
            ``_extract``/``_eval`` suffix contradicts `version`.
    """
    if version not in VERSIONS:
        raise TraitArtifactError(f"version must be one of {list(VERSIONS)}, got {version!r}")
    if trait.endswith(".json") or "/" in trait or user_path(trait).is_file():
        path = user_path(trait)
        if not path.is_file():
            raise TraitArtifactError(f"trait artifact file {trait} does not exist")
        split = _SPLIT_SUFFIX.search(path.stem)
        if split and split.group(1) != version:
            raise TraitArtifactError(
                f"trait file {path.name} is the {split.group(1)!r} split but version={version!r}"
            )
        return path
    names = trait_names()
    if trait not in names:
        raise TraitArtifactError(
            f"unknown trait {trait!r}: expected one of {names} or a path to an artifact .json file"
        )
    return data_dir() / f"{trait}_{version}.json"


def trait_name_of(trait: str) -> str:
    """The trait's name: a shipped name as is, a path's file stem without ``_extract``/``_eval``."""
    if trait in trait_names():
        return trait
    return _SPLIT_SUFFIX.sub("", Path(trait).stem)


def judge_rubric(trait: str) -> str:
    """A trait's judge rubric (both splits share it): a file as given, a shipped name's eval split."""
    split = None if trait in trait_names() else _SPLIT_SUFFIX.search(Path(trait).stem)
    return load_trait(trait, split.group(1) if split else "eval").eval_prompt


def load_trait(trait: str, version: str = "extract") -> TraitArtifact:
    """Load and validate one split of a trait (shipped name or path to a file)."""
    path = artifact_path(trait, version)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as ex:
        raise TraitArtifactError(f"trait artifact {path} is not valid JSON: {ex}") from ex
    return parse_artifact(data, source=f"trait artifact {path}")


def write_artifact(artifact: TraitArtifact, path: str | Path, overwrite: bool = False) -> Path:
    """Write one split as pretty JSON (the same format `load_trait` reads), atomically; an existing
    file is replaced only with `overwrite`."""
    text = json.dumps(artifact.model_dump(), indent=2, ensure_ascii=False) + "\n"
    return write_text_atomic(path, text, overwrite)
