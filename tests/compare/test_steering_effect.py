"""`persona-evals viz steering-effect` on logs of scripted runs: any task's metric vs the steering
coefficient, a line per (vector, layer), the unsteered run as every line's coef-0 point."""

from __future__ import annotations

import csv
import math
import statistics

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import match

from persona_evals.cli import main
from persona_evals.testing import scripted_model

N = 5
CELLS = [("evil", 4, 1.0), ("evil", 4, 2.0), ("evil", 8, 1.0), ("evil", 8, 2.0), ("humorous", 4, 1.0)]


def right_answers(vector, layer, coef):
    """How many of the N items the scripted model gets right in a cell (unsteered: N)."""
    return N if vector is None else max(0, N - int(coef) - (layer == 8) - (vector == "humorous"))


def toy_task():
    return Task(dataset=[Sample(input=f"q{i}", target=f"a{i}") for i in range(N)], scorer=match(), name="toy")


def toy_run(log_dir, vector=None, layer=None, coef=None):
    k = right_answers(vector, layer, coef)

    def reply(messages, config):
        i = int(messages[-1].text.removeprefix("q"))
        return f"a{i}" if i < k else "wrong"

    steering = {} if vector is None else {"vector": f"vectors/{vector}.safetensors", "layer": layer, "coef": coef}
    [log] = eval(toy_task(), model=scripted_model(reply, **steering), display="none", log_dir=str(log_dir))
    assert log.status == "success", log.error
    return log.location


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("toy_sweep")
    for cell in CELLS:
        toy_run(log_dir, *cell)
    toy_run(log_dir)
    return log_dir


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected_ci(k):
    """Normal interval from the sample standard error, clipped to [0, 1] (an accuracy)."""
    values = [1.0] * k + [0.0] * (N - k)
    se = statistics.stdev(values) / math.sqrt(N)
    return max(0.0, k / N - 1.959963984540054 * se), min(1.0, k / N + 1.959963984540054 * se)


def test_lines_per_vector_and_layer_with_the_baseline_at_zero(sweep, tmp_path):
    out = tmp_path / "effect.png"
    assert main(["viz", "steering-effect", str(sweep), "--metric", "accuracy", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_csv(out.with_suffix(".csv"))
    lines = {r["line"] for r in rows}
    assert lines == {"evil@L4", "evil@L8", "humorous@L4"}
    for r in rows:
        coef = float(r["coef"])
        vector, layer = r["line"].split("@L")
        cell = (None, None, None) if coef == 0 else (vector, int(layer), coef)
        k = right_answers(*cell)
        assert float(r["value"]) == pytest.approx(k / N)
        assert (r["baseline"] == "True") == (coef == 0)
        if 0 < k < N:
            assert (float(r["ci_low"]), float(r["ci_high"])) == pytest.approx(expected_ci(k))
        else:  # no spread: a zero-width interval
            assert float(r["ci_low"]) == pytest.approx(k / N) == pytest.approx(float(r["ci_high"]))
    assert sorted(float(r["coef"]) for r in rows if r["line"] == "evil@L8") == [0.0, 1.0, 2.0]
    assert {r["model"] for r in rows if r["line"] == "evil@L8" and r["coef"] == "2.0"} == {"mockllm/model + evil@L8×2"}


def test_each_log_is_read_once(sweep, tmp_path, log_reads):
    assert main(["viz", "steering-effect", str(sweep), "--metric", "accuracy", "--out", str(tmp_path / "e.png")]) == 0
    assert len(log_reads) == len(CELLS) + 1 and len(set(log_reads)) == len(log_reads)  # the cells and the baseline, once each


def test_unknown_metric_lists_the_available_ones(sweep, tmp_path, capsys):
    assert main(["viz", "steering-effect", str(sweep), "--metric", "trait", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "no log has metric 'trait'" in err and "accuracy" in err and "match/accuracy" in err
    assert main(["viz", "steering-effect", str(sweep), "--out", str(tmp_path / "x.png")]) == 2
    assert "pass --metric NAME; available: accuracy, match, match/accuracy" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_duplicate_points_and_existing_outputs_are_errors(sweep, tmp_path, capsys):
    import shutil

    twice = tmp_path / "twice"
    shutil.copytree(sweep, twice)
    toy_run(twice, "evil", 4, 2.0)
    assert main(["viz", "steering-effect", str(twice), "--metric", "accuracy", "--out", str(tmp_path / "d.png")]) == 2
    assert "two logs for evil@L4 at coef 2" in capsys.readouterr().err
    out = tmp_path / "e.png"
    assert main(["viz", "steering-effect", str(sweep), "--metric", "accuracy", "--out", str(out)]) == 0
    assert main(["viz", "steering-effect", str(sweep), "--metric", "accuracy", "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["viz", "steering-effect", str(sweep), "--metric", "accuracy", "--out", str(out), "--overwrite"]) == 0


def test_metrics_of_two_tasks_as_facets_need_allow_mixed(sweep, tmp_path, capsys):
    from traits_support import grader

    from persona_evals.traits.task import trait_expression

    mixed = tmp_path / "mixed"
    for coef, value in ((None, 5), (2.0, 65)):
        steering = {} if coef is None else {"vector": "vectors/evil.safetensors", "layer": 4, "coef": coef}
        [log] = eval(trait_expression(trait="evil", instruction="none"), model=scripted_model(lambda m, c: "an answer", **steering),
                     model_roles={"grader": grader(value, 90)}, limit=2, log_dir=str(mixed), display="none")
        assert log.status == "success", log.error
    args = ["viz", "steering-effect", str(sweep), str(mixed), "--metric", "accuracy", "--metric", "trait", "--out", str(tmp_path / "m.png")]
    assert main(args) == 2
    assert "several tasks (toy, trait_expression); pass --allow-mixed" in capsys.readouterr().err
    assert main([*args, "--allow-mixed"]) == 0
    rows = read_csv(tmp_path / "m.csv")
    trait = {(r["line"], float(r["coef"])): float(r["value"]) for r in rows if r["metric"] == "trait"}
    assert trait == {("evil@L4", 0.0): pytest.approx(5), ("evil@L4", 2.0): pytest.approx(65)}
    assert {r["task"] for r in rows if r["metric"] == "accuracy"} == {"toy"}


def test_help():
    with pytest.raises(SystemExit) as done:
        main(["viz", "steering-effect", "--help"])
    assert done.value.code == 0
