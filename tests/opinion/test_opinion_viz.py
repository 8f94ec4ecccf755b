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


def test_state_grid_needs_an_election_log(logs, tmp_path, capsys):
    assert main(["viz", "opinion-states", str(logs / "custom"), "--out", str(tmp_path / "x.png")]) == 2
    assert "no election item" in capsys.readouterr().err


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


def test_each_log_is_read_once(logs, tmp_path, monkeypatch):
    import inspect_ai.log

    reads = []
    original = inspect_ai.log.read_eval_log
    monkeypatch.setattr(inspect_ai.log, "read_eval_log", lambda path, **kw: reads.append(path) or original(path, **kw))
    assert main(["viz", "opinion-tiers", str(logs / "el"), "--out", str(tmp_path / "t.png")]) == 0
    assert len(reads) == 1
