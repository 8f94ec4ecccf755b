"""Shared helpers of the test_accuracy_* tests: fixture rows in each real schema, and an oracle model.

`use_fixture_hub(monkeypatch)` replaces the Hub seam of ``persona_evals.accuracy.dataset`` with the
invented rows in ``tests/fixtures/accuracy``, passed through the real ``record_to_sample``.
`oracle` answers like a model whose accuracy depends on the persona by simple, known rules, so a
test can compute the expected accuracy of every persona independently of the code under test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import ChatMessageSystem

from persona_evals.accuracy import dataset
from persona_evals.accuracy.boxed import last_boxed
from persona_evals.accuracy.extract import parse_gsm8k_target
from persona_evals.datasets import hub

FIXTURES = Path(__file__).parent / "fixtures" / "accuracy"


def rows(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def use_fixture_hub(monkeypatch) -> list[tuple[str, dict]]:
    """Serve fixture rows instead of the Hub; returns the list of (path, kwargs) requested."""
    calls: list[tuple[str, dict]] = []

    def fake_hub(path, split, **kwargs):
        calls.append((path, {"split": split, **kwargs}))
        if path == "parquet":
            subtask = kwargs["data_files"][split].split("/")[-3]
            records = rows("bigbench")[subtask]
        else:
            name = {
                dataset.TRUTHFULQA_DATASET: "truthfulqa",
                dataset.GSM8K_DATASET: "gsm8k",
                dataset.MMLU_PRO_DATASET: "mmlu_pro",
                dataset.MATH_DATASET: "math",
            }[path]
            records = rows(name)
        return MemoryDataset([kwargs["sample_fields"](r) for r in records])

    monkeypatch.setattr(hub, "hf_dataset", fake_hub)
    return calls


def _gold_texts() -> dict[str, str]:
    """question -> gold option text / number / boxed answer, straight from the fixture rows."""
    gold: dict[str, str] = {}
    for r in rows("truthfulqa"):
        gold[r["question"]] = r["mc1_targets"]["choices"][r["mc1_targets"]["labels"].index(1)]
    for r in rows("gsm8k"):
        gold[r["question"]] = str(parse_gsm8k_target(r["answer"]))
    for r in rows("mmlu_pro"):
        gold[r["question"]] = r["options"][r["answer_index"]]
    for r in rows("math"):
        gold[r["problem"]] = last_boxed(r["solution"])
    for subtask in rows("bigbench").values():
        for r in subtask:
            question = dataset.strip_inline_choices(r["inputs"])
            gold[question] = r["multiple_choice_targets"][r["multiple_choice_scores"].index(1)]
    return gold


GOLD = _gold_texts()
HARD = "goldfish"  # items the model gets wrong without a persona (and right as an expert)


def persona_of(messages) -> str:
    """All persona-bearing text: system messages plus a refine request's last turn."""
    text = " ".join(m.text for m in messages if isinstance(m, ChatMessageSystem))
    if len(messages) >= 3 and messages[-1].role == "user":
        text += " " + messages[-1].text
    return text + " " + _first_user(messages).split("\n\n")[0]


def _first_user(messages) -> str:
    return next(m.text for m in messages if m.role == "user")


def knows(persona: str, question: str) -> bool:
    """The oracle's rule: which persona answers which item correctly."""
    if "colour is red" in persona or "You are Kai" in persona or "never went to school" in persona:
        return False
    if "expert in" in persona or "specialist" in persona:
        return True
    return HARD not in question


def oracle(messages, config) -> str:
    task = _first_user(messages)
    question = next(q for q in GOLD if q.strip() in task)
    right = knows(persona_of(messages), question)
    gold = GOLD[question]
    options = dict(re.findall(r"^\(([A-Z])\) (.*)$", task, flags=re.MULTILINE))
    if options:
        gold_letter = next(k for k, v in options.items() if v == gold)
        letter = gold_letter if right else next(k for k in options if k != gold_letter)
        return f"Thinking it over.\nThe answer is ({letter})."
    if "\\boxed{}" in task:
        return f"So the result is $\\boxed{{{gold if right else '0'}}}$."
    number = float(gold) if right else float(gold) + 1
    return f"Working: steps.\n{number:g}"


def expected_accuracy(question_filter, persona_text: str) -> float:
    questions = [q for q in GOLD if question_filter(q)]
    return sum(knows(persona_text, q) for q in questions) / len(questions)
