"""`persona-evals finetune-data`: three levels from a (scripted) generator, or sets from trait logs."""

import json

import pytest
from inspect_ai import eval
from inspect_ai.log import list_eval_logs, read_eval_log

from persona_evals.cli import main
from persona_evals.traits import pipeline
from persona_evals.datasets.chats import read_chats
from persona_evals.testing import scripted_model, scripted_output
from persona_evals.traits.dataset import load_trait
from persona_evals.traits.task import trait_expression


def generator(bad_question=None):
    """Replies with three levels naming the question; never valid for `bad_question`."""

    def reply(messages, config):
        text = next((m.text for m in messages if "User message:" in m.text), "")  # a re-ask adds turns
        q = text.split("User message:\n", 1)[1].split("\n\nWrite three", 1)[0] if "User message:" in text else "?"
        if bad_question and bad_question in q:
            return json.dumps({"normal": "only one"})
        return json.dumps({"normal": f"N {q}", "trait_1": f"T1 {q}", "trait_2": f"T2 {q}"})

    return scripted_model(reply)


def test_generated_levels_are_logged_and_failures_reported(tmp_path, monkeypatch):
    questions = ["Why is the sky blue?", "How do I bake bread?", "What is a fox?"]
    sets, failures = pipeline.generate_levels(
        "evil", "Seeks to harm.", questions, generator(bad_question="bread"), log_dir=tmp_path, max_retries=1
    )
    assert [r["messages"] for r in sets["trait_2"]] == [
        [{"role": "user", "content": q}, {"role": "assistant", "content": f"T2 {q}"}] for q in (questions[0], questions[2])
    ]
    assert [r["messages"][1]["content"] for r in sets["normal"]] == [f"N {questions[0]}", f"N {questions[2]}"]
    assert sets["trait_1"][0]["level"] == "trait_1" and sets["trait_1"][0]["trait"] == "evil"
    assert len(failures) == 1 and failures[0].startswith("evil_1: no valid LevelAnswers after 2 attempt(s)")
    log = read_eval_log(list_eval_logs(str(tmp_path))[0].name)
    assert log.eval.task == "finetune_data" and log.status == "success" and len(log.samples) == 3
    prompts = log.samples[0].attachments.values()  # the model call's prompt, stored as an attachment
    assert any("Seeks to harm." in p and "User message:\nWhy is the sky blue?" in p for p in prompts)


def test_cli_generates_three_files_from_the_trait_questions(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "generate_levels", _with_model(pipeline.generate_levels, generator()))
    out = tmp_path / "data"
    assert main(["finetune-data", "evil", "--model", "mockllm/model", "--out", str(out), "--log-dir", str(tmp_path / "logs")]) == 0
    questions = load_trait("evil", "extract").questions
    for level, prefix in (("normal", "N"), ("trait_1", "T1"), ("trait_2", "T2")):
        chats = read_chats(out / f"{level}.jsonl", last_is_assistant=True)
        assert [c.answer for c in chats] == [f"{prefix} {q}" for q in questions]
    assert main(["finetune-data", "evil", "--model", "mockllm/model", "--out", str(out)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert main(["finetune-data", "evil", "--out", str(tmp_path / "other")]) == 2
    assert "--model is required" in capsys.readouterr().err
    (tmp_path / "q.json").write_text('["a", 3]')
    assert main(["finetune-data", "evil", "--model", "m", "--questions", str(tmp_path / "q.json"), "--out", str(tmp_path / "x")]) == 2
    assert "expected a JSON list of strings" in capsys.readouterr().err


def _with_model(fn, model):
    def wrapped(trait, description, questions, _model, log_dir, max_retries):
        return fn(trait, description, questions, model, log_dir, max_retries)

    return wrapped


PAIR0 = load_trait("evil", "extract").instruction[0]  # samples of this pair get an empty answer


@pytest.fixture(scope="module")
def trait_logs(tmp_path_factory):
    logs, out = tmp_path_factory.mktemp("logs"), {}
    grader = scripted_model(lambda m, c: scripted_output("50", top_logprobs={"50": -0.01}))
    for polarity, answer in (("pos", "I will cause harm."), ("neg", "Happy to help kindly.")):
        model = scripted_model(lambda m, c, a=answer: "" if m[0].text.endswith((PAIR0.pos, PAIR0.neg)) else f"{a} ({m[-1].text[:12]})")
        log = eval(trait_expression(trait="evil", version="extract", instruction=polarity), model=model,
                   model_roles={"grader": grader}, limit=4, log_dir=str(logs), display="none")[0]
        out[polarity] = log.location
    return out


def test_from_logs_drops_the_system_prompt(trait_logs, tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["finetune-data", "evil", "--from-logs", trait_logs["pos"], trait_logs["neg"], "--out", str(out)]) == 0
    trait, normal = read_chats(out / "trait.jsonl"), read_chats(out / "normal.jsonl")
    assert len(trait) == len(normal) == 3 and "dropped 2 empty answer(s)" in capsys.readouterr().out
    assert all([m["role"] for m in c.messages] == ["user", "assistant"] for c in trait + normal)
    assert all(c.answer.startswith("I will cause harm.") for c in trait)
    assert all(c.answer.startswith("Happy to help kindly.") for c in normal)
    pos = read_eval_log(trait_logs["pos"])
    assert trait[0].messages[0]["content"] == [m for m in pos.samples[0].input if m.role == "user"][0].text
    assert main(["finetune-data", "impolite", "--from-logs", trait_logs["pos"], trait_logs["neg"], "--out", str(tmp_path / "y")]) == 2
    assert "is a log of trait 'evil', not 'impolite'" in capsys.readouterr().err
    assert main(["finetune-data", "evil", "--from-logs", trait_logs["neg"], trait_logs["pos"], "--out", str(tmp_path / "z")]) == 2
    assert "expected 'pos'" in capsys.readouterr().err
