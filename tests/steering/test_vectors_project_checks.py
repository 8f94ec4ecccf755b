"""`vectors project` refuses, before any generation: an unfinished log (the rule of every log
reader), a layer the model lacks, a vector of the wrong size or all zeros at the layer, a vector
extracted from another model (without --allow-other-model), and --csv without --keep-below; the
`steer` provider refuses another model's vector too (without -M allow_other_model=true)."""

import json

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import write_eval_log
from inspect_ai.model import get_model

from persona_evals.cli import main
from persona_evals.errors import SteeringConfigError
from persona_evals.steering.vectors import save_vectors


@pytest.fixture
def chats(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": "Yes."}]} for i in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _vec(tmp_path, name="v", tensor=None, **metadata):
    torch.manual_seed(0)
    return str(save_vectors(tmp_path / f"{name}.safetensors", {"vector": torch.randn(5, 64) if tensor is None else tensor}, metadata))


def _project(tmp_path, data, vec, model, *extra):
    return main(["vectors", "project", data, "--model", model, "--vector", vec, "--out", str(tmp_path / "out.csv"),
                 "--log-dir", str(tmp_path / "logs"), *extra])


@pytest.mark.parametrize(
    "make, layer, words",
    [
        (lambda p: _vec(p), "99", ["--layer=99 is outside 1..4"]),
        (lambda p: _vec(p, "wide", torch.ones(5, 32)), "2", ["--vector", "hidden size 32", "model's is 64"]),
        (lambda p: _vec(p, "zero", torch.zeros(5, 64)), "2", ["--vector", "all zeros at layer 2"]),
        (lambda p: _vec(p, "other", model="steer/HuggingFaceTB/SmolLM2-360M-Instruct"), "2",
         ["--vector", "extracted from HuggingFaceTB/SmolLM2-360M-Instruct", "--allow-other-model"]),
    ],
    ids=["layer", "size", "zeros", "other-model"],
)
def test_chat_screening_checks_vector_and_layer_before_generating(tiny_llama, tmp_path, chats, capsys, make, layer, words):
    code = _project(tmp_path, chats, make(tmp_path), tiny_llama, "--layer", layer, "--max-tokens", "2")
    err = capsys.readouterr().err
    assert code == 2 and all(w in err for w in words), err
    assert not (tmp_path / "logs").exists()  # the model's own answers were never generated
    assert not (tmp_path / "out.csv").exists()


def test_another_models_vector_is_used_with_allow_other_model(tiny_llama, tmp_path, chats):
    vec = _vec(tmp_path, "other", model="steer/HuggingFaceTB/SmolLM2-360M-Instruct")
    assert _project(tmp_path, chats, vec, tiny_llama, "--layer", "2", "--no-base-answers", "--allow-other-model") == 0
    # a vector of this very model passes (named as a log names it, or by the path it was read from)
    ours = _vec(tmp_path, "ours", model=f"steer/{tiny_llama}")
    assert main(["vectors", "project", chats, "--model", tiny_llama, "--vector", ours, "--layer", "2",
                 "--out", str(tmp_path / "ours.csv"), "--no-base-answers"]) == 0


def test_csv_without_keep_below_is_refused(tiny_llama, tmp_path, chats, capsys):
    code = _project(tmp_path, chats, _vec(tmp_path), tiny_llama, "--layer", "2", "--csv", str(tmp_path / "t.csv"))
    assert code == 2 and "--csv is the per-chat table of a --keep-below screening" in capsys.readouterr().err


def test_an_unfinished_log_is_refused_like_every_reader_refuses_it(tiny_llama, tmp_path, capsys):
    task = Task(dataset=[Sample(id="a", input="Hello?")], name="chat")
    [log] = eval(task, model=get_model(f"steer/{tiny_llama}", memoize=False), max_tokens=2, log_dir=str(tmp_path / "logs"), display="none")
    log.status = "started"  # as an interrupted eval leaves it
    write_eval_log(log, log.location)
    code = main(["vectors", "project", log.location, "--vector", _vec(tmp_path), "--layer", "2", "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "did not complete (status started)" in err
    assert not (tmp_path / "p.csv").exists()


def test_steer_refuses_another_models_vector_unless_allowed(tiny_llama, tmp_path):
    other = _vec(tmp_path, "other", model="steer/HuggingFaceTB/SmolLM2-360M-Instruct")
    with pytest.raises(SteeringConfigError) as info:
        get_model(f"steer/{tiny_llama}", memoize=False, vector=other, layer=2)
    assert "vector: " in str(info.value) and "allow_other_model=true" in str(info.value)
    with pytest.raises(SteeringConfigError, match="monitor: .*extracted from HuggingFaceTB"):
        get_model(f"steer/{tiny_llama}", memoize=False, monitor=other, monitor_layer=2)
    model = get_model(f"steer/{tiny_llama}", memoize=False, vector=other, layer=2, allow_other_model=True)
    assert len(model.api.spec.vectors) == 1
    # its own vector (metadata by name or by the weights' path), and one that names no model, pass
    get_model(f"steer/{tiny_llama}", memoize=False, vector=_vec(tmp_path, "ours", model=f"steer/{tiny_llama}"), layer=2)
    get_model(f"steer/{tiny_llama}", memoize=False, vector=_vec(tmp_path, "path", model="hf/elsewhere", model_path=model.api.shared.path), layer=2)
    get_model(f"steer/{tiny_llama}", memoize=False, vector=_vec(tmp_path, "plain"), layer=2)
    with pytest.raises(SteeringConfigError, match="allow_other_model must be true or false"):
        get_model(f"steer/{tiny_llama}", memoize=False, vector=other, layer=2, allow_other_model="maybe")


def test_a_base_models_vector_reads_a_model_finetuned_from_it_with_base_model(tiny_llama, tiny_qwen2, tmp_path, capsys):
    """The finetuning shift: the base model's vector on the finetuned model, --base-model naming the base."""
    task = Task(dataset=[Sample(id="a", input="Hello?")], name="chat")
    [log] = eval(task, model=get_model(f"steer/{tiny_qwen2}", memoize=False), max_tokens=2, log_dir=str(tmp_path / "logs"), display="none")
    vec = _vec(tmp_path, "base", model=f"steer/{tiny_llama}")
    args = ["vectors", "project", log.location, "--vector", vec, "--layer", "2"]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 2
    assert f"extracted from {tiny_llama}" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "b.csv"), "--base-model", tiny_llama]) == 0
