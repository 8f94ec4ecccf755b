"""Items of the 27 tasks: pinned Hub loads and one pure ``record_to_sample`` per source schema.

Item ids come from the source's own ids where it has them (MMLU-Pro ``question_id``, BIG-Bench
``idx``), else an 8-hex hash of the defining text, so they survive reordering and filtering.
Options whose source always puts the gold first
(TruthfulQA) or in a fixed place (BIG-Bench) are shuffled per item with a seed derived from the
item id, not from a batch position.

Sources: MATH from the maintained mirror ``DigitalLearningGmbH/MATH-lighteval`` (``lighteval/MATH``
was removed from the Hub); BIG-Bench from the Hub's parquet conversion of ``tasksource/bigbench``
(its loading script no longer runs under ``datasets`` 4).

``source="sample"`` reads real BIG-bench items shipped with the package instead of the Hub (the
first 200 of each subtask, 198 of tracking_shuffled_objects, Apache-2.0, see
``samples/bigbench/README.md``), so the benchmark runs offline on real data. Their ids (``bigbench_sample/<subtask>/<config>/<idx>``) are not the Hub's,
so cached dynamic experts and baselines never cross the two sources.

The dataset (`build_dataset`) is one sample per item and persona, id ``<item id>#<persona id>``,
with the task, item id and persona (id, group, rank, sentence) in its metadata, so every
desideratum can be computed from the log afterwards and items are paired across personas by id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib.resources import files
from string import ascii_uppercase
from typing import Any, Literal, get_args

from inspect_ai.dataset import MemoryDataset, Sample

from persona_evals.accuracy.benchmarks import TaskSpec, resolve_tasks
from persona_evals.accuracy.boxed import last_boxed
from persona_evals.accuracy.catalog import select_personas
from persona_evals.accuracy.extract import parse_gsm8k_target
from persona_evals.accuracy.prompts import format_user_prompt
from persona_evals.datasets.hub import hub_dataset, hub_parquet
from persona_evals.ids import content_hash, keyed_random

# revisions: persona_evals.datasets.revisions
TRUTHFULQA_DATASET = "truthfulqa/truthful_qa"
GSM8K_DATASET = "openai/gsm8k"
MMLU_PRO_DATASET = "TIGER-Lab/MMLU-Pro"
MATH_DATASET = "DigitalLearningGmbH/MATH-lighteval"
BIGBENCH_DATASET = "tasksource/bigbench"
BIGBENCH_MAX_ROWS = 1000
Source = Literal["hub", "sample"]
ITEM_SOURCES: tuple[str, ...] = get_args(Source)
SAMPLE_FAMILIES: tuple[str, ...] = ("bigbench",)
MAX_CHOICES = 26
# what to do offline without a cached copy (see datasets.hub.HubUnavailableError)
OFFLINE_SAMPLE = "read the real BIG-bench items shipped with the package: -T source=sample"
OFFLINE_BIGBENCH = ("run offline on the BIG-bench items shipped with the package (only those ship): "
                    "-T dataset=bigbench -T source=sample")


def _choice_sample(
    item_id: str, question: str, choices: list[str], gold: int, shuffle: bool, **metadata: Any
) -> Sample:
    order = list(range(len(choices)))
    if shuffle:
        keyed_random(item_id).shuffle(order)
    shuffled = [choices[i] for i in order]
    letter = ascii_uppercase[order.index(gold)]
    return Sample(
        id=item_id,
        input=format_user_prompt(question, "choice", shuffled),
        target=letter,
        choices=shuffled,
        metadata={"item_id": item_id, "question": question, "n_options": len(shuffled), **metadata},
    )


def truthfulqa_record(record: dict[str, Any]) -> Sample:
    """TruthfulQA mc1: the gold (label 1) is always listed first, so options are shuffled."""
    targets = record["mc1_targets"]
    gold = list(targets["labels"]).index(1)
    item_id = f"truthfulqa/{content_hash(record['question'])}"
    return _choice_sample(item_id, record["question"], list(targets["choices"]), gold, shuffle=True)


def gsm8k_record(record: dict[str, Any]) -> Sample:
    """GSM8K: the gold number follows ``####`` in the worked answer."""
    item_id = f"gsm8k/{content_hash(record['question'])}"
    gold = parse_gsm8k_target(record["answer"])
    return Sample(
        id=item_id,
        input=format_user_prompt(record["question"], "number"),
        target=_number_text(gold),
        metadata={"item_id": item_id, "question": record["question"], "gold_number": gold},
    )


def mmlu_pro_record(record: dict[str, Any]) -> Sample:
    """MMLU-Pro: options padded with "N/A" are stripped; order is kept (the source fixes none)."""
    options = list(record["options"])
    gold_index = int(record["answer_index"])
    if options[gold_index].strip() == "N/A":
        raise ValueError(f"MMLU-Pro question {record['question_id']}: the gold option is 'N/A'")
    kept = [i for i, text in enumerate(options) if text.strip() != "N/A"]
    item_id = f"mmlu_pro/{record['question_id']}"
    return _choice_sample(
        item_id,
        record["question"],
        [options[i] for i in kept],
        kept.index(gold_index),
        shuffle=False,
        subset=record["category"],
    )


def math_record(record: dict[str, Any]) -> Sample:
    """MATH: the gold is the last ``\\boxed{}`` of the reference solution."""
    gold = last_boxed(record["solution"])
    if gold is None:
        raise ValueError(f"MATH solution without \\boxed{{}}: {record['problem'][:80]!r}")
    item_id = f"math/{content_hash(record['problem'], record['solution'])}"
    return Sample(
        id=item_id,
        input=format_user_prompt(record["problem"], "boxed"),
        target=gold,
        metadata={
            "item_id": item_id,
            "question": record["problem"],
            "subset": record["type"],
            "level": record["level"],
        },
    )


def bigbench_record(subtask: str, prefix: str = "bigbench") -> Callable[[dict[str, Any]], Sample]:
    """BIG-Bench: the inline choice list is cut from ``inputs``; options shuffled per item."""

    def record_to_sample(record: dict[str, Any]) -> Sample:
        item_id = f"{prefix}/{subtask}/{record['idx']}"
        choices = list(record["multiple_choice_targets"])
        scores = list(record["multiple_choice_scores"])
        if 1 not in scores:
            raise ValueError(f"BIG-Bench item {item_id} has no option scored 1")
        gold = scores.index(1)
        if len(choices) > MAX_CHOICES:  # keep the gold and a seeded sample of wrong options
            wrong = [i for i in range(len(choices)) if i != gold]
            keep = sorted([gold, *keyed_random(item_id + "/drop").sample(wrong, MAX_CHOICES - 1)])
            choices, gold = [choices[i] for i in keep], keep.index(gold)
        question = strip_inline_choices(record["inputs"])
        return _choice_sample(item_id, question, choices, gold, shuffle=True, subset=subtask)

    return record_to_sample


def bigbench_sample_rows(subtask: str) -> list[dict[str, Any]]:
    """The shipped rows of one subtask in the Hub's schema (``inputs``, ``multiple_choice_*``).

    ``idx`` becomes ``<config>/<idx>``: tracking_shuffled_objects numbers each of its three
    configs from 0.
    """
    text = files("persona_evals.accuracy").joinpath(f"samples/bigbench/{subtask}.jsonl").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        raw = json.loads(line)
        rows.append({
            "idx": f"{raw['config']}/{raw['idx']}",
            "inputs": raw["input"].strip(),
            "multiple_choice_targets": list(raw["target_scores"]),
            "multiple_choice_scores": [int(v) for v in raw["target_scores"].values()],
        })  # fmt: skip
    return rows


def strip_inline_choices(inputs: str) -> str:
    """BIG-Bench ``inputs`` up to its own choice list (lines starting ``choice:``), if any."""
    match = re.search(r"^\s*choice:", inputs, flags=re.MULTILINE)
    return inputs[: match.start()].rstrip() if match else inputs.rstrip()


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# family -> (Hub path, split, config, record -> Sample)
SOURCES: dict[str, tuple[str, str, str | None, Callable[[dict[str, Any]], Sample]]] = {
    "truthfulqa": (TRUTHFULQA_DATASET, "validation", "multiple_choice", truthfulqa_record),
    "gsm8k": (GSM8K_DATASET, "test", "main", gsm8k_record),
    "mmlu_pro": (MMLU_PRO_DATASET, "test", None, mmlu_pro_record),
    "math": (MATH_DATASET, "test", "default", math_record),
}


def check_source(tasks: list[TaskSpec], source: str) -> None:
    """Raise unless every task can be read from `source` (checked before anything loads)."""
    if source not in ITEM_SOURCES:
        raise ValueError(f"source: expected one of {', '.join(ITEM_SOURCES)}, got {source!r}")
    other = [t.id for t in tasks if source == "sample" and t.family not in SAMPLE_FAMILIES]
    if other:
        raise ValueError(
            f"source=sample: only {', '.join(SAMPLE_FAMILIES)} items ship with the package, not "
            f"{', '.join(other)} (use source=hub, or dataset=bigbench or bigbench:<subtask>)"
        )


def load_items(task: TaskSpec, source: str = "hub") -> list[Sample]:
    """All items of one task, in source order, from the pinned Hub revision or the shipped sample."""
    check_source([task], source)
    if source == "sample":
        record = bigbench_record(str(task.subset), prefix="bigbench_sample")
        return [record(r) for r in bigbench_sample_rows(str(task.subset))]
    if task.family == "bigbench":
        files = f"{task.subset}/validation/*.parquet"
        ds = hub_parquet(BIGBENCH_DATASET, "validation", files, instead=OFFLINE_SAMPLE,
                         sample_fields=bigbench_record(str(task.subset)))
    elif task.family in SOURCES:
        path, split, config, record = SOURCES[task.family]
        ds = hub_dataset(path, split, **({"name": config} if config else {}), instead=OFFLINE_BIGBENCH,
                         sample_fields=record)
    else:
        raise ValueError(f"unknown task family {task.family!r}")
    samples = [
        s for s in ds if task.subset is None or (s.metadata or {}).get("subset") == task.subset
    ]
    if task.family == "bigbench":
        samples = samples[:BIGBENCH_MAX_ROWS]
    _check_unique(samples, task)  # never drops an item
    return samples


def _check_unique(samples: list[Sample], task: TaskSpec) -> None:
    """Give repeated items (the same text twice in a source) an ordinal suffix, in source order."""
    seen: dict[str, int] = {}
    for sample in samples:
        base = str(sample.id)
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            sample.id = f"{base}~{seen[base]}"
            (sample.metadata or {})["item_id"] = sample.id


def as_list(value: str | list[str]) -> list[str]:
    """``-T`` values may arrive as a list (``a,b``) or one string; accept both."""
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def build_dataset(
    dataset: str | list[str], personas: str | list[str], items: int | None = None, source: str = "hub"
) -> MemoryDataset:
    """Samples for every selected task, item (first `items` per task) and persona, item-major.

    Every task, persona selection and the source are checked before the first item loads.
    """
    if items is not None and int(items) < 1:
        raise ValueError(f"items must be a positive number of items per task, got {items!r}")
    tasks = resolve_tasks(as_list(dataset))
    check_source(tasks, source)
    chosen = {task.id: select_personas(task, as_list(personas)) for task in tasks}
    samples: list[Sample] = []
    for task in tasks:
        for item in load_items(task, source)[: int(items) if items else None]:
            for persona in chosen[task.id]:
                metadata = {
                    **(item.metadata or {}),
                    "task": task.id,
                    "family": task.family,
                    "answer_type": task.answer_type,
                    "persona_id": persona.id,
                    "persona_group": persona.group,
                    "persona_rank": persona.rank,
                    "persona_sentence": persona.sentence,
                }
                samples.append(
                    Sample(
                        id=f"{item.id}#{persona.id}",
                        input=item.input,
                        target=item.target,
                        choices=item.choices,
                        metadata=metadata,
                    )
                )
    name = "persona_accuracy:" + ",".join(t.id for t in tasks)
    return MemoryDataset(samples, name=name)
