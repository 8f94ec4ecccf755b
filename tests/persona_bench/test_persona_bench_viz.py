"""PERSONA Bench plots and their tables, read from logs of scripted runs of the four tasks."""

import csv
import json
import math
import shutil

import pytest
from inspect_ai import eval
from persona_bench_support import critic_model, load_task, target_model

from persona_evals.cli import main
from persona_evals.persona_bench.results import mode_table
from persona_evals.stats.intervals import bootstrap_mean_ci

FIXTURES = {"personas": "fixture", "questions": "fixture"}


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """One log of each task in one directory."""
    logs = tmp_path_factory.mktemp("bench_logs")
    runs = [
        (load_task("prism_personalization")(pairs=4, **FIXTURES), target_model()),
        (load_task("leave_one_out")(config='{"attributes": ["age", "religion"]}', pairs=3, **FIXTURES), target_model()),
        (
            load_task("intersectionality")(
                config='[{"name": "60+", "clauses": [{"attribute": "age", "min": 60}]},'
                ' {"name": "men", "clauses": [{"attribute": "sex", "values": ["male"]}]}]',
                pairs_per_intersection=3,
                **FIXTURES,
            ),
            target_model(old_fails=True),
        ),
        (load_task("pass_at_k")(k=4, pairs=3, sampling_seed=2, **FIXTURES), target_model(pass_rule=lambda s: s % 3 == 0)),
    ]
    for task, target in runs:
        [log] = eval(task, model=target, model_roles={"critic": critic_model()}, display="none", log_dir=str(logs))
        assert log.status == "success", log.error
    return logs


def plot(name, log_dir, out):
    assert main(["viz", name, "--log-dir", str(log_dir), "--out", str(out)]) == 0
    assert out.stat().st_size > 5000  # a real PNG
    with out.with_suffix(".csv").open() as handle:
        return list(csv.DictReader(handle))


def test_modes_plot(log_dir, tmp_path):
    rows = plot("persona-modes", log_dir, tmp_path / "modes.png")
    acc = {r["mode"]: float(r["accuracy"]) for r in rows}
    assert acc == {"baseline": 0.0, "output_only": 1.0, "chain_of_thought": 1.0, "demographic_summary": 1.0}
    assert all(int(r["n"]) == 4 for r in rows)
    assert all(float(r["mean_answer_tokens"]) == 1.0 for r in rows)  # scripted outputs report 1 token


def test_loo_plot_is_sorted_with_correct_labels(log_dir, tmp_path):
    rows = plot("persona-loo", log_dir, tmp_path / "loo.png")
    drops = {r["attribute"]: float(r["drop"]) for r in rows}
    assert drops == {"(all listed)": 1.0, "age": 1.0, "religion": 0.0}


def test_intersections_plot(log_dir, tmp_path):
    rows = plot("persona-intersections", log_dir, tmp_path / "x.png")
    acc = {r["intersection"]: float(r["accuracy"]) for r in rows}
    assert acc["60+"] == 0.0 and 0.0 <= acc["men"] <= 1.0


def test_pass_at_k_plot_reads_the_reducers(log_dir, tmp_path):
    rows = plot("persona-pass-at-k", log_dir, tmp_path / "pk.png")
    assert [int(r["k"]) for r in rows] == [1, 2, 3, 4]
    curve = [float(r["pass_at_k"]) for r in rows]
    assert curve == sorted(curve) and curve[0] < curve[-1]


def test_plot_without_logs_of_its_task_is_an_error(tmp_path, capsys):
    empty = tmp_path / "none"
    empty.mkdir()
    assert main(["viz", "persona-loo", "--log-dir", str(empty), "--out", str(tmp_path / "a.png")]) == 2
    assert "no eval logs" in capsys.readouterr().err


def test_mode_gain_is_in_percent():
    import pandas as pd

    df = pd.DataFrame(
        {
            "model": ["m"] * 8,
            "metadata_mode": ["baseline"] * 4 + ["output_only"] * 4,
            "metadata_pair_id": [f"p{i}" for i in range(4)] * 2,
            "score": [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0],
        }
    )
    rows = {r["mode"]: r for r in mode_table(df)}
    assert rows["output_only"]["gain_pct"] == pytest.approx(100.0)
    # delta method for the ratio 0.5 / 0.25 = 2 with the paired covariance, by hand:
    # se_m^2 = 1/12, se_b^2 = 1/16, cov = 4 * (1/6) / 16 = 1/24; var = (1/12 + 4/16 - 4/24) / 0.25^2
    assert rows["output_only"]["gain_pct_se"] == pytest.approx(100 * math.sqrt((1 / 12 + 4 / 16 - 4 / 24) / 0.0625))
    assert math.isnan(rows["baseline"]["gain_pct"])


def test_bootstrap_ci_brackets_the_mean():
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    low, high = bootstrap_mean_ci(values, 2000, seed=0)
    assert low < sum(values) / len(values) < high
    assert 0.0 <= low and high <= 1.0
    assert json.dumps([low, high])  # plain floats


def test_plot_of_another_tasks_logs_names_the_task(log_dir, tmp_path, capsys):
    from inspect_ai.log import list_eval_logs, read_eval_log

    [loo] = [i.name for i in list_eval_logs(str(log_dir)) if read_eval_log(i.name, header_only=True).eval.task.endswith("leave_one_out")]
    assert main(["viz", "persona-modes", loo.removeprefix("file://"), "--out", str(tmp_path / "m.png")]) == 2
    assert "no prism_personalization samples" in capsys.readouterr().err


def test_modes_are_tested_against_baseline_on_shared_pairs():
    import pandas as pd

    # 8 pairs: output_only right on 7, baseline on 0 -> b=7, c=0, p = 2 / 2**7
    df = pd.DataFrame(
        {
            "model": ["m"] * 16,
            "metadata_mode": ["baseline"] * 8 + ["output_only"] * 8,
            "metadata_pair_id": [f"p{i}" for i in range(8)] * 2,
            "score": [0.0] * 8 + [1.0] * 7 + [float("nan")],
        }
    )
    rows = {r["mode"]: r for r in mode_table(df)}
    assert rows["output_only"]["n_paired"] == 7  # the unscored pair is left out of the test
    assert rows["output_only"]["p_vs_baseline"] == pytest.approx(2 / 2**7)
    assert math.isnan(rows["baseline"]["p_vs_baseline"])


def test_the_same_samples_in_two_logs_is_an_error(log_dir, tmp_path, capsys):
    from inspect_ai.log import list_eval_logs, read_eval_log

    [main_log] = [
        i.name.removeprefix("file://")
        for i in list_eval_logs(str(log_dir))
        if read_eval_log(i.name, header_only=True).eval.task.endswith("prism_personalization")
    ]
    task = load_task("prism_personalization")(mode="output_only", pairs=4, **FIXTURES)
    [rerun] = eval(task, model=target_model(), model_roles={"critic": critic_model()}, display="none", log_dir=str(tmp_path))
    assert main(["viz", "persona-modes", main_log, rerun.location, "--out", str(tmp_path / "m.png")]) == 2
    assert "more than one log" in capsys.readouterr().err


def test_mode_ci_is_clipped_to_the_score_range_and_nan_stays_nan():
    import pandas as pd

    df = pd.DataFrame({"model": ["m"] * 3, "metadata_mode": ["baseline", "output_only", "output_only"],
                       "metadata_pair_id": ["a", "a", "b"], "score": [1.0, 1.0, 0.0]})
    rows = {r["mode"]: r for r in mode_table(df)}
    assert math.isnan(rows["baseline"]["ci_low"])  # one sample: no standard error, no interval
    assert rows["output_only"]["ci_low"] == 0.0 and rows["output_only"]["ci_high"] == 1.0


def test_several_epochs_are_averaged_per_pair_not_overwritten():
    import numpy as np
    import pandas as pd
    from scipy.stats import binomtest

    from persona_evals.scorers.metrics import scores_by_pair
    from persona_evals.persona_bench.results import mean_over_epochs

    # 6 pairs x 2 modes x 3 epochs; pair p5's output_only epochs are all unscored
    rng = np.random.default_rng(0)
    rows = []
    for mode in ("baseline", "output_only"):
        for i in range(6):
            for epoch in (1, 2, 3):
                score = float(rng.integers(0, 2)) if (mode, i) != ("output_only", 5) else float("nan")
                rows.append({"model": "m", "id": f"p{i}__{mode}", "epoch": epoch, "metadata_mode": mode,
                             "metadata_pair_id": f"p{i}", "score": score})
    per_epoch = pd.DataFrame(rows)
    with pytest.raises(ValueError, match="more than one baseline score"):
        scores_by_pair(zip(per_epoch["metadata_mode"], per_epoch["metadata_pair_id"], per_epoch["score"]))
    df = mean_over_epochs(per_epoch)
    assert len(df) == 12 and set(df["epochs"]) == {3}
    table = {r["mode"]: r for r in mode_table(df)}
    means = per_epoch.groupby(["metadata_mode", "metadata_pair_id"])["score"].mean()  # independent
    base, mine = means["baseline"], means["output_only"].dropna()
    assert table["baseline"]["accuracy"] == pytest.approx(base.mean()) and table["baseline"]["n"] == 6
    assert table["output_only"]["n"] == 5 and table["output_only"]["unscored"] == 1
    assert table["output_only"]["stderr"] == pytest.approx(mine.std(ddof=1) / np.sqrt(5))
    shared = mine.index
    b, c = int((mine > base[shared]).sum()), int((mine < base[shared]).sum())
    assert table["output_only"]["n_paired"] == 5
    assert table["output_only"]["p_vs_baseline"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue if b + c else 1.0)
    # % gain and its delta-method error, with the covariance over the shared pairs
    ratio = mine.mean() / base.mean()
    cov = 5 * np.cov(mine.values, base[shared].values)[0, 1] / (5 * 6)
    se_m, se_b = mine.std(ddof=1) / np.sqrt(5), base.std(ddof=1) / np.sqrt(6)
    expected = 100 * np.sqrt(se_m**2 + ratio**2 * se_b**2 - 2 * ratio * cov) / base.mean()
    assert table["output_only"]["gain_pct"] == pytest.approx(100 * (ratio - 1))
    assert table["output_only"]["gain_pct_se"] == pytest.approx(expected)


def test_each_log_header_is_read_once(log_dir, tmp_path, monkeypatch):
    import inspect_ai.log

    reads = []
    original = inspect_ai.log.read_eval_log
    monkeypatch.setattr(inspect_ai.log, "read_eval_log", lambda path, **kw: reads.append(path) or original(path, **kw))
    for name in ("persona-modes", "persona-pass-at-k"):
        reads.clear()
        plot(name, log_dir, tmp_path / f"{name}.png")
        assert len(reads) == 4 and len(set(reads)) == 4  # the four tasks' logs, each once (samples_df reads the samples)


PLOTTED = {"persona-modes": "prism_personalization", "persona-loo": "leave_one_out",
           "persona-intersections": "intersectionality", "persona-pass-at-k": "pass_at_k"}


@pytest.mark.parametrize("name", list(PLOTTED))
def test_an_unfinished_log_of_the_plotted_task_is_refused(log_dir, tmp_path, capsys, name):
    """The rule of every reader (`logs.check_all_finished`): a log an interrupted run left `started`
    holds some samples (pass@k's none of its reducers) and was plotted as if whole, or skipped."""
    from inspect_ai.log import list_eval_logs, read_eval_log, write_eval_log

    from persona_evals.logs import is_task

    copy = tmp_path / "logs"
    shutil.copytree(log_dir, copy)
    [path] = [info.name.removeprefix("file://") for info in list_eval_logs(str(copy))
              if is_task(read_eval_log(info, header_only=True).eval.task, PLOTTED[name])]
    log = read_eval_log(path)
    log.status, log.results = "started", None  # as an interrupted eval leaves it
    write_eval_log(log, path)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["viz", name, "--log-dir", str(copy), "--out", str(out / "p.png")]) == 2
    assert f"{path} did not complete (status started): rerun it" in capsys.readouterr().err
    assert list(out.iterdir()) == []
