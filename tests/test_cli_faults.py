"""Faults of the machine rather than of the input (a full disk, a read-only or non-folder output,
a task file given by absolute path): one line naming the path and the cause, never a traceback,
and no temporary file left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch
from cli_support import trait_log

from persona_evals.cli import main
from persona_evals.paths import OutputWriteError, atomic_path, writing
from persona_evals.steering.vectors import save_vectors

FULL = os.strerror(errno.ENOSPC)  # "No space left on device"


def error(argv, capsys) -> str:
    """Run a command that must fail cleanly: its one error line (the last line of stderr)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("persona-evals "), err
    return err.strip().splitlines()[-1]


@pytest.fixture
def full_disk(monkeypatch):
    """Every file renamed into place by the atomic writer fails as on a full disk (the rename is the
    last step of each write, whatever library wrote the temporary file)."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if ".partial" in Path(src).name:
            raise OSError(errno.ENOSPC, FULL, str(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_a_full_disk_names_the_output_not_the_temporary_file(tmp_path, capsys, full_disk):
    out = tmp_path / "p.jsonl"
    err = error(["personas", "sample", "--states", "WY", "--n", "2", "--out", str(out)], capsys)
    assert err == f"persona-evals personas: error: cannot write {out}: {FULL}"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_a_report(tmp_path, capsys, full_disk):
    from inspect_ai import eval

    from persona_evals.opinion.task import opinion_simulation
    from persona_evals.testing import scripted_model

    [log] = eval(opinion_simulation(context="custom", states="WY", n_per_state=1), display="none",
                 model=scripted_model(lambda m, c: "Answer: A"), log_dir=str(tmp_path / "logs"))
    out = tmp_path / "r.json"
    assert error(["opinion", "metrics", log.location, "--json", str(out)], capsys).endswith(f"cannot write {out}: {FULL}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


def test_a_full_disk_while_writing_vectors_or_projections(tiny_llama, tmp_path, capsys, full_disk):
    pos, neg = trait_log(tmp_path / "pos", "pos", score=80), trait_log(tmp_path / "neg", "neg", score=20)
    out = tmp_path / "v.safetensors"
    argv = ["vectors", "extract", "--pos", pos, "--neg", neg, "--model", tiny_llama, "--out", str(out), "--no-filter"]
    assert error(argv, capsys).endswith(f"cannot write {out}: {FULL}")
    vector = save_vectors(tmp_path / "in.safetensors", {"response_avg": torch.randn(5, 64)})
    csv = tmp_path / "p.csv"
    argv = ["vectors", "project", pos, "--model", tiny_llama, "--vector", str(vector), "--layer", "1", "--out", str(csv)]
    assert error(argv, capsys).endswith(f"cannot write {csv}: {FULL}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.safetensors", "neg", "pos"]


def test_a_library_reporting_a_full_disk_as_text_is_named_too(tmp_path):
    """safetensors (Rust) raises its own error whose text ends '(os error 28)'."""
    from safetensors import SafetensorError

    target = tmp_path / "v.safetensors"
    with pytest.raises(OutputWriteError, match=f"^cannot write {target}: {FULL}$"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise SafetensorError(f"Error while serializing: I/O error: {FULL} (os error 28)")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SafetensorError), writing(target):  # any other failure is left alone
        raise SafetensorError("Error while serializing: header too large")
    with pytest.raises(FileNotFoundError), writing(target):  # and so is a read that failed
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "model.bin")


def test_a_log_dir_that_is_a_file_or_not_writable_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch):
    (tmp_path / "t.py").write_text("")
    (tmp_path / "full").write_text("")
    argv = ["sweep", str(tmp_path / "t.py"), "--model", "nope", "--vector", "v", "--layers", "1", "--coefs", "1"]
    assert error([*argv, "--log-dir", str(tmp_path / "full")], capsys).endswith(f"--log-dir {tmp_path / 'full'} is a file; give a folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != locked and real(p, mode, **kw))  # root writes anywhere
    err = error([*argv, "--log-dir", str(locked / "logs")], capsys)
    assert err.endswith(f"--log-dir {locked / 'logs'}: {locked} is not writable")
    err = error(["personas", "generate", "p.jsonl", "--model", "m/x", "--out", str(tmp_path / "o.jsonl"),
                 "--log-dir", str(tmp_path / "full" / "logs")], capsys)
    assert err.endswith(f"{tmp_path / 'full'} is a file, so it cannot hold a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "locked", "t.py"] and not list(locked.iterdir())


def test_sweep_takes_a_task_file_by_absolute_path(tiny_llama, tmp_path):
    from inspect_ai.log import list_eval_logs

    task = Path("tasks/sanity.py").resolve()
    vector = save_vectors(tmp_path / "v.safetensors", {"response_avg": torch.randn(5, 64)})
    code = main(["sweep", str(task), "--model", tiny_llama, "--vector", str(vector), "--layers", "1", "--coefs", "0",
                 "--limit", "1", "-T", "max_tokens=2", "--log-dir", str(tmp_path / "logs"), "--display", "none"])
    assert code == 0 and len(list_eval_logs(str(tmp_path / "logs"))) == 1
