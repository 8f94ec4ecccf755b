"""`persona_evals.logs`: finding logs without reading them, and reading each once with one task check."""

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample

from persona_evals.logs import LogError, find_logs, read_logs
from persona_evals.testing import scripted_model


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")
    for name in ("capitals", "other_task"):
        [log] = eval(Task(dataset=[Sample(input="hi")], name=name), model=scripted_model(["hello"]),
                     log_dir=str(root), display="none")
        assert log.status == "success"
    return root


def test_find_lists_without_reading_and_read_names_what_is_not_a_log(log_dir, tmp_path):
    junk = tmp_path / "junk.eval"
    junk.write_bytes(b"not a zip")
    assert find_logs([str(junk)], "unused") == [str(junk)]  # not read yet
    with pytest.raises(LogError, match=f"{junk} is not a readable eval log"):
        read_logs([str(junk)])
    assert len(find_logs([], str(log_dir), newest_only=False)) == 2
    assert len(find_logs([], str(log_dir))) == 1  # the newest


def test_read_expands_folders_and_checks_the_task_once_for_all(log_dir):
    logs = read_logs([str(log_dir)])
    assert sorted(log.eval.task for log in logs) == ["capitals", "other_task"]
    assert all(log.samples is None for log in logs)  # header only
    with pytest.raises(LogError, match=r"expected capitals logs, got: \S+ \(other_task\)$"):
        read_logs([str(log_dir)], task="persona_evals/capitals")
    with pytest.raises(LogError, match="no eval logs given"):
        read_logs([])  # inspect would read its default log dir
