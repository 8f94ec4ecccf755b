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


def test_the_heatmaps_csv_holds_its_cells(tmp_path, drawn):
    import math

    from persona_evals.viz import accuracy

    calls = drawn(accuracy, "heatmap_figure")
    out = tmp_path / "heat.png"
    assert main(["viz", "accuracy-heatmap", "--csv", str(write_csv(rows(), tmp_path / "metrics.csv")), "--out", str(out)]) == 0
    table = list(csv.DictReader(out.with_suffix(".csv").open()))
    [((drawn_rows,), fig)] = calls
    assert [(r["model"], r["task"], r["metric"], r["verdict"]) for r in table] == [
        (r.model, r.task, r.metric, r.verdict) for r in rows()]
    for r, d in zip(table, drawn_rows, strict=True):
        assert float(r["value"]) == d["value"] or math.isnan(float(r["value"])) and math.isnan(d["value"])
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {f"{float(r['value']):+.2f}" for r in table if r["value"] != "nan"} <= texts  # each cell's annotation


def test_the_verdict_bars_csv_holds_the_counts_drawn(tmp_path, drawn):
    from persona_evals.viz import accuracy

    calls = drawn(accuracy, "verdict_figure")
    out = tmp_path / "bars.png"
    assert main(["viz", "accuracy-verdicts", "--csv", str(write_csv(rows(), tmp_path / "metrics.csv")), "--out", str(out)]) == 0
    table = list(csv.DictReader(out.with_suffix(".csv").open()))
    counts = {(r["model"], r["metric"], r["verdict"]): int(r["n_tasks"]) for r in table}
    assert len(table) == 2 * 2 * 3  # models x metrics x verdicts, zeros included
    assert counts["m1", "advantage:static", "Positive"] == counts["m1", "advantage:static", "Negative"] == 1
    assert counts["m1", "advantage:static", "Not significant"] == 0
    assert counts["m2", "robustness:names", "Not significant"] == 1 and sum(counts.values()) == len(rows())
    [(_, fig)] = calls
    metrics = list(dict.fromkeys(r["metric"] for r in table))  # bottom to top
    for ax in fig.axes:  # a panel per model: each verdict's bars, one per metric
        for bars in ax.containers:
            drawn_counts = [bar.get_width() for bar in bars]
            assert drawn_counts == [counts[ax.get_title(), m, bars.get_label()] for m in metrics]


def test_a_verdict_the_bars_do_not_know_is_refused(tmp_path, capsys):
    bad = [r.as_dict() | {"verdict": "Positve"} if i == 0 else r.as_dict() for i, r in enumerate(rows())]
    path = tmp_path / "metrics.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(bad[0]))
        writer.writeheader()
        writer.writerows(bad)
    assert main(["viz", "accuracy-verdicts", "--csv", str(path), "--out", str(tmp_path / "b.png")]) == 2
    assert "verdicts 'Positve' are none of Positive, Not significant, Negative" in capsys.readouterr().err


def test_figures_have_one_panel_per_metric_and_per_model():
    pytest.importorskip("matplotlib")
    from persona_evals.accuracy.metrics import verdict_counts
    from persona_evals.viz.accuracy import heatmap_figure, verdict_figure

    data = [r.as_dict() for r in rows()]
    heat = heatmap_figure(data)
    titles = [ax.get_title() for ax in heat.axes if ax.get_title()]
    assert titles == ["advantage:static", "robustness:names"]
    bars = verdict_figure(verdict_counts(data))
    assert [ax.get_title() for ax in bars.axes] == ["m1", "m2"]
    # m1: advantage has one Positive and one Negative task
    assert sum(bar.get_width() for c in bars.axes[0].containers for bar in c) == 3


def test_no_rows_for_the_mitigation_is_a_user_error(tmp_path, capsys):
    path = write_csv(rows(), tmp_path / "metrics.csv")
    assert main(["viz", "accuracy-heatmap", "--csv", str(path), "--mitigation", "refine"]) == 2
    assert "no metric rows for --mitigation refine" in capsys.readouterr().err
