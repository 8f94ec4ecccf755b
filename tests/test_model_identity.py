"""A model's identity includes its steering: labels and keys, and every analysis keeping a steered
and an unsteered run of one model apart (metrics, plots, refine's baseline check)."""

from __future__ import annotations

import csv

import pytest
from accuracy_support import oracle, use_fixture_hub
from inspect_ai import eval
from inspect_ai.log import write_eval_log

from persona_evals.identity import model_identity, unique_labels
from persona_evals.testing import scripted_model

EVIL = {"vector": "vectors/evil.safetensors", "layer": 3, "coef": 1.5}


def test_label_and_key_follow_the_providers_reading_of_the_args():
    plain = model_identity("steer/smollm2", {"batch_size": 8, "dtype": "float32", "monitor": "m.safetensors", "monitor_layer": 3})
    assert plain.label == "steer/smollm2" and not plain.steered
    evil = model_identity("steer/smollm2", {**EVIL, "device": "cpu"})
    assert evil.label == "steer/smollm2 + evil@L3×1.5" and evil.key != plain.key
    # the same steering spelled differently (list of one, string layer, default coef/positions, ./ path)
    same = model_identity("steer/smollm2", {"vector": ["./vectors/evil.safetensors"], "layer": ["3"], "coef": [1.5], "positions": "response"})
    assert same.key == evil.key
    assert model_identity("steer/smollm2", {"vector": "vectors/evil.safetensors", "layer": 3}).label.endswith("evil@L3×1")
    assert model_identity("steer/smollm2", {**EVIL, "positions": "all"}).key != evil.key
    # several terms broadcast like the provider; order of terms does not matter to the key
    mix = model_identity("steer/smollm2", {"vector": ["a.safetensors", "b.safetensors#prompt_last"], "layer": 20, "coef": [0.25, 0.75]})
    assert mix.label == "steer/smollm2 + a@L20×0.25 + b#prompt_last@L20×0.75"
    swapped = model_identity("steer/smollm2", {"vector": ["b.safetensors#prompt_last", "a.safetensors"], "layer": 20, "coef": [0.75, 0.25]})
    assert swapped.key == mix.key
    # args this module does not know are part of the identity (adapter, ablation, a new mode)
    tuned = model_identity("steer/smollm2", {"adapter": "adapters/evil_2/checkpoint-50", "ablate": "e.safetensors", "ablate_layer": 4, "coef_mode": "unit"})
    assert tuned.label == "steer/smollm2 + ablate:e@L4 + adapter:evil_2/checkpoint-50 + coef_mode=unit"
    assert tuned.key != plain.key and tuned.base.key == tuned.key
    assert model_identity("steer/smollm2", {**EVIL, "adapter": "x"}).base.label == "steer/smollm2 + adapter:x"


def test_bad_steering_args_and_shared_labels():
    with pytest.raises(ValueError, match="coef must be a number, got 'lots'"):
        model_identity("steer/m", {"vector": "v.safetensors", "layer": 3, "coef": "lots"})
    with pytest.raises(ValueError, match=r"lengths of vector \(3\), layer \(2\) do not match"):
        model_identity("steer/m", {"vector": ["a", "b", "c"], "layer": [1, 2]})
    a = model_identity("steer/m", {"vector": "one/evil.safetensors", "layer": 3})
    b = model_identity("steer/m", {"vector": "two/evil.safetensors", "layer": 3})
    labels = unique_labels([a, b, a])
    assert len(set(labels.values())) == 2 and all(v.startswith("steer/m + evil@L3×1 [") for v in labels.values())
    assert unique_labels([a]) == {a.key: a.label}


def _accuracy_run(log_dir, model, **task_args):
    from persona_evals.accuracy.task import persona_accuracy

    [log] = eval(persona_accuracy(**task_args), model=model, display="none", log_dir=str(log_dir))
    return log


@pytest.fixture(scope="module")
def accuracy_logs(tmp_path_factory):
    """The same scripted model on the same items, unsteered and steered: two models."""
    log_dir = tmp_path_factory.mktemp("identity_accuracy")
    with pytest.MonkeyPatch.context() as mp:
        use_fixture_hub(mp)
        for model in (scripted_model(oracle), scripted_model(oracle, **EVIL)):
            log = _accuracy_run(log_dir, model, dataset="gsm8k", personas=["empty", "colors"])
            assert log.status == "success", log.error
    return log_dir


def test_metrics_and_plots_keep_steered_and_unsteered_runs_apart(accuracy_logs, tmp_path):
    import argparse

    from persona_evals.cli import main
    from persona_evals.commands.viz.accuracy import load_rows

    out = tmp_path / "metrics"
    assert main(["metrics", str(accuracy_logs), "--out-dir", str(out), "--n-boot", "200"]) == 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    models = {"mockllm/model", "mockllm/model + evil@L3×1.5"}
    assert {r["model"] for r in rows} == models
    robustness = [r for r in rows if r["metric"] == "robustness:colors"]
    assert len(robustness) == 2  # one row per model
    assert "### mockllm/model + evil@L3×1.5 (mitigation: none)" in (out / "metrics.md").read_text()
    plot_args = argparse.Namespace(csv=None, logs=[str(accuracy_logs)], log_dir="logs", n_boot=200, mitigation="none")
    assert {r["model"] for r in load_rows(plot_args)} == models
    png = tmp_path / "verdicts.png"
    assert main(["viz", "accuracy-verdicts", str(accuracy_logs), "--out", str(png), "--n-boot", "200"]) == 0
    assert png.stat().st_size > 5000


def test_refine_refuses_a_baseline_whose_steering_differs(accuracy_logs, tmp_path, monkeypatch):
    from inspect_ai.log import list_eval_logs, read_eval_log

    use_fixture_hub(monkeypatch)
    logs = {read_eval_log(i.name, header_only=True).eval.model_args.get("coef"): i.name.removeprefix("file://") for i in list_eval_logs(str(accuracy_logs))}
    unsteered, steered = logs[None], logs[1.5]
    refine = {"dataset": "gsm8k", "personas": ["empty", "name:Kai"], "mitigation": "refine_basic"}
    for model, baseline in ((scripted_model(oracle, **EVIL), unsteered), (scripted_model(oracle), steered),
                            (scripted_model(oracle, **{**EVIL, "coef": 2.0}), steered)):
        log = _accuracy_run(tmp_path, model, baseline_log=baseline, **refine)
        assert log.status == "error"
        assert "was made by mockllm/model" in log.error.message and ", not mockllm/model" in log.error.message
    same = _accuracy_run(tmp_path, scripted_model(oracle, **{**EVIL, "batch_size": 4}), baseline_log=steered, **refine)
    assert same.status == "success", same.error


def test_persona_bench_and_opinion_tables_keep_steered_runs_apart(tmp_path):
    from persona_bench_support import critic_model, load_task, target_model

    from persona_evals.opinion.results import reports
    from persona_evals.opinion.task import opinion_simulation
    from persona_evals.persona_bench.results import load_samples, mode_table

    bench, opinion = [], []
    for steering in (None, EVIL):
        [log] = eval(load_task("prism_personalization")(pairs=2, personas="fixture", questions="fixture"),
                     model=target_model(), model_roles={"critic": critic_model()}, display="none", log_dir=str(tmp_path / "b"))
        [sim] = eval(opinion_simulation(states="NY", n_per_state=2), model=scripted_model(lambda m, c: "Answer: A"),
                     display="none", log_dir=str(tmp_path / "o"))
        for done, out in ((log, bench), (sim, opinion)):
            assert done.status == "success", done.error
            if steering:  # as `--model steer/... -M vector=... -M layer=... -M coef=...` records it
                done.eval.model_args = steering
                write_eval_log(done, done.location)
            out.append(done.location)
    rows = mode_table(load_samples(bench, "prism_personalization"))
    assert {r["model"] for r in rows} == {"mockllm/model", "mockllm/model + evil@L3×1.5"}
    assert len([r for r in rows if r["mode"] == "baseline"]) == 2
    assert [r["model"] for r in reports(opinion)] == ["mockllm/model", "mockllm/model + evil@L3×1.5"]
