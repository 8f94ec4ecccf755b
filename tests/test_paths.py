"""Task arguments that name files resolve against the shell's directory, as inspect changes the
working directory to the task file's folder while it creates and runs a task."""

import json
import os

import pytest
from persona_bench_support import TASKS, load_task

from persona_evals.paths import user_path


def test_relative_path_prefers_the_shell_directory(tmp_path, monkeypatch):
    shell, task_dir = tmp_path / "shell", tmp_path / "tasks"
    shell.mkdir()
    task_dir.mkdir()
    (shell / "a.json").write_text("{}")
    (task_dir / "a.json").write_text("{}")
    (task_dir / "only_here.json").write_text("{}")
    monkeypatch.setenv("PWD", str(shell))
    monkeypatch.chdir(task_dir)
    assert user_path("a.json") == shell / "a.json"
    assert user_path("only_here.json") == task_dir / "only_here.json"  # inspect's convention still works
    assert user_path("new.json") == shell / "new.json"  # a file to write goes where the user is
    assert user_path(tmp_path / "x") == tmp_path / "x"


def test_task_config_relative_to_where_the_user_ran_inspect(tmp_path, monkeypatch):
    (tmp_path / "loo.json").write_text(json.dumps({"attributes": ["age"]}))
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.chdir(TASKS)  # what `inspect eval tasks/leave_one_out.py` does while creating the task
    task = load_task("leave_one_out")(config="loo.json", pairs=1, personas="fixture", questions="fixture")
    assert {s.metadata["variant"] for s in task.dataset} == {"full", "none", "drop:age"}
    with pytest.raises(ValueError, match=str(tmp_path / "missing.json")):
        load_task("leave_one_out")(config="missing.json", personas="fixture", questions="fixture")
    assert os.getcwd() == str(TASKS)
