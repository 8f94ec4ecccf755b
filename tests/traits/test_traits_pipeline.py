"""End to end on the tiny model: trait_expression (scripted grader) -> extract -> project -> steer."""

import csv

import pytest
import torch
from inspect_ai import eval
from inspect_ai.model import get_model

from persona_evals.cli import main
from persona_evals.scorers import metric_value
from persona_evals.steering.activations import encode_pair
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.loading import load_shared
from persona_evals.steering.vectors import load_vector
from persona_evals.testing import scripted_model, scripted_output
from persona_evals.traits.dataset import load_trait
from persona_evals.traits.results import read_trait_log
from persona_evals.traits.task import trait_expression

FIRST_QUESTION = load_trait("evil", "extract").questions[0]


def grader(trait_value: int):
    """Scores `trait_value` for the trait; coherence 80, except 20 for answers to question 0."""

    def reply(messages, config):
        text = messages[-1].text
        if "coheren" in text.lower():
            value = 20 if FIRST_QUESTION in text else 80
        else:
            value = trait_value
        return scripted_output(str(value), top_logprobs={str(value): -0.01, "REFUSAL": -6.0})

    return scripted_model(reply)


@pytest.fixture(scope="module")
def trait_logs(tiny_llama, tmp_path_factory):
    logs = tmp_path_factory.mktemp("trait-logs")
    out = {}
    for polarity, value in (("pos", 90), ("neg", 10)):
        log = eval(
            trait_expression(trait="evil", version="extract", instruction=polarity),
            model=get_model(f"steer/{tiny_llama}", memoize=False),
            model_roles={"grader": grader(value)},
            limit=10,
            max_tokens=8,
            log_dir=str(logs),
            display="none",
        )[0]
        assert log.status == "success"
        out[polarity] = log.location
    return out


def test_extract_filters_pairs_and_equals_a_per_sample_computation(tiny_llama, trait_logs, tmp_path):
    vec_path = tmp_path / "evil.safetensors"
    extract = ["vectors", "extract", "--pos", trait_logs["pos"], "--neg", trait_logs["neg"], "--out", str(vec_path)]
    assert main([*extract, "--dtype", "float32"]) == 0  # exact on any device (auto is bf16 on a GPU)
    vec = load_vector(str(vec_path))
    assert vec.tensor.shape == (5, 64) and vec.metadata["trait"] == "evil"
    counts = eval_json(vec.metadata["counts"])
    assert counts["paired"] == 10 and counts["after_pos_trait"] == 10 and counts["after_coherence"] == 5
    assert {"response_avg", "prompt_avg", "prompt_last"} <= set(load_keys(vec_path))

    # the same vector by hand: one plain forward per kept sample, means of per-sample means
    shared = load_shared(tiny_llama, dtype="float32")
    pos, neg = read_trait_log(trait_logs["pos"]), read_trait_log(trait_logs["neg"])
    kept = [k for k in pos.rows if k[0] != 0]
    def mean_response(log):
        acts = []
        for k in kept:
            row = log.rows[k]
            pair = encode_pair(shared, render_prompt(shared.tokenizer, row.input), row.answer)
            ids = torch.tensor([list(pair.prompt_ids) + list(pair.answer_ids)], device=shared.device)
            with torch.no_grad():
                hs = shared.model(ids, output_hidden_states=True).hidden_states
            acts.append(torch.stack([h[0, len(pair.prompt_ids):].mean(0) for h in hs[:-1]]).cpu())
        return torch.stack(acts).mean(0)
    manual = mean_response(pos) - mean_response(neg)
    torch.testing.assert_close(vec.tensor[:-1], manual, rtol=1e-4, atol=1e-4)


def test_extract_reports_progress_to_its_caller(tiny_llama, trait_logs, tmp_path):
    from persona_evals.commands.progress import ProgressBar
    from persona_evals.traits.extract import extract_vectors

    seen = []
    pos, neg = read_trait_log(trait_logs["pos"], "pos"), read_trait_log(trait_logs["neg"], "neg")
    extract_vectors(pos, neg, tmp_path / "v.safetensors", dtype="float32", batch_size=2,
                    progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 10) and seen[-1] == (10, 10)  # 5 kept pairs, both sides
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) == 1 + 2 * 3  # batches of 2
    with ProgressBar("activations", "sample") as bar:  # the command's bar follows the reports
        for done, total in seen:
            bar(done, total)
        assert (bar._bar.n, bar._bar.total) == (10, 10)


def test_project_then_steer_with_the_extracted_vector(tiny_llama, trait_logs, tmp_path):
    vec = str(tmp_path / "evil.safetensors")
    assert main(["vectors", "extract", "--pos", trait_logs["pos"], "--neg", trait_logs["neg"], "--out", vec]) == 0
    csv_path = tmp_path / "proj.csv"
    assert main(["vectors", "project", trait_logs["neg"], "--vector", vec, "--layer", "2", "--out", str(csv_path)]) == 0
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 10 and all(r["trait"] == "10.0" for r in rows)
    projections, logs = {}, []
    for coef in (0.0, 4.0):
        log = eval(
            trait_expression(trait="evil", version="eval", instruction="none"),
            model=get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=coef, monitor=vec, monitor_layer=2),
            model_roles={"grader": grader(50)},
            limit=4,
            max_tokens=6,
            display="none",
        )[0]
        assert log.status == "success"
        logs.append(log.location)
        scores = {s.name: s for s in log.results.scores}
        projections[coef] = metric_value(scores["proj"].metrics, "finite_mean").value
        assert scores["trait"].metrics["mean"].value == pytest.approx(50, abs=0.1)
    assert projections[4.0] > projections[0.0]
    png = tmp_path / "pt.png"
    assert main(["viz", "projection-trait", *logs, "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    from inspect_ai.log import read_eval_log

    from persona_evals.protocol import PROJ

    drawn = list(csv.DictReader((tmp_path / "pt.csv").open()))  # a point per sample: judged 50, its live projection
    assert len(drawn) == 8 and [float(r["trait"]) for r in drawn] == pytest.approx([50.0] * 8, abs=0.1)
    proj = sorted(s.scores["projection"].value[PROJ] for log in logs for s in read_eval_log(log).samples)
    assert sorted(float(r["proj"]) for r in drawn) == pytest.approx(proj)


def test_extract_errors(trait_logs, tmp_path, capsys):
    out = str(tmp_path / "v.safetensors")
    assert main(["vectors", "extract", "--pos", trait_logs["neg"], "--neg", trait_logs["neg"], "--out", out]) == 2
    assert "instruction='neg'; expected 'pos'" in capsys.readouterr().err
    assert main(["vectors", "extract", "--pos", trait_logs["pos"], "--neg", trait_logs["neg"], "--out", out, "--pos-threshold", "95"]) == 2
    err = capsys.readouterr().err
    assert "no pair survives" in err and "paired=10" in err and "after_pos_trait=0" in err
    assert main(["vectors", "extract", "--pos", "nope.eval", "--neg", trait_logs["neg"], "--out", out]) == 2
    assert "--pos: nope.eval does not exist" in capsys.readouterr().err


def eval_json(text):
    import json

    return json.loads(text)


def load_keys(path):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return list(f.keys())


def test_demo_pipeline_runs_on_the_tiny_model(tiny_llama, tmp_path, capsys):
    code = main(["demo", "--model", tiny_llama, "--log-dir", str(tmp_path / "demo"), "--layer", "2",
                 "--coefs", "0", "2", "--limit", "3", "--max-tokens", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert (tmp_path / "demo" / "evil.safetensors").exists() and (tmp_path / "demo" / "trait_steering.png").exists()
    plotted = list(csv.DictReader((tmp_path / "demo" / "trait_steering.csv").open()))  # the plot's numbers
    assert f"plot:   {tmp_path / 'demo' / 'trait_steering.png'}   (its numbers: {tmp_path / 'demo' / 'trait_steering.csv'})" in out
    # the model judges itself, exactly (candidates) and with the mass rule off: a smoke test
    assert "min numeric mass 0.0: its scores are a smoke test" in out
    assert "extracting from all pairs, unfiltered" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("0.0 ", "2.0 "))]
    assert [r[0] for r in rows] == ["0.0", "2.0"]
    for row in rows:  # coef, trait mean (scored/n), coherence mean (scored/n), projection, ...
        assert 0 <= float(row[1]) <= 100 and row[2] == "(3/3)" and 0 <= float(row[3]) <= 100 and row[4] == "(3/3)"
    assert [(float(r["coef"]), round(float(r["trait_mean"]), 1), round(float(r["coherence_mean"]), 1), round(float(r["proj_mean"]), 2))
            for r in plotted] == [(float(r[0]), float(r[1]), float(r[3]), float(r[5])) for r in rows]  # the table printed
    # the logs name the registered task and its arguments, so `inspect eval-retry` can rebuild it
    from inspect_ai.log import list_eval_logs, read_eval_log

    sweep = [read_eval_log(info, header_only=True).eval for info in list_eval_logs(str(tmp_path / "demo" / "sweep"))]
    assert len(sweep) == 2
    for spec in sweep:
        assert spec.task == "persona_evals/trait_expression"
        assert spec.task_args["version"] == "eval" and spec.task_args["instruction"] == "none"


def _scorer_names(log_dir):
    from inspect_ai.log import list_eval_logs, read_eval_log

    logs = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(log_dir))]
    return [(log.status, {s.name for s in log.results.scores} if log.results else set()) for log in logs]


def test_demo_after_an_interrupted_demo_replaces_its_logs_and_reports_projection_only_when_monitored(tiny_llama, tmp_path, capsys):
    from inspect_ai.log import list_eval_logs, read_eval_log, write_eval_log

    demo = tmp_path / "demo"
    args = ["demo", "--model", tiny_llama, "--log-dir", str(demo), "--layer", "2", "--coefs", "0", "2",
            "--limit", "2", "--max-tokens", "3"]
    assert main(args) == 0
    # the extraction evals have no monitor: no projection scorer (its metrics were all NaN); the sweep's do
    assert all(status == "success" and "proj" not in names and "prompt_last_proj" not in names for status, names in _scorer_names(demo / "extract"))
    assert all(status == "success" and "proj" in names for status, names in _scorer_names(demo / "sweep"))
    # an interrupted run: a sweep log left `started`, no plot yet
    log = read_eval_log(list_eval_logs(str(demo / "sweep"))[0])
    log.status = "started"
    write_eval_log(log, str(demo / "sweep" / "interrupted.eval"))
    (demo / "trait_steering.png").unlink()
    (demo / "trait_steering.csv").unlink()
    (demo / "evil.safetensors").unlink()
    capsys.readouterr()
    assert main(args) == 2  # without --overwrite: refused before any work
    assert "logs of an earlier demo run: pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert "removed 5 logs of an earlier demo run" in capsys.readouterr().out
    assert [s for s, _ in _scorer_names(demo / "extract")] == ["success"] * 2
    assert [s for s, _ in _scorer_names(demo / "sweep")] == ["success"] * 2  # only the new run's
    assert not (demo / "sweep" / "interrupted.eval").exists()
