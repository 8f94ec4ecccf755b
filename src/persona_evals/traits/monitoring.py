"""The persona-vectors monitoring experiment: prompts that push a trait by degrees, so that the
projection of the last prompt token on the trait's vector can be checked against the trait
score of the answer that follows (the paper reports r = 0.75-0.83).

Two conditions, each a sample per question x level x repeat (no instruction pair):

- ``graded``: one of 8 system prompts per trait, level 0 (most trait-suppressing) to 7 (most
  trait-eliciting). They are data, one file per shipped trait in ``traits/data/graded/<trait>.json``
  (``{"trait": ..., "graded": [8 prompts]}``); another file with the same shape can be given.
- ``many_shot``: no system prompt; before the question, N earlier exchanges in which the assistant
  shows the trait (N in `shots`, e.g. 0, 5, 10, 15, 20). The exchanges are the question-answer pairs
  of a trait_expression log (``shots_log``: a pos-instruction run on the extract split), the
  answers with the highest judged trait score first; a log that shares questions with the
  measured split is refused (the answer to the question asked would be among the examples).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageUser

from persona_evals.paths import user_path
from persona_evals.traits.artifact import TraitArtifact

Monitoring = Literal["graded", "many_shot"]
MONITORINGS: tuple[str, ...] = ("graded", "many_shot")
GRADED_LEVELS = 8
DEFAULT_SHOTS: tuple[int, ...] = (0, 5, 10, 15, 20)


def graded_path(trait: str, override: str | None = None) -> Path:
    """The graded-prompt file of `trait` (shipped), or `override` as given."""
    if override:
        path = user_path(override)
        if not path.is_file():
            raise ValueError(f"graded_prompts: {override} is not a file")
        return path
    path = Path(str(resources.files("persona_evals.traits") / "data" / "graded" / f"{trait}.json"))
    if not path.is_file():
        raise ValueError(
            f"no graded prompts ship for trait {trait!r}: write {GRADED_LEVELS} system prompts, most "
            f'suppressing first, to a file {{"graded": [...]}} and pass -T graded_prompts=FILE'
        )
    return path


def load_graded(trait: str, override: str | None = None) -> list[str]:
    """The trait's 8 graded system prompts, level 0 (suppressing) to 7 (eliciting)."""
    path = graded_path(trait, override)
    try:
        prompts = json.loads(path.read_text(encoding="utf-8")).get("graded")
    except (json.JSONDecodeError, AttributeError) as ex:
        raise ValueError(f"graded_prompts {path}: not a JSON object with a 'graded' list ({ex})") from None
    if (
        not isinstance(prompts, list)
        or len(prompts) != GRADED_LEVELS
        or not all(isinstance(p, str) and p.strip() for p in prompts)
    ):
        raise ValueError(f"graded_prompts {path}: 'graded' must hold {GRADED_LEVELS} non-blank prompts, most suppressing first")
    return prompts


def parse_shots(shots: Any) -> list[int]:
    """`shots` as a strictly increasing list of non-negative integers (``-T shots=0,5,10``)."""
    values = shots if isinstance(shots, list | tuple) else str(shots).split(",")
    out = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number.is_integer() or number < 0:
            raise ValueError(f"shots must be whole numbers >= 0 (examples before each question), got {value!r}")
        out.append(int(number))
    if not out:
        raise ValueError("shots needs at least one number of examples, e.g. -T shots=0,5,10,15,20")
    if any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"shots must increase strictly (each count once, smallest first), got {out}")
    return out


def shot_examples(log_path: str, needed: int, questions: list[str], trait: str) -> list[tuple[str, str]]:
    """(question, answer) pairs of a trait_expression log of `trait`: the highest judged trait
    score first (unscored last), non-empty answers, at most `needed`.

    Raises:
        ValueError: a log of another trait, fewer usable answers than `needed`, or a log that
            answers one of `questions`.
    """
    from persona_evals.traits.results import read_trait_log

    log = read_trait_log(log_path)
    if log.trait != trait:
        raise ValueError(f"shots_log {log_path} is a run of trait {log.trait!r}; the examples must show {trait!r}")
    measured = set(questions)
    pairs = []
    for row in log.rows.values():
        question = row.question
        if question in measured:
            raise ValueError(
                f"shots_log {log_path} answers a question of the split being measured ({question[:60]!r}); "
                "use a log of the other split (-T version=extract for the examples)"
            )
        if row.answer.strip():
            pairs.append((-row.trait if not math.isnan(row.trait) else math.inf, row.sample_id, question, row.answer))
    pairs.sort()
    if len(pairs) < needed:
        raise ValueError(f"shots_log {log_path} has {len(pairs)} answers; shots needs {needed}")
    return [(q, a) for _, _, q, a in pairs[:needed]]


def monitoring_samples(
    trait: str,
    artifact: TraitArtifact,
    version: str,
    monitoring: str,
    samples_per_question: int = 1,
    graded: list[str] | None = None,
    shots: list[int] | None = None,
    examples: list[tuple[str, str]] | None = None,
) -> MemoryDataset:
    """Every (question, level, repeat): ids ``{trait}_{q}_graded{level}_{k}`` or
    ``{trait}_{q}_shots{n}_{k}``; metadata ``monitoring`` and ``monitoring_level`` (the graded level,
    or the number of examples)."""
    if monitoring not in MONITORINGS:
        raise ValueError(f"monitoring must be one of {list(MONITORINGS)}, got {monitoring!r}")
    levels = list(range(GRADED_LEVELS)) if monitoring == "graded" else list(shots or [])
    samples = []
    for q, question in enumerate(artifact.questions):
        for level in levels:
            messages: list[ChatMessage] = []
            system = None  # shown by the task's persona_message solver, like trait_samples' prompts
            if monitoring == "graded":
                system = (graded or [])[level]
            else:
                for shot_q, shot_a in (examples or [])[:level]:
                    messages += [ChatMessageUser(content=shot_q), ChatMessageAssistant(content=shot_a)]
            messages.append(ChatMessageUser(content=question))
            tag = f"graded{level}" if monitoring == "graded" else f"shots{level}"
            for k in range(samples_per_question):
                metadata = {
                    "trait": trait,
                    "version": version,
                    "polarity": "none",
                    "question_index": q,
                    "pair_index": None,
                    "sample_index": k,
                    "question": question,
                    "system_prompt": system,
                    "monitoring": monitoring,
                    "monitoring_level": level,
                }
                samples.append(Sample(id=f"{trait}_{q}_{tag}_{k}", input=list(messages), metadata=metadata))
    return MemoryDataset(samples, name=f"{trait}_{version}_{monitoring}")
