import csv

import pytest

from persona_evals.accuracy.metrics import MetricRow
from persona_evals.accuracy.tables import write_csv
from persona_evals.cli import main


def rows():
    def row(model, task, metric, value, verdict):
        return MetricRow(
            model=model,
            mitigation="none",
            task=task,
            metric=metric,
            persona="p",
            value=value,
            p_value=0.01 if verdict != "Not significant" else 0.5,
            verdict=verdict,
            baseline_accuracy=0.5,
            n_items=10,
        )

    return [
        row("m1", "gsm8k", "advantage:static", 0.1, "Positive"),
        row("m1", "truthfulqa", "advantage:static", -0.2, "Negative"),
        row("m1", "gsm8k", "robustness:names", -0.05, "Not significant"),
        row("m2", "gsm8k", "advantage:static", 0.0, "Not significant"),
        row("m2", "truthfulqa", "robustness:names", float("nan"), "Not significant"),
    ]


def test_heatmap_and_verdict_bars_from_a_metrics_csv(tmp_path):
    path = write_csv(rows(), tmp_path / "metrics.csv")
    assert len(list(csv.DictReader(path.open()))) == 5
    for plot in ("accuracy-heatmap", "accuracy-verdicts"):
        out = tmp_path / f"{plot}.png"
        assert main(["viz", plot, "--csv", str(path), "--out", str(out)]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_have_one_panel_per_metric_and_per_model():
    pytest.importorskip("matplotlib")
    from persona_evals.viz.accuracy import heatmap_figure, verdict_figure

    data = [r.as_dict() for r in rows()]
    heat = heatmap_figure(data)
    titles = [ax.get_title() for ax in heat.axes if ax.get_title()]
    assert titles == ["advantage:static", "robustness:names"]
    bars = verdict_figure(data)
    assert [ax.get_title() for ax in bars.axes] == ["m1", "m2"]
    # m1: advantage has one Positive and one Negative task
    assert sum(bar.get_width() for c in bars.axes[0].containers for bar in c) == 3


def test_no_rows_for_the_mitigation_is_a_user_error(tmp_path, capsys):
    path = write_csv(rows(), tmp_path / "metrics.csv")
    assert main(["viz", "accuracy-heatmap", "--csv", str(path), "--mitigation", "refine"]) == 2
    assert "no metric rows for --mitigation refine" in capsys.readouterr().err
