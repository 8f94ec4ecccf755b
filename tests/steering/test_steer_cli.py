"""The vector and sweep commands on the tiny model."""

import csv
import math

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.solver import generate

from persona_evals.cli import main
from persona_evals.steering.loading import load_shared, loaded_models
from persona_evals.steering.vectors import save_vectors


@pytest.fixture
def vec(tmp_path):
    torch.manual_seed(0)
    return str(save_vectors(tmp_path / "v.safetensors", {"response_avg": torch.randn(5, 64), "prompt_last": torch.randn(5, 64)}, {"trait": "evil"}))


def test_vectors_show(vec, capsys):
    assert main(["vectors", "show", vec]) == 0
    out = capsys.readouterr().out
    assert "trait: evil" in out and "tensor 'prompt_last': shape [5, 64]" in out and "norm per row" in out


def test_vectors_show_bad_file(tmp_path, capsys):
    assert main(["vectors", "show", str(tmp_path / "nope.safetensors")]) == 2
    assert "path: file" in capsys.readouterr().err


def test_sweep_runs_every_cell_on_shared_weights(tiny_llama, vec, tmp_path, full_batches_only):
    before = len(loaded_models())
    full_batches_only(load_shared(tiny_llama))  # the sweep's copy: its batches start only when full
    code = main([
        "sweep", "tasks/sanity.py", "--model", tiny_llama, "--vector", vec, "--layers", "1", "3",
        "--coefs", "0", "2", "--limit", "2", "--log-dir", str(tmp_path / "logs"), "--display", "none",
        "-T", "max_tokens=4", "-M", "batch_size=8",
    ])
    assert code == 0
    logs = [read_eval_log(i.name) for i in list_eval_logs(str(tmp_path / "logs"))]
    cells = sorted((log.eval.model_args["layer"], log.eval.model_args["coef"]) for log in logs)
    assert cells == [(1, 0.0), (1, 2.0), (3, 0.0), (3, 2.0)]
    assert all(log.status == "success" and len(log.samples) == 2 for log in logs)
    assert len(loaded_models()) <= before + 1  # at most one new copy of the weights
    # steering is per row: the rows of all four cells (2 samples each) share one batch
    assert {s.output.metadata["batch_size"] for log in logs for s in log.samples} == {8}


def test_sweep_rejects_bad_layer(tiny_llama, vec, tmp_path, capsys):
    code = main(["sweep", "tasks/sanity.py", "--model", tiny_llama, "--vector", vec, "--layers", "9", "--coefs", "1"])
    assert code == 2 and "layer=9 is outside 1..4" in capsys.readouterr().err


def test_project_writes_projections_equal_to_monitoring(tiny_llama, vec, tmp_path):
    """`vectors project` over a log equals the provider's live monitor for the same answers."""
    task = Task(
        dataset=MemoryDataset([Sample(id=f"s{i}", input=f"Question {i}: tell me about foxes.") for i in range(3)]),
        solver=generate(),
        config=GenerateConfig(temperature=0, max_tokens=6),
    )
    # float32 on any device (auto is bf16 on a GPU); `vectors project` reads the log's dtype
    model = get_model(f"steer/{tiny_llama}", memoize=False, monitor=vec, monitor_layer=2, dtype="float32")
    log = eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")[0]
    out = tmp_path / "proj.csv"
    assert main(["vectors", "project", log.location, "--vector", vec, "--layer", "2", "--layer", "3", "--out", str(out)]) == 0
    rows = {r["id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"s0", "s1", "s2"}
    for s in log.samples:
        live = s.output.metadata["monitor"]["v#response_avg@2"]
        row = rows[s.id]
        # the live monitor averages generated tokens; the CSV re-tokenises the answer text
        if s.output.stop_reason == "max_tokens" and row["answer_tokens"] == str(s.output.usage.output_tokens):
            assert float(row["v_proj_layer2"]) == pytest.approx(live["proj"], abs=1e-3)
        assert float(row["v_prompt_last_proj_layer2"]) == pytest.approx(live["prompt_last_proj"], abs=1e-3)
        assert -1 <= float(row["v_cos_layer3"]) <= 1 or math.isnan(float(row["v_cos_layer3"]))
