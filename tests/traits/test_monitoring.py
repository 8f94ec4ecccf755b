"""The monitoring experiment: graded and many-shot samples, their bad input, and `viz monitoring`
(Pearson r of the logged last-prompt-token projections with the logged trait scores)."""

import csv
import json
import math
import zlib

import pytest
import torch
from inspect_ai import eval
from inspect_ai.model import get_model

from persona_evals.errors import ArgumentError
from persona_evals.cli import main
from persona_evals.steering.vectors import save_vectors
from persona_evals.testing import scripted_model, scripted_output
from persona_evals.traits.dataset import load_trait, trait_names
from persona_evals.traits.monitoring import GRADED_LEVELS, load_graded, parse_shots
from persona_evals.traits.task import trait_expression


def varied_grader(seed: int = 0):
    """A judge whose trait score varies with the answer (crc32 of its text), coherence 80."""

    def reply(messages, config):
        text = messages[-1].text
        if "coheren" in text.lower():
            value = 80
        else:
            answer = text.rpartition("[ANSWER START]")[2] if "[ANSWER START]" in text else text
            value = 5 + (zlib.crc32(f"{seed}{answer}".encode()) % 90)
        return scripted_output(str(value), top_logprobs={str(value): -0.01, "REFUSAL": -6.0})

    return scripted_model(reply)


@pytest.mark.parametrize("trait", trait_names())
def test_every_shipped_trait_has_eight_graded_prompts(trait):
    prompts = load_graded(trait)
    assert len(prompts) == GRADED_LEVELS == len(set(prompts))


def test_graded_samples_cover_every_question_and_level():
    task = trait_expression(trait="evil", monitoring="graded", samples_per_question=2)
    questions = load_trait("evil", "eval").questions
    assert len(task.dataset) == len(questions) * GRADED_LEVELS * 2
    graded = load_graded("evil")
    first = {s.id: s for s in task.dataset}
    low, high = first["evil_0_graded0_1"], first["evil_0_graded7_0"]
    # the system prompt is shown by the task's solver (a system message, or the user turn's start
    # for a template without a system role), as for trait_samples
    assert [m.role for m in low.input] == ["user"] and high.input[-1].text == questions[0]
    assert low.metadata["system_prompt"] == graded[0] and high.metadata["system_prompt"] == graded[7]
    assert (low.metadata["monitoring"], low.metadata["monitoring_level"]) == ("graded", 0)


def test_many_shot_examples_come_from_a_log_best_scored_first(tiny_llama, tmp_path):
    [pos] = eval(
        trait_expression(trait="evil", version="extract", instruction="pos"),
        model=get_model(f"steer/{tiny_llama}", memoize=False),
        model_roles={"grader": varied_grader()},
        limit=6, max_tokens=6, display="none", log_dir=str(tmp_path),
    )
    assert pos.status == "success"
    ranked = sorted(pos.samples, key=lambda s: -s.scores["trait_score"].value["trait"])
    task = trait_expression(trait="evil", monitoring="many_shot", shots=[0, 2, 5], shots_log=pos.location)
    by_id = {s.id: s for s in task.dataset}
    assert len(task.dataset) == 20 * 3
    assert [m.role for m in by_id["evil_0_shots0_0"].input] == ["user"]
    five = by_id["evil_3_shots5_0"].input
    assert [m.role for m in five] == ["user", "assistant"] * 5 + ["user"]
    assert [m.text for m in five[1:10:2]] == [s.output.completion for s in ranked[:5]]
    assert five[0].text == ranked[0].input[-1].text
    with pytest.raises(ArgumentError, match="shots_log .* has 6 answers; shots needs 10"):
        trait_expression(trait="evil", monitoring="many_shot", shots=[0, 10], shots_log=pos.location)
    with pytest.raises(ArgumentError, match="is a run of trait 'evil'; the examples must show 'humorous'"):
        trait_expression(trait="humorous", monitoring="many_shot", shots=[0, 2], shots_log=pos.location)
    # examples that answer the measured questions would leak them
    with pytest.raises(ArgumentError, match="answers a question of the split being measured"):
        trait_expression(trait="evil", version="extract", monitoring="many_shot", shots=[2], shots_log=pos.location)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(monitoring="many_shot", shots=[0, 5, 5]), "shots must increase strictly"),
        (dict(monitoring="many_shot", shots=[10, 5]), "shots must increase strictly"),
        (dict(monitoring="many_shot", shots=[-5, 0]), "shots must be whole numbers >= 0"),
        (dict(monitoring="many_shot", shots=[0, 5]), "monitoring=many_shot needs -T shots_log="),
        (dict(monitoring="graded", shots=[0]), "shots and shots_log belong to monitoring=many_shot"),
        (dict(shots=[5]), "shots belongs to the monitoring experiment"),
        (dict(monitoring="graded", instruction="pos"), "leave instruction"),
        (dict(monitoring="sideways"), "monitoring must be graded or many_shot"),
        (dict(monitoring="graded", graded_prompts="missing.json"), "graded_prompts: missing.json is not a file"),
    ],
)
def test_bad_monitoring_arguments(args, message):
    with pytest.raises(ArgumentError, match=message):
        trait_expression(trait="evil", **args)


def test_parse_shots_accepts_text_and_lists():
    assert parse_shots("0,5,10") == parse_shots([0, 5, 10]) == [0, 5, 10]
    assert parse_shots(0) == [0]
    with pytest.raises(ValueError, match="whole numbers"):
        parse_shots("1.5")


def test_a_custom_trait_needs_its_own_graded_file(tmp_path):
    artifact = tmp_path / "stubborn_eval.json"
    artifact.write_text(json.dumps(load_trait("evil", "eval").model_dump()))
    with pytest.raises(ArgumentError, match="no graded prompts ship for trait 'stubborn'"):
        trait_expression(trait=str(artifact), monitoring="graded")
    graded = tmp_path / "graded.json"
    graded.write_text(json.dumps({"graded": ["a", "b"]}))
    with pytest.raises(ArgumentError, match="must hold 8 non-blank prompts"):
        trait_expression(trait=str(artifact), monitoring="graded", graded_prompts=str(graded))
    graded.write_text(json.dumps({"graded": [f"level {k}" for k in range(8)]}))
    task = trait_expression(trait=str(artifact), monitoring="graded", graded_prompts=str(graded))
    assert task.dataset[7].metadata["system_prompt"] == "level 7"


def test_viz_monitoring_r_equals_scipy_on_the_logged_values(tiny_llama, tmp_path, capsys):
    from scipy.stats import pearsonr

    torch.manual_seed(0)
    vec = str(save_vectors(tmp_path / "evil.safetensors", {"response_avg": torch.randn(5, 64)}))
    [log] = eval(
        trait_expression(trait="evil", monitoring="graded"),
        model=get_model(f"steer/{tiny_llama}", memoize=False, monitor=vec, monitor_layer=2, dtype="float32"),
        model_roles={"grader": varied_grader(1)},
        limit=24, max_tokens=6, display="none", log_dir=str(tmp_path / "logs"),
    )
    assert log.status == "success"
    proj = [s.scores["projection"].value["prompt_last_proj"] for s in log.samples]
    score = [s.scores["trait_score"].value["trait"] for s in log.samples]
    assert len({round(p, 6) for p in proj}) > 3 and all(math.isfinite(v) for v in proj + score)
    graded = load_graded("evil")
    for s in log.samples:  # the model saw the level's system prompt
        assert s.messages[0].role == "system" and s.messages[0].text == graded[s.metadata["monitoring_level"]]
    expected = pearsonr(proj, score)
    out = tmp_path / "mon.png"
    assert main(["viz", "monitoring", log.location, "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    [row] = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert (row["trait"], row["monitoring"], int(row["n"])) == ("evil", "graded", 24)
    assert float(row["r"]) == pytest.approx(expected.statistic)
    assert float(row["p_value"]) == pytest.approx(expected.pvalue)
    ci = expected.confidence_interval(0.95)
    assert (float(row["ci_low"]), float(row["ci_high"])) == (pytest.approx(ci.low), pytest.approx(ci.high))
    samples = list(csv.DictReader(out.with_suffix(".samples.csv").open()))
    assert sorted(int(r["level"]) for r in samples) == sorted(s.metadata["monitoring_level"] for s in log.samples)
    assert "Pearson r = " in capsys.readouterr().out
    # a run without a monitor, and a plain (non-monitoring) run, are refused with the fix
    [blind] = eval(trait_expression(trait="evil", monitoring="graded"), model=get_model(f"steer/{tiny_llama}", memoize=False),
                   model_roles={"grader": varied_grader()}, limit=2, max_tokens=4, display="none", log_dir=str(tmp_path / "b"))
    assert main(["viz", "monitoring", blind.location, "--out", str(tmp_path / "b.png")]) == 2
    assert "samples without a monitor reading; run with" in capsys.readouterr().err
    [plain] = eval(trait_expression(trait="evil"), model=get_model(f"steer/{tiny_llama}", memoize=False),
                   model_roles={"grader": varied_grader()}, limit=2, max_tokens=4, display="none", log_dir=str(tmp_path / "p"))
    assert main(["viz", "monitoring", plain.location, "--out", str(tmp_path / "p.png")]) == 2
    assert "is not a monitoring run" in capsys.readouterr().err
