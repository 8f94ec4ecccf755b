"""`persona-evals traits draft`: an LLM drafts a trait, validated against the schema and logged."""

import json

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

from persona_evals.cli import main
from persona_evals.traits import pipeline
from persona_evals.logs import is_task
from persona_evals.testing import scripted_model
from persona_evals.traits.dataset import load_trait

RUBRIC = "Stubbornness: refusing to change one's mind.\n[Q]\n{question}\n[/Q]\n[A]\n{answer}\n[/A]\nREFUSAL or 0-100, number only."


def draft_json(questions=40, rubric=RUBRIC):
    return json.dumps(
        {
            "instruction": [{"pos": f"Never budge {i}.", "neg": f"Stay open-minded {i}."} for i in range(5)],
            "questions": [f"Question number {i}?" for i in range(questions)],
            "eval_prompt": rubric,
        }
    )


def test_draft_reasks_until_valid_and_splits_20_20(tmp_path):
    replies = iter([draft_json(rubric="no slots here"), draft_json(questions=39), draft_json()])
    seen = []

    def reply(messages, config):
        seen.append(messages[-1].text)
        return next(replies)

    extract, evaluate = pipeline.draft_trait_artifacts(
        "stubborn", "Refuses to change its mind.", scripted_model(reply), log_dir=tmp_path
    )
    assert extract.questions == [f"Question number {i}?" for i in range(20)]
    assert evaluate.questions == [f"Question number {i}?" for i in range(20, 40)]
    assert extract.instruction == evaluate.instruction and len(extract.instruction) == 5
    assert len(seen) == 3
    assert "stubborn" in seen[0] and "Refuses to change its mind." in seen[0]
    # the re-ask carries the schema error of the previous reply
    assert "at least 40 items" in seen[2]
    # the calls are an inspect eval, logged
    log = read_eval_log(list_eval_logs(str(tmp_path))[0].name)
    assert is_task(log.eval.task, "trait_draft") and log.status == "success"


def test_draft_gives_up_with_the_failing_field(tmp_path):
    with pytest.raises(RuntimeError, match="eval_prompt"):
        pipeline.draft_trait_artifacts(
            "stubborn", "x", scripted_model(lambda m, c: draft_json(rubric="{question} only")),
            log_dir=tmp_path, max_retries=1,
        )


def test_cli_writes_both_splits_that_load_back(tmp_path, monkeypatch, capsys):
    real = pipeline.draft_trait_artifacts
    models = []

    def fake(name, description, model, **kwargs):
        models.append(model)
        return real(name, description, scripted_model(lambda m, c: draft_json()), **kwargs)

    monkeypatch.setattr(pipeline, "draft_trait_artifacts", fake)
    out = tmp_path / "traits"
    argv = ["traits", "draft", "stubborn", "--description", "Refuses to change its mind.",
            "--model", "mockllm/model", "--out-dir", str(out), "--log-dir", str(tmp_path / "logs")]
    assert main(argv) == 0
    assert [str(m) for m in models] == ["mockllm/model"]  # resolved before the draft runs
    assert load_trait(str(out / "stubborn_extract.json"), "extract").questions[0] == "Question number 0?"
    assert load_trait(str(out / "stubborn_eval.json"), "eval").questions[0] == "Question number 20?"
    # refusing to overwrite without --overwrite
    assert main(argv) == 2
    assert "already exist" in capsys.readouterr().err


def test_cli_rejects_a_bad_name(tmp_path, capsys):
    argv = ["traits", "draft", "Bad Name", "--description", "x", "--model", "m/x", "--out-dir", str(tmp_path)]
    assert main(argv) == 2
    assert "NAME 'Bad Name'" in capsys.readouterr().err


def test_cli_lists_the_shipped_traits(capsys):
    assert main(["traits", "list"]) == 0
    out = capsys.readouterr().out
    assert "evil" in out and "5 pairs, 20 extract + 20 eval questions" in out
