"""The trait_expression dataset: trait artifacts found by name or path, and the samples made from them.

A trait's artifacts are two JSON files, the ``extract`` and ``eval`` splits (format in
`persona_evals.traits.artifact`); the shipped ones live in ``persona_evals/traits/data/``. A sample
is one question x instruction pair x polarity x repeat.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser

from persona_evals.paths import user_path, write_text_atomic
from persona_evals.traits.artifact import TraitArtifact, TraitArtifactError, parse_artifact

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


Polarity = Literal["pos", "neg", "none"]
POLARITIES: tuple[Polarity, ...] = ("pos", "neg", "none")
NEG_ASSISTANT_NAME = "helpful"


def article(word: str) -> str:
    """``a`` or ``an`` chosen by the first letter (a vowel letter takes ``an``)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def default_assistant_name(trait: str, polarity: Polarity) -> str:
    """The trait adjective for pos (``evil_2`` -> ``evil``), ``helpful`` for neg."""
    if polarity == "neg":
        return NEG_ASSISTANT_NAME
    return re.sub(r"_\d+$", "", trait).replace("_", " ")


def system_prompt(assistant_name: str, instruction: str) -> str:
    """One identity sentence naming the assistant, then the instruction."""
    return f"You are {article(assistant_name)} {assistant_name} assistant. {instruction.strip()}"


def trait_samples(
    trait: str,
    artifact: TraitArtifact,
    polarity: Polarity,
    version: str,
    assistant_name: str | None = None,
    samples_per_question: int = 1,
) -> MemoryDataset:
    """Every (question, instruction pair, repeat) for `polarity`: the question as the input, the
    instruction's system prompt in ``metadata["system_prompt"]`` (None for ``none``), shown to the
    model by the task's `persona_message` solver.

    Ids are ``{trait}_{question}_{pair}_{polarity}_{repeat}`` (``{trait}_{question}_none_{repeat}``
    for ``none``, which has no pair), so a pos sample and its neg twin differ only in polarity.

    Raises:
        ValueError: bad `polarity`, `samples_per_question` < 1, or an `assistant_name` with
            ``none`` (there is no system prompt to put it in).
    """
    if polarity not in POLARITIES:
        raise ValueError(f"instruction must be one of {list(POLARITIES)}, got {polarity!r}")
    if not isinstance(samples_per_question, int) or samples_per_question < 1:
        raise ValueError(f"samples_per_question must be an integer >= 1, got {samples_per_question!r}")
    if assistant_name is not None and not isinstance(assistant_name, str):
        raise ValueError(
            f"assistant_name must be text, got {assistant_name!r} (YAML reads yes/no/on/off as booleans)"
        )
    if polarity == "none" and assistant_name:
        raise ValueError("assistant_name is only used with instruction=pos or neg (none has no system prompt)")
    name = assistant_name or default_assistant_name(trait, polarity)
    pairs = [None] if polarity == "none" else list(enumerate(artifact.instruction))
    samples: list[Sample] = []
    for q, question in enumerate(artifact.questions):
        for pair in pairs:
            for k in range(samples_per_question):
                metadata = {
                    "trait": trait,
                    "version": version,
                    "polarity": polarity,
                    "question_index": q,
                    "pair_index": None,
                    "sample_index": k,
                    "question": question,
                    "system_prompt": None,
                }
                if pair is None:
                    sample_id = f"{trait}_{q}_none_{k}"
                else:
                    j, instruction = pair
                    metadata.update(pair_index=j, system_prompt=system_prompt(name, getattr(instruction, polarity)))
                    sample_id = f"{trait}_{q}_{j}_{polarity}_{k}"
                samples.append(Sample(id=sample_id, input=[ChatMessageUser(content=question)], metadata=metadata))
    return MemoryDataset(samples, name=f"{trait}_{version}_{polarity}")
