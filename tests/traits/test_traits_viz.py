"""`persona-evals viz trait-steering` on logs of scripted runs whose steering model args we set."""

import shutil

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import write_eval_log
from traits_support import grader, sweep_logs

from persona_evals.cli import main
from persona_evals.testing import scripted_model
from persona_evals.traits.task import trait_expression

CELLS = [(layer, coef) for layer in (4, 8) for coef in (0.5, 2.0)]


def expected(layer, coef):
    """The scores the scripted grader gives in a cell: trait 10*coef + layer, coherence 100 - 20*coef."""
    return 10 * coef + layer, 100 - 20 * coef


def run(log_dir, trait_value, coherence_value, model_args=None, trait="evil", model="mockllm/model"):
    log = eval(
        trait_expression(trait=trait, instruction="none"),
        model=scripted_model(lambda m, c: "an answer", name=model),
        model_roles={"grader": grader(trait_value, coherence_value)},
        limit=2,
        log_dir=str(log_dir),
        display="none",
    )[0]
    assert log.status == "success", log.error
    if model_args is not None:
        log.eval.model_args = model_args
        write_eval_log(log, log.location)
    return log.location


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """One eval call runs every cell (a task per cell, each with its own grader) and a baseline."""
    log_dir = tmp_path_factory.mktemp("sweep")
    cells = [expected(layer, coef) for layer, coef in CELLS] + [(3, 97)]  # last: unsteered baseline
    return sweep_logs(log_dir, [grader(*values) for values in cells], CELLS, "evil.safetensors")


def test_frame_reads_steering_args_and_scores(sweep_dir):
    from persona_evals.traits.results import steering_frame

    frame = steering_frame([str(sweep_dir)])
    assert len(frame) == 5
    baseline = frame[frame["layer"].isna()]
    assert baseline["trait_mean"].tolist() == pytest.approx([3.0])
    for layer, coef in CELLS:
        row = frame[(frame["layer"] == layer) & (frame["coef"] == coef)]
        assert len(row) == 1
        assert row["trait_mean"].item() == pytest.approx(expected(layer, coef)[0])
        assert row["coherence_mean"].item() == pytest.approx(expected(layer, coef)[1])


def test_cli_writes_png_with_the_right_lines_and_their_numbers_as_csv(sweep_dir, tmp_path, drawn, capsys):
    import pandas as pd

    from persona_evals.viz import trait_steering

    calls = drawn(trait_steering, "plot_trait_steering")
    out = tmp_path / "plots" / "steer.png"
    assert main(["viz", "trait-steering", "--log-dir", str(sweep_dir), "--out", str(out)]) == 0
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out} and {out.with_suffix('.csv')}" in capsys.readouterr().out
    [((frame,), fig)] = calls
    table = pd.read_csv(out.with_suffix(".csv"))
    pd.testing.assert_frame_equal(table, frame, check_dtype=False)  # the CSV is the frame drawn
    trait_ax, coherence_ax = fig.axes
    for ax, key in ((trait_ax, "trait"), (coherence_ax, "coherence")):
        lines = {line.get_label(): line for line in ax.get_lines()}
        bars = {container.get_label(): container for container in ax.containers}
        for layer in (4, 8):
            line = bars[f"layer {layer}"].lines[0]
            rows = table[table["layer"] == layer].sort_values("coef")
            assert list(line.get_xdata()) == list(rows["coef"]) == [0.5, 2.0]
            assert list(line.get_ydata()) == pytest.approx(list(rows[f"{key}_mean"]))
            assert list(rows[f"{key}_mean"]) == pytest.approx([expected(layer, c)[key == "coherence"] for c in (0.5, 2.0)])
        baseline = table[table["layer"].isna()]
        assert lines["unsteered"].get_ydata()[0] == pytest.approx(baseline[f"{key}_mean"].item())
        assert baseline[f"{key}_mean"].item() == pytest.approx(3.0 if key == "trait" else 97.0)


def test_logs_of_another_trait_need_a_filter(sweep_dir, tmp_path, capsys):
    mixed = tmp_path / "mixed"
    shutil.copytree(sweep_dir, mixed)
    run(mixed, 50, 50, model_args={"vector": "evil.safetensors", "coef": 1.0, "layer": 4}, trait="humorous")
    out = tmp_path / "p.png"
    assert main(["viz", "trait-steering", "--log-dir", str(mixed), "--out", str(out)]) == 2
    assert "mix several runs" in capsys.readouterr().err
    assert main(["viz", "trait-steering", "--log-dir", str(mixed), "--out", str(out), "--trait", "evil"]) == 0
    assert out.exists()


def test_duplicate_cells_and_other_tasks_are_errors(sweep_dir, tmp_path, capsys):
    from persona_evals.logs import LogError
    from persona_evals.traits.results import steering_frame

    dupe_dir = tmp_path / "dupe"
    shutil.copytree(sweep_dir, dupe_dir)
    run(dupe_dir, 1, 1, model_args={"vector": "evil.safetensors", "coef": 0.5, "layer": 4})
    assert main(["viz", "trait-steering", "--log-dir", str(dupe_dir), "--out", str(tmp_path / "d.png")]) == 2
    assert "layer 4 coef 0.5" in capsys.readouterr().err

    other_model = run(tmp_path / "models", 1, 1, model_args={"vector": "evil.safetensors", "coef": 3.0, "layer": 4}, model="mockllm/other")
    with pytest.raises(LogError, match="several models"):
        steering_frame([str(sweep_dir), other_model])

    other = eval(
        Task(dataset=[Sample(input="hi")], name="other_task"),
        model=scripted_model(["hello"]),
        log_dir=str(tmp_path / "other"),
        display="none",
    )[0]
    with pytest.raises(LogError, match="expected trait_expression logs.*other_task"):
        steering_frame([other.location])


def test_coef_defaults_to_the_providers_one(sweep_dir, tmp_path):
    from inspect_ai.log import list_eval_logs, read_eval_log

    from persona_evals.traits.results import steering_frame

    log = read_eval_log(list_eval_logs(str(sweep_dir))[0].name)
    log.eval.model_args = {"vector": "evil.safetensors", "layer": [6]}  # `-M layer=[6]`, no coef
    write_eval_log(log, str(tmp_path / "one.eval"))
    frame = steering_frame([str(tmp_path / "one.eval")])
    assert (frame["layer"].item(), frame["coef"].item()) == (6.0, 1.0)


def test_the_plot_reads_each_log_once(sweep_dir, tmp_path, log_reads):
    assert main(["viz", "trait-steering", str(sweep_dir), "--out", str(tmp_path / "p.png")]) == 0
    assert len(log_reads) == 5 and len(set(log_reads)) == 5  # four cells and the baseline, each read once
