import pytest
from accuracy_support import rows, use_fixture_hub

from persona_evals.accuracy import dataset
from persona_evals.accuracy.benchmarks import TASKS, resolve_tasks
from persona_evals.accuracy.dataset import build_dataset
from persona_evals.accuracy.catalog import GROUPS, expert_fields, select_personas, task_personas
from persona_evals.datasets.revisions import PINNED


def test_there_are_27_tasks_and_families_expand():
    assert len(TASKS) == 27
    assert len(resolve_tasks("mmlu_pro")) == 14
    assert len(resolve_tasks("math")) == 7
    assert len(resolve_tasks("bigbench")) == 4
    assert [t.id for t in resolve_tasks(["gsm8k", "math:Counting & Probability"])] == [
        "gsm8k",
        "math:counting_and_probability",
    ]
    assert resolve_tasks("mmlu_pro:computer science")[0].subset == "computer science"


def test_unknown_dataset_or_subset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="truthfulqa, gsm8k, mmlu_pro, math, bigbench"):
        resolve_tasks("squad")
    with pytest.raises(ValueError, match="biology, business"):
        resolve_tasks("mmlu_pro:astrology")
    with pytest.raises(ValueError, match="no subsets"):
        resolve_tasks("gsm8k:main")


def test_truthfulqa_shuffle_is_seeded_by_item_id_not_position():
    records = rows("truthfulqa")
    first = [dataset.truthfulqa_record(r) for r in records]
    again = [dataset.truthfulqa_record(r) for r in reversed(records)][::-1]
    assert [(s.id, s.choices, s.target) for s in first] == [
        (s.id, s.choices, s.target) for s in again
    ]
    for record, sample in zip(records, first, strict=True):
        gold = record["mc1_targets"]["choices"][0]
        assert sample.choices[ord(sample.target) - ord("A")] == gold
        assert f"({sample.target}) {gold}" in sample.input
    # the gold is not always left first
    assert any(s.target != "A" for s in first)


def test_mmlu_pro_strips_na_padding_and_keeps_order():
    record = rows("mmlu_pro")[1]
    sample = dataset.mmlu_pro_record(record)
    assert sample.id == "mmlu_pro/71"
    assert sample.choices == ["mRNA", "DNA", "tRNA", "rRNA", "ATP", "NADH"]
    assert sample.target == "C" and sample.metadata["n_options"] == 6
    assert sample.metadata["subset"] == "biology"


def test_gsm8k_and_math_targets():
    gsm = dataset.gsm8k_record(rows("gsm8k")[1])
    assert gsm.target == "1245" and gsm.input.endswith(rows("gsm8k")[1]["question"])
    assert gsm.id.startswith("gsm8k/") and len(gsm.id) == len("gsm8k/") + 8
    math = dataset.math_record(rows("math")[0])
    assert math.target == r"\frac{1}{2}" and "\\boxed{}" in math.input
    with pytest.raises(ValueError, match="boxed"):
        dataset.math_record({**rows("math")[0], "solution": "no box"})


def test_bigbench_cuts_inline_choices_and_shuffles():
    record = rows("bigbench")["strategyqa"][0]
    sample = dataset.bigbench_record("strategyqa")(record)
    assert sample.id == "bigbench/strategyqa/0"
    assert "choice:" not in sample.input and sample.input.startswith("Q: Could a goldfish")
    assert sample.choices[ord(sample.target) - ord("A")] == "No"


def test_bigbench_keeps_at_most_26_options_including_the_gold():
    record = {
        "idx": 9,
        "inputs": "Pick the animal.",
        "multiple_choice_targets": [f"thing {i}" for i in range(40)],
        "multiple_choice_scores": [0] * 33 + [1] + [0] * 6,
    }
    sample = dataset.bigbench_record("logic_grid_puzzle")(record)
    assert len(sample.choices) == 26
    assert sample.choices[ord(sample.target) - ord("A")] == "thing 33"
    assert dataset.bigbench_record("logic_grid_puzzle")(record).choices == sample.choices  # seeded


def test_loads_use_pinned_revisions(monkeypatch):
    calls = use_fixture_hub(monkeypatch)
    for task in resolve_tasks(
        ["truthfulqa", "gsm8k", "mmlu_pro:biology", "math:prealgebra", "bigbench:strategyqa"]
    ):
        assert dataset.load_items(task)
    revisions = {path: kw.get("revision") for path, kw in calls}
    assert revisions[dataset.MMLU_PRO_DATASET] == PINNED[dataset.MMLU_PRO_DATASET]
    assert revisions[dataset.MATH_DATASET] == PINNED[dataset.MATH_DATASET]
    assert all(len(r) == 40 for p, r in revisions.items() if p != "parquet")
    parquet = next(kw for p, kw in calls if p == "parquet")
    assert (
        "tasksource/bigbench@refs%2Fconvert%2Fparquet/strategyqa/validation"
        in parquet["data_files"]["validation"]
    )


def test_categories_filter_items(monkeypatch):
    use_fixture_hub(monkeypatch)
    bio = dataset.load_items(TASKS["mmlu_pro:biology"])
    assert [s.id for s in bio] == ["mmlu_pro/70", "mmlu_pro/71", "mmlu_pro/72"]
    assert [s.id for s in dataset.load_items(TASKS["math:prealgebra"])] == [
        s.id for s in map(dataset.math_record, rows("math")[:2])
    ]


def test_expert_groups_are_disjoint_for_every_task():
    for task in TASKS.values():
        in_field, related, out = expert_fields(task)
        assert in_field not in related and in_field not in out
        assert not set(related) & set(out), task.id


def test_persona_counts_and_selection():
    groups = task_personas(TASKS["truthfulqa"])
    assert sum(len(v) for v in groups.values()) == 34
    assert [p.id for p in groups["education"]][0] == "education:uneducated"
    assert [p.rank for p in groups["education"]] == list(range(6))
    assert sum(len(v) for v in task_personas(TASKS["bigbench:strategyqa"]).values()) == 36
    chosen = select_personas(TASKS["gsm8k"], ["empty", "colors", "name:Kai"])
    assert [p.id for p in chosen][:2] == ["empty", "color:red"] and chosen[-1].id == "name:Kai"
    with pytest.raises(ValueError, match=", ".join(GROUPS)):
        select_personas(TASKS["gsm8k"], ["emotions"])


def test_dataset_is_item_major_with_persona_metadata(monkeypatch):
    use_fixture_hub(monkeypatch)
    ds = build_dataset("truthfulqa", ["empty", "colors"], items=2)
    assert len(ds) == 2 * 7
    first = ds[0]
    assert first.id.endswith("#empty") and first.metadata["persona_sentence"] is None
    red = ds[1]
    assert red.metadata["persona_sentence"] == "Your favourite colour is red."
    assert (
        red.metadata["item_id"] == first.metadata["item_id"]
        and red.metadata["task"] == "truthfulqa"
    )
    with pytest.raises(ValueError, match="items must be a positive"):
        build_dataset("truthfulqa", "empty", items=0)


def test_every_hub_source_is_pinned_or_listed_as_unpinned():
    from persona_evals.datasets.revisions import UNPINNED, revision_for

    for path in (dataset.TRUTHFULQA_DATASET, dataset.GSM8K_DATASET, dataset.MMLU_PRO_DATASET, dataset.MATH_DATASET, dataset.BIGBENCH_DATASET):
        assert revision_for(path) == PINNED[path]
    assert all(revision_for(path) is None for path in UNPINNED)
    with pytest.raises(ValueError, match="no pinned revision; add it to persona_evals.datasets.revisions"):
        revision_for("someone/unknown")


def test_bigbench_sample_is_real_data_read_offline(monkeypatch):
    """source=sample: the shipped items, each gold letter pointing at the option scored 1."""
    import json
    from importlib.resources import files

    def no_hub(*args, **kwargs):
        raise AssertionError("source=sample must not touch the Hub")

    monkeypatch.setattr("persona_evals.datasets.hub.hf_dataset", no_hub)
    folder = files("persona_evals.accuracy").joinpath("samples/bigbench")
    assert "Apache License" in folder.joinpath("LICENSE.txt").read_text()
    assert "Srivastava" in folder.joinpath("README.md").read_text()
    counts = {}
    for task in resolve_tasks("bigbench"):
        shipped = [json.loads(line) for line in folder.joinpath(f"{task.subset}.jsonl").read_text().splitlines()]
        samples = dataset.load_items(task, source="sample")
        counts[task.subset] = len(samples)
        assert len({s.id for s in samples}) == len(samples) == len(shipped)
        for raw, sample in zip(shipped, samples, strict=True):
            assert sample.id == f"bigbench_sample/{task.subset}/{raw['config']}/{raw['idx']}"
            gold = [option for option, score in raw["target_scores"].items() if score == 1]
            assert sample.choices[ord(sample.target) - ord("A")] == gold[0]
            assert sorted(sample.choices) == sorted(raw["target_scores"])
            assert sample.metadata["question"] == raw["input"].strip()
    assert counts == {
        "logic_grid_puzzle": 200,
        "strategyqa": 200,
        "tracking_shuffled_objects": 198,
        "contextual_parametric_knowledge_conflicts": 200,
    }
    ds = build_dataset("bigbench", ["empty", "colors"], items=2, source="sample")
    assert len(ds) == 4 * 2 * 7 and all(str(s.id).startswith("bigbench_sample/") for s in ds)
