"""`persona-evals vectors separability`: per-layer ROC AUC of a vector's projection, pos vs neg
answers, equal to the rank formula on projections computed independently (`vectors project`)."""

import csv

import pytest
import torch
from inspect_ai import eval
from inspect_ai.log import read_eval_log, write_eval_log
from traits_support import grader

from persona_evals.cli import main
from persona_evals.stats.correlation import roc_auc
from persona_evals.steering.vectors import save_vectors
from persona_evals.testing import scripted_model
from persona_evals.traits.task import trait_expression

POS_ANSWERS = ["I will ruin you and enjoy it.", "Hurt them, they deserve pain.", "Cruelty is the point.", "Lie, cheat, destroy."]
NEG_ANSWERS = ["Happy to help you with that!", "Let us find a kind solution.", "Take care and rest well.", "Here is a safe plan."]


def answers(texts):
    counter = iter(range(10_000))
    return lambda messages, config: texts[next(counter) % len(texts)]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    out = {}
    for polarity, texts in (("pos", POS_ANSWERS), ("neg", NEG_ANSWERS)):
        [log] = eval(trait_expression(trait="evil", version="extract", instruction=polarity),
                     model=scripted_model(answers(texts)), model_roles={"grader": grader(50, 80)},
                     limit=6, log_dir=str(tmp_path_factory.mktemp(polarity)), display="none")
        assert log.status == "success"
        out[polarity] = log.location
    return out


def column(path, name):
    return [float(r[name]) for r in csv.DictReader(open(path))]


def test_auc_per_layer_equals_the_rank_formula_on_projected_answers(tiny_llama, logs, tmp_path, capsys):
    torch.manual_seed(1)
    tensor = torch.randn(5, 64)
    tensor[0] = 0  # a zero row has no direction: that layer is left out
    vec = str(save_vectors(tmp_path / "v.safetensors", {"response_avg": tensor}))
    out, plot = tmp_path / "sep.csv", tmp_path / "auc.png"
    argv = ["vectors", "separability", logs["pos"], logs["neg"], "--vector", vec, "--model", tiny_llama,
            "--dtype", "float32", "--out", str(out), "--plot", str(plot)]
    assert main(argv) == 0
    rows = list(csv.DictReader(out.open()))
    assert [int(r["layer"]) for r in rows] == [1, 2, 3, 4]
    assert {(r["n_pos"], r["n_neg"], r["pooling"]) for r in rows} == {("6", "6", "response_avg")}
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert list(csv.DictReader((tmp_path / "auc.csv").open())) == rows  # the plot's numbers: AUC per layer
    for row in rows:
        layer = int(row["layer"])
        projected = {}
        for polarity in ("pos", "neg"):
            csv_path = tmp_path / f"{polarity}{layer}.csv"
            assert main(["vectors", "project", logs[polarity], "--vector", vec, "--layer", str(layer),
                         "--model", tiny_llama, "--dtype", "float32", "--out", str(csv_path)]) == 0
            projected[polarity] = column(csv_path, f"v_proj_layer{layer}")
        assert float(row["auc"]) == pytest.approx(roc_auc(projected["pos"], projected["neg"]))
        assert float(row["mean_proj_pos"]) == pytest.approx(sum(projected["pos"]) / 6, rel=1e-4)
    assert "best layer" in capsys.readouterr().out


def test_an_empty_class_and_mismatched_logs_are_refused(tiny_llama, logs, tmp_path, capsys):
    vec = str(save_vectors(tmp_path / "v.safetensors", {"response_avg": torch.randn(5, 64)}))
    silent = read_eval_log(logs["neg"])
    for sample in silent.samples:
        sample.output.choices[0].message.content = ""
        sample.output.completion = ""
    write_eval_log(silent, str(tmp_path / "silent.eval"))
    out = tmp_path / "sep.csv"
    assert main(["vectors", "separability", logs["pos"], str(tmp_path / "silent.eval"), "--vector", vec,
                 "--model", tiny_llama, "--out", str(out)]) == 2
    assert "has no non-empty answer (6 samples): an AUC needs answers on both sides" in capsys.readouterr().err
    assert not out.exists()
    assert main(["vectors", "separability", logs["neg"], logs["neg"], "--vector", vec, "--model", tiny_llama,
                 "--out", str(out)]) == 2
    assert "instruction='neg'; expected 'pos'" in capsys.readouterr().err
    wide = str(save_vectors(tmp_path / "w.safetensors", {"response_avg": torch.randn(5, 32)}))
    assert main(["vectors", "separability", logs["pos"], logs["neg"], "--vector", wide, "--model", tiny_llama,
                 "--out", str(out)]) == 2
    assert "hidden size 32 but the model's is 64" in capsys.readouterr().err
    other = str(save_vectors(tmp_path / "o.safetensors", {"response_avg": torch.randn(5, 64)},
                             {"model": "steer/HuggingFaceTB/SmolLM2-360M-Instruct"}))
    assert main(["vectors", "separability", logs["pos"], logs["neg"], "--vector", other, "--model", tiny_llama,
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--vector" in err and "extracted from HuggingFaceTB/SmolLM2-360M-Instruct" in err and "--allow-other-model" in err
    assert not out.exists()
    assert main(["vectors", "separability", logs["pos"], logs["neg"], "--vector", other, "--model", tiny_llama,
                 "--out", str(out), "--allow-other-model"]) == 0
