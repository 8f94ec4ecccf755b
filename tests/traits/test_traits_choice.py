"""`persona-evals vectors choose`: per layer, the largest coefficient whose mean coherence stays at
or above the threshold, on hand-built sweep logs whose scores we set."""

import csv
import math

import pytest
from traits_support import grader, sweep_logs

from persona_evals.cli import main
from persona_evals.testing import scripted_model, scripted_output

# (layer, coef): (trait, coherence). Layer 8's coherence dips at coef 1 and recovers at 2: the rule
# takes the largest passing coefficient, not the last before the first failure.
CELLS = {
    (4, 0.0): (5, 95), (4, 1.0): (30, 85), (4, 2.0): (60, 76), (4, 3.0): (90, 60),
    (8, 0.0): (5, 90), (8, 1.0): (40, 74), (8, 2.0): (70, 80), (8, 3.0): (95, 50),
}


def unscored_grader():
    def reply(messages, config):
        return scripted_output("REFUSAL", top_logprobs={"REFUSAL": -0.01})

    return scripted_model(reply)


def sweep(log_dir, cells, judge=grader):
    return sweep_logs(log_dir, [judge(*(v or ())) for v in cells.values()], cells, "vecs/evil.safetensors")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("sweep"), CELLS)


def rows_of(path):
    return {int(r["layer"]): r for r in csv.DictReader(open(path))}


def test_choose_picks_the_largest_coefficient_keeping_coherence(sweep_dir, tmp_path, capsys):
    out = tmp_path / "choice.csv"
    plot = tmp_path / "steer.png"  # its numbers: steer.csv
    assert main(["vectors", "choose", str(sweep_dir), "--out", str(out), "--plot", str(plot), "--apply"]) == 0
    rows = rows_of(out)
    assert float(rows[4]["coef"]) == 2.0 and float(rows[4]["trait_mean"]) == pytest.approx(60)
    assert float(rows[8]["coef"]) == 2.0 and float(rows[8]["coherence_mean"]) == pytest.approx(80)
    assert (rows[4]["best"], rows[8]["best"]) == ("False", "True")  # layer 8's choice expresses the trait more
    assert (rows[4]["n_passing"], rows[8]["n_passing"]) == ("3", "2")
    assert plot.read_bytes()[:4] == b"\x89PNG"
    drawn = list(csv.DictReader(open(tmp_path / "steer.csv")))  # the plot's numbers: every cell, the choice marked
    assert len(drawn) == len(CELLS) and {r["min_coherence"] for r in drawn} == {"75.0"}
    assert sorted((float(r["layer"]), float(r["coef"])) for r in drawn if r["chosen"] == "True") == [(4, 2.0), (8, 2.0)]
    for r in drawn:
        trait, coherence = CELLS[int(float(r["layer"])), float(r["coef"])]
        assert (float(r["trait_mean"]), float(r["coherence_mean"])) == pytest.approx((trait, coherence))
    printed = capsys.readouterr().out
    assert "evil layer 8: coef 2: trait 70.0, coherence 80.0 (2 of 4 coefficients keep coherence >= 75)  <- best" in printed
    assert printed.strip().splitlines()[-1].endswith("-M vector=vecs/evil.safetensors -M layer=8 -M coef=2")


def test_a_stricter_threshold_and_the_down_direction(sweep_dir, tmp_path, capsys):
    out = tmp_path / "strict.csv"
    assert main(["vectors", "choose", str(sweep_dir), "--out", str(out), "--min-coherence", "85"]) == 0
    rows = rows_of(out)
    assert float(rows[4]["coef"]) == 1.0
    assert float(rows[8]["coef"]) == 0.0 and "only coefficient 0 (no steering) passes" in rows[8]["note"]
    assert rows[4]["best"] == "True"
    assert main(["vectors", "choose", str(sweep_dir), "--out", str(out), "--min-coherence", "99", "--overwrite"]) == 0
    rows = rows_of(out)
    assert all(math.isnan(float(r["coef"])) for r in rows.values())
    assert "no coefficient keeps coherence >= 99" in rows[4]["note"]
    assert main(["vectors", "choose", str(sweep_dir), "--out", str(out), "--min-coherence", "99", "--overwrite", "--apply"]) == 2
    assert "nothing to apply" in capsys.readouterr().err
    assert main(["vectors", "choose", str(sweep_dir), "--out", str(out), "--direction", "down", "--overwrite"]) == 0
    assert float(rows_of(out)[8]["coef"]) == 0.0


def test_choose_refuses_logs_without_coherence_scores_and_bad_thresholds(tmp_path, capsys):
    blind = sweep(tmp_path / "blind", {(4, 1.0): None, (4, 2.0): None}, judge=lambda *_: unscored_grader())
    out = tmp_path / "c.csv"
    assert main(["vectors", "choose", str(blind), "--out", str(out)]) == 2
    assert "the logs have no coherence scores" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["vectors", "choose", str(blind), "--min-coherence", "120"])
    assert "expected a judge score between 0 and 100, got 120" in capsys.readouterr().err


def test_viz_trait_steering_marks_the_choice(sweep_dir, tmp_path, drawn):
    from persona_evals.viz import trait_steering

    calls = drawn(trait_steering, "plot_trait_steering")
    out = tmp_path / "steer.png"
    assert main(["viz", "trait-steering", "--log-dir", str(sweep_dir), "--out", str(out), "--min-coherence", "85"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    table = list(csv.DictReader(open(tmp_path / "steer.csv")))
    chosen = sorted((float(r["layer"]), float(r["coef"]), float(r["trait_mean"])) for r in table if r["chosen"] == "True")
    assert chosen == [(4, 1.0, 30), (8, 0.0, 5)]  # coherence >= 85: layer 4 up to coef 1, layer 8 only coef 0
    [(_, fig)] = calls
    trait_ax, coherence_ax = fig.axes
    [stars] = [c for c in trait_ax.collections if c.get_label().startswith("chosen")]
    assert sorted(map(tuple, stars.get_offsets().tolist())) == [(0.0, 5.0), (1.0, 30.0)]  # what the CSV marks
    [threshold] = [line for line in coherence_ax.get_lines() if line.get_label() == "coherence 85"]
    assert threshold.get_ydata()[0] == float(table[0]["min_coherence"]) == 85


def test_a_plot_whose_table_is_the_choice_csv_is_refused_before_any_work(sweep_dir, tmp_path, capsys):
    out, plot = tmp_path / "choice.csv", tmp_path / "choice.png"
    assert main(["vectors", "choose", str(sweep_dir), "--out", str(out), "--plot", str(plot)]) == 2
    assert f"--out {out} and --plot {plot} both write {out}: give them different names" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
