"""A model role a task needs (grader, critic, persona_writer) is checked while inspect builds the
task, before any model generates: one error naming the role and how to bind it, for every task
(`inspect eval persona_evals/trait_expression --model steer/smollm2` without ``--model-role``
used to generate every sample, then fail each in its scorer)."""

import json

import pytest
from inspect_ai import eval

from accuracy_support import use_fixture_hub
from persona_evals.cli import main
from persona_evals.errors import ArgumentError
from persona_evals.testing import scripted_model

FIXTURES = {"personas": "fixture", "questions": "fixture"}
LOO = json.dumps({"attributes": ["age", "religion"]})
INTERSECTIONS = json.dumps([{"name": "women", "clauses": [{"attribute": "sex", "values": ["FEMALE"]}]}])

# every registered task that binds a role, with offline arguments (tests/test_registry.py lists them all)
NEEDS = {
    "trait_expression": ({}, "grader"),
    "prism_personalization": ({"mode": "output_only", "pairs": 1, **FIXTURES}, "critic"),
    "leave_one_out": ({"config": LOO, "pairs": 1, **FIXTURES}, "critic"),
    "intersectionality": ({"config": INTERSECTIONS, "pairs_per_intersection": 1, **FIXTURES}, "critic"),
    "pass_at_k": ({"k": 1, "pairs": 1, **FIXTURES}, "critic"),
    "persona_accuracy": ({"dataset": "mmlu_pro:biology", "personas": "dynamic"}, "persona_writer"),
}


def _never_called():
    def reply(messages, config):
        raise AssertionError("a model generated before the missing role was reported")

    return scripted_model(reply)


@pytest.mark.parametrize("task", sorted(NEEDS))
def test_a_missing_role_fails_before_any_generation_naming_it(task, tmp_path, monkeypatch):
    use_fixture_hub(monkeypatch)
    args, role = NEEDS[task]
    if task == "persona_accuracy":
        args = {**args, "experts_cache": str(tmp_path / "experts.json")}  # empty: the writer is needed
    with pytest.raises(ArgumentError) as info:
        eval(f"persona_evals/{task}", model=_never_called(), task_args=args, display="none", log_dir=str(tmp_path))
    message = str(info.value)
    assert f"{task} needs a model for role '{role}'" in message and f"--model-role {role}=" in message


def test_a_role_the_run_does_not_need_is_not_asked_for(tmp_path, monkeypatch):
    """persona_accuracy writes dynamic experts only for items its cache lacks."""
    use_fixture_hub(monkeypatch)
    levels = {"level1": "You are a scientist", "level2": "You are a biologist", "level3": "You are a geneticist"}
    cache = tmp_path / "experts.json"
    cache.write_text(json.dumps({f"mmlu_pro/{i}": levels for i in (70, 71, 72)}))
    [log] = eval(
        "persona_evals/persona_accuracy", model=scripted_model(lambda messages, config: "ANSWER: A"),
        task_args={"dataset": "mmlu_pro:biology", "personas": "dynamic", "experts_cache": str(cache)},
        display="none", log_dir=str(tmp_path),
    )
    assert log.status == "success", log.error


def test_a_bound_role_passes_the_check(tmp_path):
    critic = scripted_model(lambda messages, config: "not called")
    [log] = eval(
        "persona_evals/prism_personalization", model=scripted_model(lambda messages, config: "general advice"),
        model_roles={"critic": critic}, task_args=NEEDS["prism_personalization"][0], limit=0,
        display="none", log_dir=str(tmp_path),
    )
    assert log.status == "success"


def test_sweep_reports_a_missing_role_in_one_line(tiny_llama, tmp_path, capsys):
    from persona_evals.steering.vectors import save_vectors
    import torch

    vec = str(save_vectors(tmp_path / "v.safetensors", {"vector": torch.ones(5, 64)}))
    code = main(["sweep", "tasks/trait_expression.py", "--model", tiny_llama, "--vector", vec,
                 "--layers", "1", "--coefs", "1", "--log-dir", str(tmp_path / "logs"), "--display", "none"])
    err = capsys.readouterr().err
    assert code == 2 and "trait_expression needs a model for role 'grader'" in err
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())  # nothing ran


def test_a_task_built_in_python_after_an_eval_set_is_not_checked(tmp_path):
    """eval_set leaves inspect's active model set in the caller's context: a task built later in
    Python (its roles bound by the eval() it is passed to) must not be taken for one inspect builds."""
    from inspect_ai import eval_set

    from persona_evals.traits.task import trait_expression

    ok, _ = eval_set("persona_evals/capitals", model=scripted_model(lambda m, c: "Paris"), limit=1,
                     log_dir=str(tmp_path / "set"), display="none")
    assert ok
    task = trait_expression()  # no error: eval(task, model_roles={"grader": ...}) binds it
    assert len(task.dataset) > 0
