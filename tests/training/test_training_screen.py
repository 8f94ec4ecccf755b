"""`vectors project DATA.jsonl`: projection difference against the model's own answers, and screening."""

import csv
import json

import pytest
import torch
from inspect_ai.model import ChatMessageUser

from persona_evals.cli import main
from persona_evals.datasets.chats import read_chats
from persona_evals.steering.activations import encode_pair
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.loading import load_shared
from persona_evals.steering.vectors import save_vectors
from persona_evals.training.pipeline import base_answers

QUESTIONS = [f"Question {i}: tell me about the quick fox." for i in range(6)]
OTHER = ["An evil assistant plots harm.", "Numbers: 0 1 2 3.", "The cat sleeps in the sun.",
         "I feel anxious about tomorrow.", "Personas and vectors.", "Scores range from zero to one hundred."]


def _response_mean(shared, question, answer, layer):
    pair = encode_pair(shared, render_prompt(shared.tokenizer, [ChatMessageUser(content=question)]), answer)
    ids = torch.tensor([list(pair.prompt_ids) + list(pair.answer_ids)], device=shared.device)
    with torch.no_grad():
        h = shared.model(ids, output_hidden_states=True).hidden_states[layer]
    return h[0, len(pair.prompt_ids):].mean(0).cpu()


def test_screening_keeps_rows_below_the_projection_difference(tiny_llama, tmp_path, capsys):
    shared = load_shared(tiny_llama, dtype="float32")  # float32 on any device, as `--dtype float32` below
    chats = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": "x"}]} for q in QUESTIONS]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chats))
    base, _ = base_answers(tiny_llama, read_chats(tmp_path / "q.jsonl"), 6, 0.0, tmp_path / "logs", "float32")
    # rows 0, 2, 4 train on exactly what the model says anyway; rows 1, 3, 5 on other text
    answers = [base[i] if i % 2 == 0 else OTHER[i] for i in range(6)]
    assert all(answers)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(
        json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}], "id": f"c{i}"}) + "\n"
        for i, (q, a) in enumerate(zip(QUESTIONS, answers))
    ))
    d = [_response_mean(shared, q, a, 2) - _response_mean(shared, q, b, 2) for q, a, b in zip(QUESTIONS, answers, base)]
    torch.manual_seed(0)
    v = torch.randn(5, 64)
    v[2] = d[1]  # row 1 moves exactly along the vector
    vec = save_vectors(tmp_path / "v.safetensors", {"vector": v})
    unit = d[1] / d[1].norm()
    expected = [float(x @ unit) for x in d]
    keep = [i for i, x in enumerate(expected) if x < 1e-3]
    assert {0, 2, 4} <= set(keep) and 1 not in keep

    args = ["vectors", "project", str(data), "--model", tiny_llama, "--vector", str(vec), "--layer", "2",
            "--max-tokens", "6", "--log-dir", str(tmp_path / "logs"), "--dtype", "float32"]
    code = main([*args, "--out", str(tmp_path / "kept.jsonl"), "--keep-below", "1e-3", "--csv", str(tmp_path / "t.csv")])
    assert code == 0
    kept = read_chats(tmp_path / "kept.jsonl")
    assert [c.record["id"] for c in kept] == [f"c{i}" for i in keep]
    out = capsys.readouterr().out
    assert f"kept {len(keep)} of 6 chats" in out and f"dropped {6 - len(keep)} with proj_diff >= 0.001 at layer 2" in out
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    for row, x in zip(rows, expected):
        assert float(row["v_proj_diff_layer2"]) == pytest.approx(x, abs=1e-4)
        assert float(row["v_proj_diff_layer2"]) == pytest.approx(float(row["v_proj_layer2"]) - float(row["v_base_proj_layer2"]))
    assert [float(rows[i]["v_proj_diff_layer2"]) for i in (0, 2, 4)] == [0.0, 0.0, 0.0]

    # by projection alone, without generating; existing outputs refused; logs need no --model
    assert main([*args, "--out", str(tmp_path / "kept.jsonl"), "--keep-below", "0"]) == 2
    assert "already exist" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "p.jsonl"), "--keep-below", "1e9", "--by", "proj", "--no-base-answers"]) == 0
    assert len(read_chats(tmp_path / "p.jsonl")) == 6
    assert main([*args, "--out", str(tmp_path / "q.csv"), "--keep-below", "1"]) == 2
    assert "--out is the screened chat file (.jsonl)" in capsys.readouterr().err
    assert main(["vectors", "project", str(data), "--vector", str(vec), "--layer", "2", "--out", str(tmp_path / "z.csv")]) == 2
    assert "--model is required for chat JSONL" in capsys.readouterr().err
