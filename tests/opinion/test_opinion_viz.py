"""Opinion plots: each writes a PNG from real (scripted) simulation logs; bad input is an error."""

from __future__ import annotations

import pytest
from inspect_ai import eval

from persona_evals.cli import main
from persona_evals.opinion.task import opinion_simulation
from persona_evals.testing import scripted_model
from persona_evals.opinion.results import tier_rows, topic_frame


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("opinion_logs")
    first = lambda m, c: "Answer: A"  # noqa: E731
    eval(
        opinion_simulation(states="NY,WY,CA", n_per_state=3),
        model=scripted_model(first),
        display="none",
        log_dir=str(root / "el"),
    )
    eval(
        opinion_simulation(context="custom", states="NY", n_per_state=2),
        model=scripted_model(first),
        display="none",
        log_dir=str(root / "custom"),
    )
    return root


@pytest.mark.parametrize(
    "plot,sub", [("opinion-tiers", "el"), ("opinion-states", "el"), ("opinion-topics", "custom")]
)
def test_plots_write_pngs(logs, tmp_path, plot, sub):
    out = tmp_path / f"{plot}.png"
    assert main(["viz", plot, str(logs / sub), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def run_plot(drawn, tmp_path, name, logs, figure):
    """Run `viz <name> logs`; (its CSV as a frame, the arguments `figure` drew, the figure)."""
    import pandas as pd

    from persona_evals.viz import opinion

    calls = drawn(opinion, figure)
    out = tmp_path / f"{name}.png"
    assert main(["viz", name, str(logs), "--out", str(out)]) == 0
    [(args, fig)] = calls
    return pd.read_csv(out.with_suffix(".csv")), args, fig


def test_tiers_csv_holds_the_means_drawn(logs, tmp_path, drawn):
    import pandas as pd

    from persona_evals.commands.opinion import collect_reports

    table, (frame,), fig = run_plot(drawn, tmp_path, "opinion-tiers", logs / "el", "tiers_figure")
    pd.testing.assert_frame_equal(table, frame, check_dtype=False)
    [row] = tier_rows(collect_reports([str(logs / "el")], "logs", None))  # one log, one question
    assert table[["tier", "abs_error", "bias", "n_rows"]].values.tolist() == [["meta", row["abs_error"], row["bias"], 1]]
    error_ax, bias_ax = fig.axes
    for ax, column in ((error_ax, "abs_error"), (bias_ax, "bias")):
        [line] = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata())]  # not the zero line or a legend proxy
        assert list(line.get_ydata()) == pytest.approx(list(table[column]))


def test_states_csv_holds_each_tiles_margins(logs, tmp_path, drawn):
    from persona_evals.commands.opinion import collect_reports

    table, (rows, _), _ = run_plot(drawn, tmp_path, "opinion-states", logs / "el", "states_figure")
    [report] = collect_reports([str(logs / "el")], "logs", None)
    [election] = [e["election"] for e in report["questions"].values() if "election" in e]
    real = {r["state"]: r for r in election["states"]}
    assert sorted(table["state"]) == ["CA", "NY", "WY"]
    for r in table.to_dict("records"):
        assert r["sim_margin"] == pytest.approx(real[r["state"]]["sim_margin"])
        assert r["real_margin"] == pytest.approx(real[r["state"]]["real_margin"])
        assert r["margin_diff"] == pytest.approx(r["sim_margin"] - r["real_margin"])
    assert {r["state"]: r["margin_diff"] for r in rows} == {s: pytest.approx(d) for s, d in zip(table["state"], table["margin_diff"])}


def test_topics_csv_holds_the_bar_lengths(logs, tmp_path, drawn):
    import pandas as pd

    table, (frame,), fig = run_plot(drawn, tmp_path, "opinion-topics", logs / "custom", "topics_figure")
    pd.testing.assert_frame_equal(table, frame, check_dtype=False)
    assert set(table["n_logs"]) == {1} and set(table["tier"]) == {"meta"}
    for ax, (question, shares) in zip(fig.axes, table.groupby("question", sort=False)):
        assert ax.get_title() == question
        widths = [bar.get_width() for bars in ax.containers for bar in bars]  # one bar per option
        assert sorted(widths) == pytest.approx(sorted(shares["share"])) and sum(widths) == pytest.approx(1)


def test_state_grid_needs_one_election(logs, tmp_path, capsys):
    import shutil

    assert main(["viz", "opinion-states", str(logs / "custom"), "--out", str(tmp_path / "x.png")]) == 2
    assert "no election item" in capsys.readouterr().err
    [log] = (logs / "el").iterdir()
    copy = shutil.copy(log, tmp_path / "copy.eval")
    assert main(["viz", "opinion-states", str(log), str(copy), "--out", str(tmp_path / "x.png")]) == 2
    assert "several election items" in capsys.readouterr().err  # a grid of one would hide the other
    assert not (tmp_path / "x.png").exists()


def test_tier_rows_carry_election_error(logs):
    from persona_evals.commands.opinion import collect_reports

    rows = tier_rows(collect_reports([str(logs / "el")], "logs", None))
    assert len(rows) == 1 and rows[0]["tier"] == "meta"
    assert 0.0 <= rows[0]["abs_error"] <= 1.0


def test_topic_options_are_named_by_the_stance_the_run_showed(logs):
    from persona_evals.commands.opinion import collect_reports
    from persona_evals.opinion.questions import load_context

    frame = topic_frame(collect_reports([str(logs / "custom")], "logs", None))
    stances = {q.question_id: {o.stance for o in q.candidates.values()} for q in load_context("custom")}
    assert len(frame) and all(option in stances[q] for q, option in zip(frame["question"], frame["option"]))


def test_each_log_is_read_once(logs, tmp_path, log_reads):
    assert main(["viz", "opinion-tiers", str(logs / "el"), "--out", str(tmp_path / "t.png")]) == 0
    assert len(log_reads) == 1
