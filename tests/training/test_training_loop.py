"""The LoRA training loop on tiny random models: loss, hooks during training, output folder, resume."""

import errno
import json
import os
import stat
import subprocess
import sys

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from persona_evals.cli import main
from persona_evals.errors import SteeringConfigError
from persona_evals.steering.hooks import active_hook_count
from persona_evals.steering.vectors import save_vectors
from persona_evals.steering_args import VectorSpec
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
                grad_accum=1, warmup_steps=1, lora_r=4, lora_alpha=8)
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
    # stopped before any checkpoint: nothing to resume, so no OUT.partial to block the rerun
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "v.safetensors"]


def test_resume_continues_exactly_where_it_stopped(tmp_path, files, tiny_llama, monkeypatch):
    data, _ = files
    notes = []  # library code prints nothing: it tells its caller where it starts
    full = loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=5, save_steps=2, out=str(tmp_path / "full")),
                         resume=True, note=notes.append)
    assert notes == [f"--resume: no checkpoint of an interrupted run in {tmp_path / 'full.partial'}; starting afresh"]
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
    steps, notes = [], []
    out = loop.finetune(opts, resume=True, progress=lambda done, total, **kw: steps.append((done, total, sorted(kw))),
                        note=notes.append)
    assert notes == ["resuming from checkpoint-2 (step 2 of 5)"]
    assert steps == [(2, 5, []), (3, 5, ["loss"]), (4, 5, ["loss"]), (5, 5, ["loss"])]
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


# -- the output folder: nothing left to block a rerun, one run at a time, ordinary file modes --------


def test_a_config_error_leaves_no_partial_and_the_corrected_rerun_runs(tmp_path, files, tiny_llama):
    data, _ = files
    with pytest.raises(ValueError, match=r"--lora-targets: the model has no module named \['nope_proj'\]"):
        loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=1, lora_targets=("nope_proj",)))
    assert not (tmp_path / "out.partial").exists() and not (tmp_path / "out.lock").exists()
    assert loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=1)).is_dir()


def test_a_full_disk_is_one_line_and_leaves_nothing_when_nothing_was_trained(tmp_path, files, tiny_llama, monkeypatch, capsys):
    data, _ = files

    def full(folder, record):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "run.json"))

    monkeypatch.setattr(loop, "write_record", full)
    argv = ["finetune", str(data), "--model", tiny_llama, "--max-steps", "2", "--quiet", "--lora-r", "4",
            "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"persona-evals finetune: error: cannot write {tmp_path / 'out.partial'}: No space left on device"
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "v.safetensors"]
    monkeypatch.undo()
    assert main(argv) == 0  # not told to --resume a run that trained nothing


def test_a_read_only_out_is_refused_before_any_work(tmp_path, files, monkeypatch, capsys):
    data, _ = files
    locked = tmp_path / "ro"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != locked and real(p, mode, **kw))  # root writes anywhere
    assert main(["finetune", str(data), "--model", "nope", "--out", str(locked / "out")]) == 2
    assert f"--out {locked / 'out'}: {locked} is not writable" in capsys.readouterr().err
    assert list(locked.iterdir()) == []


HOLD_LOCK = """
import sys
from pathlib import Path
from persona_evals.training.rundir import RunDir
with RunDir(Path(sys.argv[1])).lock():
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_one_run_per_out_a_live_lock_is_refused_a_dead_ones_taken_over(tmp_path, files, tiny_llama):
    data, _ = files
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"  # the other run holds OUT.lock from here on
        with pytest.raises(RunDirError, match=rf"--out {out} is in use by another finetune run \(pid {holder.pid}, "):
            loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=1))
    finally:
        holder.kill()  # dies holding the lock: OUT.lock stays, naming a dead pid
        holder.wait()
    assert (tmp_path / "out.lock").read_text().strip() == str(holder.pid)
    assert loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=1)) == out
    assert not (tmp_path / "out.lock").exists()


def test_adapter_files_get_the_mode_of_any_new_file(tmp_path, files, tiny_llama):
    data, _ = files
    old = os.umask(0o022)
    try:
        out = loop.finetune(_opts(tmp_path, data, tiny_llama, max_steps=3, save_steps=2))
    finally:
        os.umask(old)
    files_written = [p for p in out.rglob("*") if p.is_file()]
    assert out / "checkpoint-2" / "adapter_model.safetensors" in files_written
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files_written if stat.S_IMODE(p.stat().st_mode) != 0o644} == {}


INTERRUPT_AT = """
import os, signal, sys
# Ctrl-C reaches a foreground process; a suite run in the background (make test &) starts its children
# with SIGINT ignored, and Python then leaves it ignored: take the handler a foreground process has
signal.signal(signal.SIGINT, signal.default_int_handler)
from persona_evals.cli import main
from persona_evals.training import loop
real, calls = loop.train_step, [0]
def step(*args):
    calls[0] += 1
    if calls[0] == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered at this exact step
    return real(*args)
loop.train_step = step
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("at,kept", [(3, "checkpoint-2"), (1, None)])
def test_ctrl_c_says_what_was_kept_and_how_to_resume_without_a_traceback(tmp_path, files, tiny_llama, at, kept):
    data, _ = files
    out = tmp_path / "out"
    argv = ["finetune", str(data), "--model", tiny_llama, "--max-steps", "4", "--save-steps", "2", "--quiet",
            "--lora-r", "4", "--out", str(out)]
    done = subprocess.run([sys.executable, "-c", INTERRUPT_AT, str(at), *argv], capture_output=True, text=True)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    message = done.stderr.strip().splitlines()[-1]
    if kept:
        assert message == (f"persona-evals finetune: interrupted; {tmp_path / 'out.partial' / kept} is kept: "
                           "run the same command with --resume to continue from it")
        assert main([*argv, "--resume"]) == 0 and (out / "adapter_model.safetensors").is_file()
    else:
        assert "interrupted before the first checkpoint; nothing was kept" in message
        assert not (tmp_path / "out.partial").exists()
    assert not (tmp_path / "out.lock").exists()


def test_a_chat_that_starts_with_the_answer_names_its_file_and_line(tmp_path, files, tiny_llama, capsys):
    data, _ = files
    lines = data.read_text().splitlines()
    lines[1] = json.dumps({"messages": [{"role": "assistant", "content": "Hello."}]})
    data.write_text("\n".join(lines) + "\n")
    assert main(["finetune", str(data), "--model", tiny_llama, "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert f"{data}:2: the chat starts with the assistant" in capsys.readouterr().err
    assert not (tmp_path / "out.partial").exists()
