"""Samples of the trait-expression benchmark: question x instruction pair x polarity x repeat."""

from __future__ import annotations

import re
from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser

from persona_evals.traits._schema import TraitArtifact

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
