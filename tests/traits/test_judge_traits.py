"""trait_expression with ``-T judge_traits=[...]``: several traits judged on every answer, one
score each, read by the multi-persona plots."""

from __future__ import annotations

import csv
import math
import re

import pytest
import torch
from inspect_ai import eval

from persona_evals.cli import main
from persona_evals.scorers.metrics import metric_value
from persona_evals.steering.vectors import save_vectors
from persona_evals.testing import scripted_model, scripted_output
from persona_evals.traits.task import trait_expression


def grader(values, coherence=90.0, calls=None):
    """A judge scoring each trait's rubric from `values` (trait -> score), other prompts `coherence`."""

    def reply(messages, config):
        text = messages[-1].text
        if calls is not None:
            calls.append(text)
        found = re.search(r"a single character trait: (\w+)", text)
        value = values[found.group(1)] if found else coherence
        # two integer tokens around the value, equally likely: the weighted mean is the value
        return scripted_output("x", top_logprobs={str(int(value) - 1): math.log(0.5), str(int(value) + 1): math.log(0.5)})

    return scripted_model(reply)


def run(log_dir, values, steering=None, **task_args):
    task = trait_expression(trait="evil", instruction="none", **task_args)
    [log] = eval(task, model=scripted_model(lambda m, c: "an answer", **(steering or {})),
                 model_roles={"grader": grader(values)}, limit=2, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    return log


def test_each_judged_trait_has_its_own_score_and_rubric(tmp_path):
    calls = []
    task = trait_expression(trait="evil", instruction="none", judge_traits=["humorous", "optimistic", "evil", "humorous"])
    [log] = eval(task, model=scripted_model(lambda m, c: "an answer"), limit=2, display="none", log_dir=str(tmp_path),
                 model_roles={"grader": grader({"evil": 11, "humorous": 42, "optimistic": 73}, calls=calls)})
    assert log.status == "success", log.error
    metrics = {s.name: {k: m.value for k, m in s.metrics.items()} for s in log.results.scores}
    assert metrics["trait"]["mean"] == pytest.approx(11)
    assert metrics["humorous"]["mean"] == pytest.approx(42)
    assert metrics["optimistic"]["mean"] == pytest.approx(73)
    assert metrics["coherence"]["mean"] == pytest.approx(90)
    assert metric_value(metrics["humorous_unscored"], "count") == 0
    # per answer: trait, coherence, humorous, optimistic (the own trait and a repeat judged once)
    assert len(calls) == 2 * 4
    judged = [re.search(r"a single character trait: (\w+)", c).group(1) for c in calls if "character trait" in c]
    assert sorted(judged) == sorted(["evil", "humorous", "optimistic"] * 2)
    assert all("an answer" in c for c in calls)
    assert {"trait_score", "coherence_score", "humorous_score", "optimistic_score"} <= set(log.samples[0].scores)


def test_judge_traits_as_a_string_and_bad_values():
    task = trait_expression(trait="evil", judge_traits="humorous,optimistic")
    assert len(task.scorer) == 5  # trait, coherence, humorous, optimistic, projection
    with pytest.raises(ValueError, match="judge_traits: unknown trait 'nope'"):
        trait_expression(trait="evil", judge_traits=["nope"])
    with pytest.raises(ValueError, match="judge_traits: a trait may not be named 'coherence'"):
        trait_expression(trait="evil", judge_traits=["coherence"])


def test_cross_trait_plots_read_the_judged_traits(tmp_path, capsys):
    """Steer with each trait's vector; a sweep's coef-0 cell is the baseline; cosine vs relative change."""
    e1, e2 = torch.eye(8)[0], torch.eye(8)[1]
    vectors = {t: str(save_vectors(tmp_path / f"{t}.safetensors", {"vector": v.repeat(5, 1)}))
               for t, v in {"evil": e1, "humorous": e1 + e2}.items()}
    logs = tmp_path / "cross"
    cells = [("evil", 0.0, {"evil": 10, "humorous": 20}), ("evil", 1.0, {"evil": 30, "humorous": 30}),
             ("humorous", 1.0, {"evil": 15, "humorous": 40})]
    for trait, coef, values in cells:
        run(logs, values, {"vector": vectors[trait], "layer": 2, "coef": coef}, judge_traits=["humorous"])
    out = tmp_path / "cos.png"
    args = ["viz", "cosine-trait-change", str(logs), "--out", str(out)]
    assert main(args + [x for t, p in vectors.items() for x in ("--vector", f"{t}={p}")]) == 0
    with out.with_suffix(".csv").open() as handle:
        rows = {(r["steered"], r["trait"]): r for r in csv.DictReader(handle)}
    assert float(rows[("evil", "humorous")]["relative_change"]) == pytest.approx(10 / 20)
    assert float(rows[("humorous", "evil")]["relative_change"]) == pytest.approx(5 / 20)
    assert float(rows[("evil", "humorous")]["cosine"]) == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    effect = tmp_path / "effect.png"
    assert main(["viz", "steering-effect", str(logs), "--metric", "humorous", "--out", str(effect)]) == 0
    assert "2 line(s): evil@L2, humorous@L2" in capsys.readouterr().out
