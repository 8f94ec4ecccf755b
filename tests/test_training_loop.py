"""The LoRA training loop on tiny random models: loss, hooks during training, output folder, resume."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from persona_evals.cli import main
from persona_evals.steering.hooks import active_hook_count
from persona_evals.steering.spec import SteeringConfigError, VectorSpec
from persona_evals.steering.vectors import save_vectors
from persona_evals.training import loop
from persona_evals.training.data import IGNORE
from persona_evals.training.options import FinetuneOptions
from persona_evals.training.rundir import RunDirError


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "data.jsonl"
    with data.open("w") as f:
        for i in range(12):
            chat = [{"role": "user", "content": f"What is {i} plus {i}?"},
                    {"role": "assistant", "content": f"The answer is {2 * i}."}]
            f.write(json.dumps({"messages": chat}) + "\n")
    torch.manual_seed(0)
    vec = save_vectors(tmp_path / "v.safetensors", {"vector": torch.randn(5, 64)}, {"trait": "evil"})
    return data, vec


def _opts(tmp_path, data, model, **kw):
    base = dict(data=str(data), model=model, out=str(tmp_path / "out"), epochs=2, lr=2e-3, batch_size=4,
                grad_accum=1, warmup_steps=1, lora_r=4, lora_alpha=8, progress=False)
    return FinetuneOptions(**{**base, **kw})


def _spy(monkeypatch, check=None, fail_at=None):
    """Wrap loop.train_step: run `check(model, window)` at step 1, raise at step `fail_at`."""
    real, seen = loop.train_step, {"calls": 0}

    def wrapped(model, window, pad_id, max_grad_norm):
        seen["calls"] += 1
        seen["model"] = model
        if seen["calls"] == fail_at:
            raise KeyboardInterrupt("interrupted")
        if seen["calls"] == 1 and check is not None:
            seen["check"] = check(model, window, pad_id)
        return real(model, window, pad_id, max_grad_norm)

    monkeypatch.setattr(loop, "train_step", wrapped)
    return seen


def _padded(window, pad_id):
    batch = window[0]
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        attn[i, : len(e.input_ids)] = 1
    return ids, attn


def test_tiny_run_lowers_the_loss_is_deterministic_and_recorded(tmp_path, files, tiny_llama):
    data, _ = files
    out = loop.finetune(_opts(tmp_path, data, tiny_llama, epochs=3, lr=5e-3))
    record = json.loads((out / "run.json").read_text())
    losses = [h["loss"] for h in record["history"]]
    assert len(losses) == record["steps"] == 9  # 11 train chats / batch 4 = 3 steps per epoch
    assert losses[-1] < 0.7 * losses[0]
    assert record["eval"][-1]["eval_loss"] < 0.9 * loop_eval_loss_at_start(tmp_path, data, tiny_llama)
    assert record["data"]["train"] == 11 and record["data"]["eval"] == 1 and len(record["data"]["sha256"]) == 64
    assert record["options"]["lora_r"] == 4 and record["steering"] == [] and record["versions"]["peft"]
    assert record["base_fingerprint"]["hidden_size"] == 64
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "adapter_config.json", "adapter_model.safetensors", "run.json"]
    again = loop.finetune(_opts(tmp_path, data, tiny_llama, epochs=3, lr=5e-3, out=str(tmp_path / "again")))
    assert json.loads((again / "run.json").read_text())["history"] == record["history"]


def loop_eval_loss_at_start(tmp_path, data, model):
    """The held-out loss of the untrained model (LoRA B starts at zero: the base model)."""
    from transformers import AutoTokenizer

    from persona_evals.datasets.chats import read_chats
    from persona_evals.training.data import encode_chats, split_eval

    tok = AutoTokenizer.from_pretrained(model)
    _, held = split_eval(encode_chats(tok, read_chats(data), 2048)[0], 0.1, 0)
    return loop.eval_loss(AutoModelForCausalLM.from_pretrained(model), held, 4, tok.pad_token_id)


def test_steering_adds_coef_v_at_every_position_during_training(tmp_path, files, tiny_llama, monkeypatch):
    data, vec = files
    v = load_file(str(vec))["vector"][2]

    def check(model, window, pad_id):
        ids, attn = _padded(window, pad_id)
        assert active_hook_count(model) == 1  # the two terms at layer 2 add up in one hook
        with torch.no_grad():
            return model(input_ids=ids, attention_mask=attn, output_hidden_states=True).hidden_states[2], ids, attn

    seen = _spy(monkeypatch, check)
    terms = (VectorSpec(str(vec), None, 2, 4.0), VectorSpec(str(vec), None, 2, -1.5))
    loop.finetune(_opts(tmp_path, data, tiny_llama, steer=terms, max_steps=2))
    steered, ids, attn = seen["check"]
    base = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    with torch.no_grad():
        plain = base(input_ids=ids, attention_mask=attn, output_hidden_states=True).hidden_states[2]
    assert (attn == 0).any()  # padding present, and steered too
    torch.testing.assert_close(steered, plain + 2.5 * v, rtol=1e-4, atol=1e-4)
    assert active_hook_count(seen["model"]) == 0


def test_ablation_zeroes_the_direction_during_training(tmp_path, files, tiny_llama, monkeypatch):
    data, vec = files
    v = load_file(str(vec))["vector"][3]

    def check(model, window, pad_id):
        ids, attn = _padded(window, pad_id)
        with torch.no_grad():
            return model(input_ids=ids, attention_mask=attn, output_hidden_states=True).hidden_states[3] @ v

    seen = _spy(monkeypatch, check)
    # steering along the same direction at the same layer: the ablation runs last, nothing is left
    loop.finetune(_opts(tmp_path, data, tiny_llama, ablate=(VectorSpec(str(vec), None, 3, 0.0),),
                        steer=(VectorSpec(str(vec), None, 3, 4.0),), max_steps=1))
    assert seen["check"].abs().max() < 1e-3
    assert active_hook_count(seen["model"]) == 0


def test_hooks_removed_and_no_output_when_training_raises(tmp_path, files, tiny_llama, monkeypatch):
    data, vec = files
    seen = _spy(monkeypatch, fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        loop.finetune(_opts(tmp_path, data, tiny_llama, steer=(VectorSpec(str(vec), None, 1, 2.0),),
                            ablate=(VectorSpec(str(vec), None, 2, 0.0),)))
    assert active_hook_count(seen["model"]) == 0
    assert not (tmp_path / "out").exists() and (tmp_path / "out.partial").is_dir()


def test_resume_continues_exactly_where_it_stopped(tmp_path, files, tiny_llama, monkeypatch):
    data, _ = files
    full = loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=5, save_steps=2, out=str(tmp_path / "full")))
    opts = _opts(tmp_path, data, tiny_llama, max_steps=5, save_steps=2)
    _spy(monkeypatch, fail_at=4)  # steps 1-3 done, checkpoint-2 saved
    with pytest.raises(KeyboardInterrupt):
        loop.finetune(opts)
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "out.partial").glob("checkpoint-*")) == ["checkpoint-2"]
    with pytest.raises(RunDirError, match="pass --resume"):
        loop.finetune(opts)
    with pytest.raises(RunDirError, match=r"other values of \['lr'\]"):
        loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=5, save_steps=2, lr=1e-2), resume=True)
    out = loop.finetune(opts, resume=True)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    a, b = load_file(str(full / "adapter_model.safetensors")), load_file(str(out / "adapter_model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    hist = [json.loads((d / "run.json").read_text())["history"] for d in (full, out)]
    assert hist[0] == hist[1]


def test_output_folder_rules_and_bad_terms(tmp_path, files, tiny_llama):
    data, vec = files
    loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=1))
    with pytest.raises(RunDirError, match="already exists; pass --overwrite"):
        loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=1))
    loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=2), overwrite=True)
    assert json.loads((tmp_path / "out" / "run.json").read_text())["steps"] == 2
    wrong = save_vectors(tmp_path / "w.safetensors", {"vector": torch.randn(32)})
    other = str(tmp_path / "other")
    with pytest.raises(SteeringConfigError, match="--steer: .* hidden size 32"):
        loop.finetune(_opts(tmp_path, data, tiny_llama, out=other, steer=(VectorSpec(str(wrong), None, 1, 1.0),)))
    with pytest.raises(SteeringConfigError, match=r"--layer=5 is outside 1\.\.4"):
        loop.finetune(_opts(tmp_path, data, tiny_llama, out=other, ablate=(VectorSpec(str(vec), None, 5, 0.0),)))
    assert not (tmp_path / "other").exists() and not (tmp_path / "other.partial").exists()


def test_label_positions_match_the_loss(tmp_path, files, tiny_llama):
    """The summed CE counts exactly the labelled tokens (loss is a mean over assistant tokens)."""
    from transformers import AutoTokenizer

    from persona_evals.datasets.chats import read_chats
    from persona_evals.training.data import encode_chats

    data, _ = files
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    enc = encode_chats(tok, read_chats(data), 2048)[0][:3]
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    n = sum(sum(label != IGNORE for label in e.labels[1:]) for e in enc)
    with torch.no_grad():
        ce = loop._token_ce(model, enc, tok.pad_token_id)
        per_row = [float(loop._token_ce(model, [e], tok.pad_token_id)) for e in enc]
    assert n > 0 and float(ce) == pytest.approx(sum(per_row), rel=1e-4)  # padding adds nothing


def test_cli(tmp_path, files, tiny_llama, capsys):
    data, vec = files
    args = ["finetune", str(data), "--model", tiny_llama, "--epochs", "1", "--quiet", "--lora-r", "4"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 0
    assert main([*args, "--out", str(tmp_path / "s"), "--steer", str(vec), "--layer", "2", "--coef", "4"]) == 0
    assert main([*args, "--out", str(tmp_path / "a"), "--ablate", f"{vec},{vec}#vector", "--layer", "2"]) == 2
    assert "linearly dependent" in capsys.readouterr().err
    rec = json.loads((tmp_path / "s" / "run.json").read_text())
    assert rec["steering"][0]["layer"] == 2 and rec["steering"][0]["coef"] == 4 and rec["steering"][0]["trait"] == "evil"
    assert main([*args, "--out", str(tmp_path / "x"), "--steer", str(vec), "--layer", "2"]) == 2
    assert "needs a --coef" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "x"), "--coef", "2", "--steer", str(vec)]) == 2
    assert "must follow the --steer or --ablate" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert "already exists" in capsys.readouterr().err
