"""End to end: the persona_accuracy task on fixture rows of every dataset kind and mitigation,
then `persona-evals metrics` over the logs."""

import json
from pathlib import Path

import pytest
from accuracy_support import GOLD, knows, oracle, use_fixture_hub
from inspect_ai import eval
from inspect_ai.model import ChatMessageSystem

from persona_evals.accuracy import task as task_module
from persona_evals.testing import scripted_model

persona_accuracy = task_module.persona_accuracy

# every static group, with two of the twelve names to keep the suite fast
STATIC = [
    "empty",
    "education",
    "name:Kai",
    "name:Yumi",
    "colors",
    "in_domain",
    "related",
    "out_of_domain",
]
KINDS = ["truthfulqa", "gsm8k", "mmlu_pro:biology", "math:prealgebra", "bigbench:strategyqa"]


def run(log_dir, model=None, **task_args):
    [log] = eval(
        persona_accuracy(**task_args),
        model=model or scripted_model(oracle),
        display="none",
        log_dir=str(log_dir),
    )
    assert log.status == "success", log.error
    return log


def first(log, persona):
    return next(s for s in log.samples if s.metadata["persona_id"] == persona)


def question_of(sample) -> str:
    return next(q for q in GOLD if q.strip() in sample.input)


def check_accuracy_follows_the_oracle(log):
    """Every per-persona accuracy in the log equals what the oracle's rule predicts."""
    expected: dict[str, list[bool]] = {}
    for sample in log.samples:
        sentence = sample.metadata["persona_sentence"] or ""
        expected.setdefault(sample.metadata["persona_id"], []).append(
            knows(sentence, question_of(sample))
        )
        assert (sample.scores["persona_answer"].value == "C") == expected[
            sample.metadata["persona_id"]
        ][-1]
    metrics = log.results.scores[0].metrics
    for persona, hits in expected.items():
        assert metrics[persona].value == pytest.approx(sum(hits) / len(hits)), persona
    return expected


@pytest.fixture(scope="module")
def base_logs(tmp_path_factory):
    """One run over every dataset kind (a list of tasks in one eval keeps the suite fast)."""
    log_dir = tmp_path_factory.mktemp("logs")
    with pytest.MonkeyPatch.context() as mp:
        use_fixture_hub(mp)
        log = run(log_dir, dataset=KINDS, personas=STATIC)
    return log_dir, log


def test_all_kinds_in_one_run_score_by_the_oracle(base_logs):
    log = base_logs[1]
    check_accuracy_follows_the_oracle(log)
    assert {s.metadata["task"] for s in log.samples} == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_dataset_kind_runs_and_scores_by_persona(base_logs, kind):
    samples = [s for s in base_logs[1].samples if s.metadata["task"] == kind]
    expected: dict[str, list[bool]] = {}
    for sample in samples:
        right = knows(sample.metadata["persona_sentence"] or "", question_of(sample))
        expected.setdefault(sample.metadata["persona_id"], []).append(right)
        assert (sample.scores["persona_answer"].value == "C") == right
        assert right == (sample.scores["persona_answer"].answer == sample.target)
    in_domain = next(k for k in expected if k.startswith("in_domain:"))
    assert all(expected[in_domain]) and not any(expected["color:red"])
    sample = next(s for s in samples if s.metadata["persona_id"] == "name:Yumi")
    assert isinstance(sample.messages[0], ChatMessageSystem)  # the persona is the system message
    assert sample.messages[0].text == "You are Yumi."
    assert "extracted" in sample.scores["persona_answer"].explanation


def test_instruction_mitigation_adds_the_constraints(tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    log = run(tmp_path, dataset="gsm8k", personas=["empty", "colors"], mitigation="instruction")
    check_accuracy_follows_the_oracle(log)
    empty, red = first(log, "empty"), first(log, "color:red")
    assert not any(isinstance(m, ChatMessageSystem) for m in empty.messages)  # baseline untouched
    assert red.messages[0].text.startswith("Your favourite colour is red.\nWhile answering")


def test_refine_generates_each_baseline_once_and_refines_it(tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    calls = []

    def counting(messages, config):
        calls.append(len(messages))
        return oracle(messages, config)

    log = run(
        tmp_path,
        model=scripted_model(counting),
        dataset="truthfulqa",
        personas=["empty", "colors", "in_domain"],
        mitigation="refine",
    )
    check_accuracy_follows_the_oracle(log)
    n_items, n_personas = 3, 8
    assert calls.count(1) == n_items  # one no-persona answer per item, shared by its personas
    assert calls.count(3) == n_items * (n_personas - 1)
    refined = next(s for s in log.samples if s.metadata["persona_id"] == "color:blue")
    roles = [m.role for m in refined.messages]
    assert roles[:3] == ["user", "assistant", "user"] and "system" not in roles
    assert "Persona: Your favourite colour is blue." in refined.messages[2].text
    assert "Keep the answer format" in refined.messages[2].text  # refine = refine + instruction


def test_refine_basic_reuses_a_baseline_log_by_item_id(tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    base = run(tmp_path / "base", dataset="mmlu_pro:biology", personas=["empty"])
    answers = {s.metadata["item_id"]: s.output.completion for s in base.samples}
    calls = []

    def counting(messages, config):
        calls.append(len(messages))
        return oracle(messages, config)

    log = run(
        tmp_path / "refine",
        model=scripted_model(counting),
        dataset="mmlu_pro:biology",
        personas=["empty", "names"],
        mitigation="refine_basic",
        baseline_log=base.location,
    )
    assert 1 not in calls  # nothing regenerated
    for sample in log.samples:
        assert sample.messages[1].text == answers[sample.metadata["item_id"]]
        if sample.metadata["persona_id"] != "empty":
            assert "While answering" not in sample.messages[2].text
    check_accuracy_follows_the_oracle(log)


def test_refine_without_a_baseline_answer_names_the_item(tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    base = run(tmp_path, dataset="mmlu_pro:biology", personas=["empty"], items=1)
    with pytest.raises(ValueError, match="no no-persona answer for item.*mmlu_pro/71"):
        persona_accuracy(
            dataset="mmlu_pro:biology",
            personas="names",
            mitigation="refine",
            baseline_log=base.location,
        )


def test_refine_refuses_an_unfinished_baseline_log(tmp_path, monkeypatch):
    """The rule of every log reader: an interrupted baseline run's answers are not reused as a whole run's."""
    from inspect_ai.log import write_eval_log

    use_fixture_hub(monkeypatch)
    base = run(tmp_path, dataset="mmlu_pro:biology", personas=["empty"])
    base.status = "started"  # as an interrupted eval leaves it
    write_eval_log(base, base.location)
    with pytest.raises(ValueError, match=r"baseline_log: .* did not complete \(status started\)"):
        persona_accuracy(dataset="mmlu_pro:biology", personas="names", mitigation="refine", baseline_log=base.location)


def test_user_and_auto_placement(tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    log = run(
        tmp_path,
        dataset="bigbench:logic_grid_puzzle",
        personas=["colors"],
        persona_placement="user",
    )
    sample = first(log, "color:red")
    assert [m.role for m in sample.messages[:1]] == ["user"]
    assert sample.messages[0].text.startswith("Your favourite colour is red.\n\n")
    check_accuracy_follows_the_oracle(log)
    gemma = scripted_model(oracle, name="mockllm/gemma-2-9b-it")
    log = run(
        tmp_path,
        model=gemma,
        dataset="bigbench:logic_grid_puzzle",
        personas=["colors"],
        persona_placement="auto",
    )
    assert log.samples[0].store["persona_placement"] == "user"
    log = run(
        tmp_path,
        dataset="bigbench:logic_grid_puzzle",
        personas=["colors"],
        persona_placement="auto",
    )
    assert log.samples[0].store["persona_placement"] == "system"


QWEN_LIKE_TEMPLATE = (  # like Qwen2.5's: a default system prompt when the conversation has none
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.<|im_end|>\n{% endif %}"
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.mark.parametrize("placement", ["system", "user"])
def test_neutral_baseline_gives_the_empty_persona_a_neutral_system_prompt(tmp_path, monkeypatch, placement):
    from persona_evals.accuracy.prompts import NEUTRAL_SYSTEM_PROMPT
    from persona_evals.steering.chat import render_prompt
    from persona_evals.testing.tiny_models import build_tokenizer

    use_fixture_hub(monkeypatch)
    plain = run(tmp_path / "none", dataset="gsm8k", personas=["empty", "colors"], persona_placement=placement)
    neutral = run(
        tmp_path / "neutral", dataset="gsm8k", personas=["empty", "colors"],
        persona_placement=placement, baseline_system="neutral",
    )
    check_accuracy_follows_the_oracle(neutral)
    assert neutral.eval.task_args["baseline_system"] == "neutral"
    if placement == "system":
        assert [m.role for m in first(neutral, "empty").messages][:2] == ["system", "user"]
        assert first(neutral, "empty").messages[0].text == NEUTRAL_SYSTEM_PROMPT
    else:
        assert first(neutral, "empty").messages[0].text.startswith(NEUTRAL_SYSTEM_PROMPT + "\n\n")
    assert first(plain, "empty").messages[0].role == "user"  # the paper's baseline: no persona text
    def texts(sample):
        return [(m.role, m.text) for m in sample.messages]

    assert texts(first(neutral, "color:red")) == texts(first(plain, "color:red"))  # personas untouched
    # why: a template that injects its own system prompt when there is none treats the bare
    # baseline differently from every persona, unless the baseline has a system prompt too
    tok = build_tokenizer()
    tok.chat_template = QWEN_LIKE_TEMPLATE
    if placement == "system":
        assert "You are Qwen" in render_prompt(tok, first(plain, "empty").messages)
        assert "You are Qwen" not in render_prompt(tok, first(neutral, "empty").messages)
        assert "You are Qwen" not in render_prompt(tok, first(neutral, "color:red").messages)
    with pytest.raises(ValueError, match="baseline_system must be one of none, neutral"):
        persona_accuracy(dataset="gsm8k", baseline_system="blank")
    with pytest.raises(ValueError, match="mitigation=refine has no system prompt"):
        persona_accuracy(dataset="gsm8k", baseline_system="neutral", mitigation="refine")


def test_dynamic_experts_are_written_once_and_cached_by_item_id(tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    cache = tmp_path / "experts.json"
    levels = {
        "level1": "You are a scientist",
        "level2": "You are a biologist",
        "level3": "You are a specialist in this very question",
    }
    writer = scripted_model([json.dumps(levels)] * 3)
    [log] = eval(
        persona_accuracy(
            dataset="mmlu_pro:biology", personas=["empty", "dynamic"], experts_cache=str(cache)
        ),
        model=scripted_model(oracle),
        model_roles={"persona_writer": writer},
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success", log.error
    stored = json.loads(cache.read_text())
    assert sorted(stored) == ["mmlu_pro/70", "mmlu_pro/71", "mmlu_pro/72"]
    level3 = [s for s in log.samples if s.metadata["persona_id"] == "dynamic:level3"]
    assert all(s.messages[0].text == "You are a specialist in this very question." for s in level3)
    check_accuracy_follows_the_oracle(log)
    # a second run reads the cache: a writer with no scripted reply would fail if it were called
    [again] = eval(
        persona_accuracy(dataset="mmlu_pro:biology", personas="dynamic", experts_cache=str(cache)),
        model=scripted_model(oracle),
        model_roles={"persona_writer": scripted_model([])},
        display="none",
        log_dir=str(tmp_path),
    )
    assert again.status == "success", again.error


def test_bad_arguments_name_the_valid_values(monkeypatch):
    use_fixture_hub(monkeypatch)
    with pytest.raises(ValueError, match="none, instruction, refine, refine_basic"):
        persona_accuracy(dataset="gsm8k", mitigation="pray")
    with pytest.raises(ValueError, match="system, user, auto"):
        persona_accuracy(dataset="gsm8k", persona_placement="middle")
    with pytest.raises(ValueError, match="valid groups are"):
        persona_accuracy(dataset="gsm8k", personas="wizards")
    with pytest.raises(ValueError, match="valid subsets are"):
        persona_accuracy(dataset="math:topology")
    with pytest.raises(ValueError, match="only used by the refine"):
        persona_accuracy(dataset="gsm8k", baseline_log="x.eval")


def test_metrics_over_the_logs(base_logs, tmp_path, log_reads):
    import csv

    from scipy.stats import kendalltau

    from persona_evals.cli import main

    log_dir, log = base_logs
    out = tmp_path / "out"
    assert main(["metrics", str(log_dir), "--out-dir", str(out), "--n-boot", "300", "--correction", "bh", "--regression"]) == 0
    assert log_reads == [log.location] * 2  # its header (the model labels of all logs first), then the whole log
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert {r["task"] for r in rows} == set(KINDS)
    for kind in KINDS:
        samples = [s for s in log.samples if s.metadata["task"] == kind]
        acc: dict[str, float] = {}
        for persona in {s.metadata["persona_id"] for s in samples}:
            hits = [
                s.scores["persona_answer"].value == "C"
                for s in samples
                if s.metadata["persona_id"] == persona
            ]
            acc[persona] = sum(hits) / len(hits)
        mine = {r["metric"]: r for r in rows if r["task"] == kind}
        in_domain = next(k for k in acc if k.startswith("in_domain:"))
        assert float(mine["advantage:static"]["value"]) == pytest.approx(
            acc[in_domain] - acc["empty"]
        )
        assert float(mine["robustness:colors"]["value"]) == pytest.approx(
            acc["color:red"] - acc["empty"]
        )
        assert mine["robustness:names"]["persona"] == "name:Kai"
        levels = [
            "uneducated",
            "primary_school",
            "middle_school",
            "high_school",
            "college",
            "graduate",
        ]
        education = [acc[f"education:{level}"] for level in levels]
        assert float(mine["fidelity:education"]["tau_point"]) == pytest.approx(
            kendalltau(education, range(6)).statistic
        )
        assert mine["fidelity:education"]["verdict"] in ("Positive", "Negative", "Not significant")
        assert mine["advantage:static"]["p_adjusted"] != ""
        assert {r["correction"] for r in mine.values()} == {"bh"}
    assert "| truthfulqa | advantage:static |" in (out / "metrics.md").read_text()
    assert "Multiple-testing correction: Benjamini-Hochberg" in (out / "metrics.md").read_text()
    # one model, five tasks: five cells, enough for the families whose personas ran (no dynamic
    # experts); the oracle scores the domain experts alike in every task: an exact fit, skipped
    fits = list(csv.DictReader((out / "regression.csv").open()))
    assert {r["family"] for r in fits} == {"category", "education"}
    assert {r["n_groups"] for r in fits} == {str(len(KINDS))}
    text = (out / "regression.md").read_text()
    assert "skipped specialization (mitigation none): needs at least 2 dynamic expert levels" in text
    assert "skipped domain (mitigation none): the domain regression fits the observations exactly" in text
    accuracy = list(csv.DictReader((out / "accuracy.csv").open()))
    assert len(accuracy) == len(
        {(s.metadata["task"], s.metadata["persona_id"]) for s in log.samples}
    )


def test_metrics_refuse_overlapping_or_inconsistent_logs(base_logs, tmp_path, monkeypatch, capsys):
    import shutil

    from persona_evals.cli import main

    log_dir, log = base_logs
    twice = tmp_path / "twice"
    twice.mkdir()
    source = Path(log.location)
    shutil.copy(source, twice / source.name)
    shutil.copy(source, twice / ("copy-" + source.name))
    assert main(["metrics", str(twice), "--out-dir", str(tmp_path / "o1")]) == 2
    assert "both hold persona" in capsys.readouterr().err

    use_fixture_hub(monkeypatch)
    other = run(
        tmp_path / "other",
        model=scripted_model(oracle, name="mockllm/other"),
        dataset="gsm8k",
        personas=["empty"],
        items=1,
    )
    assert main(["metrics", str(source), other.location, "--out-dir", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "task gsm8k was evaluated on different items" in err and "mockllm/other" in err


def test_metrics_refuse_failed_and_multi_epoch_logs(tmp_path, monkeypatch):
    from persona_evals.accuracy.results import LogMixError, collect_hits

    use_fixture_hub(monkeypatch)
    [failed] = eval(
        persona_accuracy(dataset="gsm8k", personas="empty", items=1),
        model=scripted_model([]),
        display="none",
        log_dir=str(tmp_path),
    )
    assert failed.status == "error"
    with pytest.raises(LogMixError, match="did not complete"):
        collect_hits([failed.location])
    [twice] = eval(
        persona_accuracy(dataset="gsm8k", personas="empty", items=1),
        model=scripted_model(oracle),
        epochs=2,
        display="none",
        log_dir=str(tmp_path),
    )
    with pytest.raises(LogMixError, match="several epochs"):
        collect_hits([twice.location])


def test_auto_placement_reads_a_local_models_chat_template(tmp_path, monkeypatch, tiny_llama, tiny_no_system):
    """`auto` asks the template itself when the model is local: no system role -> user turn."""
    from inspect_ai.model import get_model

    use_fixture_hub(monkeypatch)
    for model_dir, want in ((tiny_no_system, "user"), (tiny_llama, "system")):
        log = run(
            tmp_path / want,
            model=get_model(f"steer/{model_dir}", memoize=False),
            dataset="bigbench:logic_grid_puzzle",
            personas=["colors"],
            persona_placement="auto",
            items=1,
        )
        assert {s.store["persona_placement"] for s in log.samples} == {want}
        sample = first(log, "color:red")
        roles = [m.role for m in sample.messages]
        assert ("system" in roles) == (want == "system")
