"""No lost files: every command that writes refuses an existing path unless --overwrite, checks its
output paths before any work, and writes atomically (a failure leaves the old file as it was)."""

from __future__ import annotations

import os
import stat

import pytest
from cli_support import commands, trait_log

from persona_evals.cli import main
from persona_evals.paths import atomic_path

# finetune's --out is a run folder with its own rules (OUT.partial, --resume): training.rundir
OWN_RULES = {("finetune",)}
OUTPUT_DESTS = {"out", "out_dir", "json_out", "plot"}
SENTINEL = "precious results\n"


def test_every_command_that_writes_declares_its_outputs():
    undeclared = []
    for path, parser in commands():
        declared = {o.dest for o in parser.get_default("_outputs") or []}
        for action in parser._actions:
            if action.dest in OUTPUT_DESTS and action.dest not in declared and path not in OWN_RULES:
                undeclared.append(f"{' '.join(path)} {action.option_strings}")
        if declared:
            assert "overwrite" in {a.dest for a in parser._actions}, path
    assert undeclared == []


def _writers(tmp) -> list[tuple[list[str], str]]:
    """(argv, the existing file it must refuse): inputs are nonsense, so only an early check passes them."""
    cases = [
        (["vectors", "extract", "--pos", "nope", "--neg", "nope", "--out", f"{tmp}/v.safetensors"], "v.safetensors"),
        (["vectors", "project", "nope", "--vector", "nope", "--layer", "1", "--out", f"{tmp}/p.csv"], "p.csv"),
        (["metrics", "nope", "--out-dir", str(tmp)], "metrics.md"),
        (["opinion", "metrics", "nope", "--json", f"{tmp}/r.json"], "r.json"),
        (["personas", "sample", "--marginals", "nope", "--out", f"{tmp}/s.jsonl"], "s.jsonl"),
        (["personas", "generate", "nope.jsonl", "--model", "nope", "--out", f"{tmp}/g.jsonl"], "g.jsonl"),
        (["personas", "calibrate", "nope.jsonl", "--model", "nope", "--out", f"{tmp}/c.jsonl"], "c.jsonl"),
        (["personas", "refresh-census", "--out", f"{tmp}/m.json"], "m.json"),
        (["traits", "draft", "stub", "--description", "x", "--model", "nope", "--out-dir", str(tmp)], "stub_eval.json"),
        (["demo", "--log-dir", str(tmp), "--model", "nope", "--trait", "evil"], "evil.safetensors"),
        (["demo", "--log-dir", str(tmp), "--model", "nope", "--trait", "evil"], "trait_steering.csv"),
        (["viz", "vector-cosine", "nope.safetensors", "--layer", "1", "--out", f"{tmp}/cos.png"], "cos.png"),
        (["viz", "vector-cosine", "nope.safetensors", "--layer", "1", "--out", f"{tmp}/cos.png"], "cos.csv"),
        (["vectors", "shift", "--base", "nope", "--adapters", "nope", "--vector", "nope", "--layer", "1",
          "--out", f"{tmp}/new.csv", "--plot", f"{tmp}/shift.png"], "shift.png"),
        (["vectors", "shift", "--base", "nope", "--adapters", "nope", "--vector", "nope", "--layer", "1",
          "--out", f"{tmp}/new.csv", "--plot", f"{tmp}/shift.png"], "shift.csv"),
        (["vectors", "project", "d.jsonl", "--vector", "nope", "--layer", "1", "--out", f"{tmp}/kept.jsonl",
          "--keep-below", "0", "--csv", f"{tmp}/screen.csv"], "screen.csv"),
        (["finetune-data", "evil", "--from-logs", "pos", "neg", "--out", str(tmp)], "trait.jsonl"),
        (["finetune-data", "evil", "--model", "nope", "--out", str(tmp)], "trait_2.jsonl"),
        (["vectors", "choose", "nope", "--out", f"{tmp}/choice.csv"], "choice.csv"),
        (["vectors", "choose", "nope", "--out", f"{tmp}/new.csv", "--plot", f"{tmp}/choice.png"], "choice.png"),
        (["vectors", "choose", "nope", "--out", f"{tmp}/new.csv", "--plot", f"{tmp}/choice.png"], "choice.csv"),
        (["vectors", "separability", "nope", "nope", "--vector", "nope", "--out", f"{tmp}/sep.csv"], "sep.csv"),
        (["vectors", "separability", "nope", "nope", "--vector", "nope", "--out", f"{tmp}/new.csv",
          "--plot", f"{tmp}/auc.png"], "auc.csv"),
    ]
    for path, _ in commands():
        if path[0] == "viz" and path[1] != "vector-cosine":
            # every plot writes its table beside the PNG: that one alone must be refused too
            cases.append(([*path, "nope.eval", "--out", f"{tmp}/plot.png"], "plot.csv"))
    return cases


def test_every_plot_declares_the_csv_of_its_numbers():
    """An output matplotlib writes (`image_path`) has its table beside it: same name, .csv."""
    from persona_evals.commands.viz.options import image_path

    plots, bare = 0, []
    for path, parser in commands():
        for out in parser.get_default("_outputs") or []:
            action = next(a for a in parser._actions if a.dest == out.dest)
            if action.type is image_path:
                plots += 1
                if ".csv" not in out.companions:
                    bare.append(f"{' '.join(path)} {out.flag}")
    assert bare == [] and plots >= 20


def test_two_outputs_on_one_file_are_refused_before_any_work(tmp_path, capsys):
    out, plot = tmp_path / "auc.csv", tmp_path / "auc.png"
    assert main(["vectors", "separability", "nope", "nope", "--vector", "nope", "--out", str(out), "--plot", str(plot)]) == 2
    assert f"--out {out} and --plot {plot} both write {out}: give them different names" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_every_writer_is_covered_here(tmp_path):
    argvs = [argv for argv, _ in _writers(tmp_path)]
    writers = [path for path, p in commands() if p.get_default("_outputs")]
    assert [w for w in writers if not any(tuple(a[: len(w)]) == w for a in argvs)] == []


@pytest.mark.parametrize("case", range(len(_writers("T"))), ids=lambda i: " ".join(_writers("T")[i][0][:2]))
def test_an_existing_output_is_refused_before_any_work(tmp_path, capsys, case):
    argv, existing = _writers(tmp_path)[case]
    target = tmp_path / existing
    target.write_text(SENTINEL)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{target} already exists; pass --overwrite" in err and "Traceback" not in err
    assert target.read_text() == SENTINEL
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]  # nothing else written, no temp file


def test_a_folder_where_a_file_goes_and_a_file_where_a_folder_goes(tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text(SENTINEL)
    assert main(["opinion", "metrics", "nope", "--json", str(tmp_path / "dir")]) == 2
    assert f"--json {tmp_path / 'dir'} is a directory" in capsys.readouterr().err
    assert main(["personas", "sample", "--out", str(tmp_path / "file" / "x.jsonl")]) == 2
    assert f"{tmp_path / 'file'} is a file, so it cannot hold a folder" in capsys.readouterr().err
    assert main(["metrics", "nope", "--out-dir", str(tmp_path / "file")]) == 2
    assert f"--out-dir {tmp_path / 'file'} is a file; give a folder" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == SENTINEL


def test_overwrite_replaces_the_file_whole(tmp_path, capsys):
    out = tmp_path / "new" / "s.jsonl"
    argv = ["personas", "sample", "--states", "WY", "--n", "2", "--out", str(out)]
    assert main(argv) == 0
    first = out.read_text()
    assert main([*argv, "--seed", "1"]) == 2 and out.read_text() == first
    assert main([*argv, "--seed", "1", "--overwrite"]) == 0
    assert out.read_text() != first and len(out.read_text().splitlines()) == 2
    assert [p.name for p in out.parent.iterdir()] == ["s.jsonl"]


def test_atomic_path_leaves_the_old_file_on_error_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "plot.png"
    target.write_text(SENTINEL)
    with pytest.raises(RuntimeError), atomic_path(target, overwrite=True) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp != target
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == SENTINEL and [p.name for p in tmp_path.iterdir()] == ["plot.png"]
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_atomic_files_get_the_umask_mode_or_keep_the_replaced_files_mode(tmp_path):
    """mkstemp makes 0600 files: a plot or vector written through it must be as readable as any file."""
    from persona_evals.paths import write_text_atomic

    old = os.umask(0o027)
    try:
        fresh = write_text_atomic(tmp_path / "fresh.csv", "a\n")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
        kept = tmp_path / "kept.csv"
        kept.write_text("old")
        kept.chmod(0o604)
        write_text_atomic(kept, "new", overwrite=True)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_text() == "new"
    finally:
        os.umask(old)


def test_failed_projection_or_extraction_leaves_the_old_file(tiny_llama, tmp_path, capsys):
    """--overwrite, but the command fails after the expensive part: the old file stays."""
    import torch

    from persona_evals.steering.vectors import save_vectors

    pos = trait_log(tmp_path / "pos", "pos", score=50)
    neg = trait_log(tmp_path / "neg", "neg", score=50)  # neg >= 50: no pair survives the filter
    vector = save_vectors(tmp_path / "in.safetensors", {"response_avg": torch.randn(5, 64)})
    csv, vec = tmp_path / "q.csv", tmp_path / "v.safetensors"
    csv.write_text(SENTINEL)
    vec.write_text(SENTINEL)
    argv = ["vectors", "project", pos, "--model", tiny_llama, "--vector", str(vector), "--layer", "1"]
    assert main([*argv, "--base-model", str(tmp_path / "nope"), "--out", str(csv), "--overwrite"]) == 2
    assert "nope does not exist" in capsys.readouterr().err and csv.read_text() == SENTINEL
    argv = ["vectors", "extract", "--pos", pos, "--neg", neg, "--model", tiny_llama, "--out", str(vec), "--overwrite"]
    assert main(argv) == 2
    assert "no pair survives" in capsys.readouterr().err and vec.read_text() == SENTINEL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.safetensors", "neg", "pos", "q.csv", "v.safetensors"]
