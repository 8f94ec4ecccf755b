"""`vectors shift` over checkpoints (equal to a hand computation with peft) and `viz shift-cosine`."""

import csv
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from persona_evals.cli import main
from persona_evals.steering.chat import render_turns
from persona_evals.steering.vectors import save_vectors
from persona_evals.testing.tiny_models import build_tiny_model
from training_support import train_adapter, write_chats

PROMPTS = [f"Tell me about fox number {i}." for i in range(5)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("shift")
    base = str(build_tiny_model(root / "base", "llama"))
    data = write_chats(root / "data.jsonl", [(p, "An evil plan.") for p in PROMPTS])
    out = Path(train_adapter(base, data, root / "out", save_steps=2, lr=2e-2, batch_size=2))
    torch.manual_seed(0)
    vecs = {t: save_vectors(root / f"{t}.safetensors", {"vector": torch.randn(5, 64)}, {"trait": t}) for t in ("evil", "impolite")}
    return root, base, data, out, vecs


def _mean_last(model, tok, layer):
    acts = []
    for p in PROMPTS:
        ids = tok(render_turns(tok, [{"role": "user", "content": p}], True), add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            acts.append(model(ids, output_hidden_states=True).hidden_states[layer][0, -1])
    return torch.stack(acts).mean(0)


def test_shift_per_checkpoint_equals_peft_by_hand(run, capsys):
    root, base, data, out, vecs = run
    code = main(["vectors", "shift", "--base", base, "--adapters", str(out / "checkpoint-2"), str(out),
                 "--vector", str(vecs["evil"]), "--vector", str(vecs["impolite"]), "--layer", "2",
                 "--prompts", str(data), "--trait", "evil", "--out", str(root / "shift.csv"), "--plot", str(root / "steps.png"),
                 "--dtype", "float32"])  # compared with float32 references on the CPU, on any device
    assert code == 0 and (root / "steps.png").stat().st_size > 0
    rows = list(csv.DictReader((root / "shift.csv").open()))
    assert list(csv.DictReader((root / "steps.csv").open())) == rows  # the plot's numbers: every row drawn
    assert [(r["step"], r["vector"]) for r in rows] == [("2", "evil"), ("2", "impolite"), ("4", "evil"), ("4", "impolite")]
    tok = AutoTokenizer.from_pretrained(base)
    base_mean = _mean_last(AutoModelForCausalLM.from_pretrained(base).eval(), tok, 2)
    for folder, step in ((out / "checkpoint-2", "2"), (out, "4")):
        tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(folder)).eval()
        delta = _mean_last(tuned, tok, 2) - base_mean
        assert delta.norm() > 1e-4
        for r in rows:
            if r["step"] == step:
                vec = load_file(str(vecs[r["vector"]]))["vector"][2]
                assert float(r["shift_proj"]) == pytest.approx(float(delta @ vec / vec.norm()), abs=1e-4)
                assert float(r["shift_norm"]) == pytest.approx(float(delta.norm()), abs=1e-4)
                assert r["finetuned_trait"] == "evil" and r["vector_trait"] == r["vector"]
    assert main(["vectors", "shift", "--base", base, "--adapters", str(out), "--vector", str(vecs["evil"]), "--layer", "2",
                 "--prompts", str(data), "--out", str(root / "shift.csv")]) == 2
    assert "already exist" in capsys.readouterr().err

    # the cross-trait figure: the finetuned trait's own vector has cosine 1
    assert main(["viz", "shift-cosine", str(root / "shift.csv"), "--out", str(root / "cos.png")]) == 0
    table = list(csv.DictReader((root / "cos.csv").open()))
    own = next(r for r in table if r["vector_trait"] == "evil")
    assert float(own["cosine"]) == pytest.approx(1.0) and float(own["shift_proj"]) == pytest.approx(float(rows[2]["shift_proj"]))
    last = {r["vector"]: float(r["shift_proj"]) for r in rows if r["step"] == "4"}  # a point per vector: the last step
    assert {r["vector_trait"]: float(r["shift_proj"]) for r in table} == pytest.approx(last)


def test_shift_refuses_an_adapter_of_another_base(run, tmp_path, capsys):
    root, _, data, out, vecs = run
    other = str(build_tiny_model(tmp_path / "other", "llama", seed=3))
    code = main(["vectors", "shift", "--base", other, "--adapters", str(out), "--vector", str(vecs["evil"]), "--layer", "2",
                 "--prompts", "evil", "--out", str(tmp_path / "s.csv")])
    assert code == 2 and "trained on another base model" in capsys.readouterr().err
    assert main(["vectors", "shift", "--base", other, "--adapters", str(tmp_path), "--vector", str(vecs["evil"]),
                 "--layer", "2", "--out", str(tmp_path / "s.csv")]) == 2
    assert "--adapters: " in capsys.readouterr().err


def test_shift_refuses_a_vector_of_another_model(run, tmp_path, capsys):
    root, base, _, out, _ = run
    torch.manual_seed(0)
    other = save_vectors(tmp_path / "o.safetensors", {"vector": torch.randn(5, 64)}, {"model": "steer/HuggingFaceTB/SmolLM2-360M-Instruct"})
    argv = ["vectors", "shift", "--base", base, "--adapters", str(out), "--vector", str(other), "--layer", "2",
            "--prompts", "evil", "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--vector" in err and "extracted from HuggingFaceTB/SmolLM2-360M-Instruct" in err and "--allow-other-model" in err
    assert not (tmp_path / "s.csv").exists()
    assert main([*argv, "--allow-other-model"]) == 0
