"""Bad input to the `persona-evals` commands: one clear line naming the argument or file, never a
traceback, never a silent success or a fall-back to other data."""

from __future__ import annotations

import urllib.error

import pytest
import torch
from cli_support import broken_logs, commands, trait_log

from persona_evals.cli import main
from persona_evals.steering.vectors import save_vectors


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A real trait_expression log, its broken copies, and an empty folder."""
    root = tmp_path_factory.mktemp("cli_errors")
    good = trait_log(root / "good", "pos")
    (root / "empty").mkdir()
    neg = trait_log(root / "neg", "neg")
    return {"good": good, "neg": neg, "empty_dir": root / "empty", **broken_logs(root / "broken", good)}


def error(argv, capsys) -> str:
    """Run a command that must fail cleanly; its one-line error (after any progress bar)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("persona-evals "), err
    return err.strip().splitlines()[-1]


def usage_error(argv, capsys) -> str:
    """A value argparse refuses (exit 2, usage and the message naming the argument)."""
    with pytest.raises(SystemExit) as ex:
        main(argv)
    assert ex.value.code == 2
    return capsys.readouterr().err


# -- help ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for p, _ in commands()] + [(), ("viz",), ("personas",), ("vectors",)],
                         ids=lambda p: " ".join(p) or "persona-evals")
def test_every_help_screen_prints(path, capsys):
    with pytest.raises(SystemExit) as ex:
        main([*path, "--help"])
    assert ex.value.code == 0
    assert "usage: persona-evals" in capsys.readouterr().out


# -- eval logs that are not logs -------------------------------------------------------------------

READERS = [
    lambda log, tmp: ["summary", log],
    lambda log, tmp: ["vectors", "extract", "--pos", log, "--neg", log, "--out", f"{tmp}/v.safetensors"],
    lambda log, tmp: ["vectors", "project", log, "--vector", "v.safetensors", "--layer", "1", "--out", f"{tmp}/p.csv"],
    lambda log, tmp: ["viz", "trait-steering", log, "--out", f"{tmp}/t.png"],
    lambda log, tmp: ["viz", "persona-modes", log, "--out", f"{tmp}/m.png"],
    lambda log, tmp: ["metrics", log, "--out-dir", str(tmp)],
    lambda log, tmp: ["opinion", "metrics", log],
]


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated"])
@pytest.mark.parametrize("reader", range(len(READERS)), ids=lambda i: " ".join(READERS[i]("L", "T")[:2]))
def test_a_broken_log_is_named(logs, tmp_path, capsys, kind, reader):
    err = error(READERS[reader](str(logs[kind]), tmp_path), capsys)
    assert str(logs[kind]) in err and ("empty file" in err if kind == "empty" else "not a readable eval log" in err)
    assert list(tmp_path.iterdir()) == []


COMPUTING_READERS = [
    lambda log, tmp: ["vectors", "extract", "--pos", log, "--neg", log, "--out", f"{tmp}/v.safetensors"],
    lambda log, tmp: ["vectors", "project", log, "--vector", "v.safetensors", "--layer", "1", "--out", f"{tmp}/p.csv"],
    lambda log, tmp: ["viz", "trait-steering", log, "--out", f"{tmp}/t.png"],
    lambda log, tmp: ["viz", "steering-effect", log, "--out", f"{tmp}/e.png"],
    lambda log, tmp: ["viz", "projection-trait", log, "--out", f"{tmp}/j.png"],
]


@pytest.mark.parametrize("reader", range(len(COMPUTING_READERS)), ids=lambda i: " ".join(COMPUTING_READERS[i]("L", "T")[:2]))
def test_an_unfinished_log_is_refused_by_every_reader_with_one_rule(logs, tmp_path, capsys, reader):
    """A log left `started` (an interrupted eval) holds some samples: every reader that computes
    from it refuses it the same way (`logs.check_finished`); `vectors project` wrote its CSV."""
    from inspect_ai.log import read_eval_log, write_eval_log

    log = read_eval_log(logs["good"])
    log.status = "started"
    started = tmp_path / "started.eval"
    write_eval_log(log, str(started))
    out = tmp_path / "out"
    out.mkdir()
    err = error(COMPUTING_READERS[reader](str(started), out), capsys)
    assert f"{started} did not complete (status started): rerun it (inspect eval-retry) or leave it out" in err
    assert list(out.iterdir()) == []


def test_a_folder_holding_a_broken_log_names_the_file(logs, capsys):
    err = error(["viz", "trait-steering", str(logs["garbage"].parent), "--out", "x.png"], capsys)
    assert any(f"{logs[kind]} is" in err for kind in ("empty", "garbage", "truncated"))


def test_summary_of_a_file_that_is_not_a_log(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    assert f"{tmp_path / 'empty.csv'} is not an eval log" in error(["summary", str(tmp_path / "empty.csv")], capsys)


# -- empty folders: an error naming the folder, never the default log dir --------------------------

EMPTY = [
    ["summary"], ["viz", "trait-steering"], ["viz", "opinion-tiers"], ["viz", "opinion-states"],
    ["viz", "opinion-topics"], ["viz", "accuracy-heatmap"], ["viz", "persona-loo"], ["opinion", "metrics"],
    ["metrics", "--out-dir", "{tmp}/results"], ["vectors", "project", "--vector", "v.safetensors", "--layer", "1", "--out", "{tmp}/p.csv"],
]


@pytest.mark.parametrize("argv", EMPTY, ids=lambda a: " ".join(a[:2]))
def test_an_empty_log_folder_is_an_error_naming_it(logs, tmp_path, capsys, argv, monkeypatch):
    monkeypatch.setenv("INSPECT_LOG_DIR", str(logs["good"].rsplit("/", 1)[0]))  # a real log elsewhere
    argv = [a.format(tmp=tmp_path) for a in argv]
    if argv[0] == "viz":
        argv += ["--out", f"{tmp_path}/plot.png"]
    err = error([*argv, str(logs["empty_dir"])], capsys)
    assert f"no eval logs (.eval or .json) in {logs['empty_dir']}" in err
    assert list(tmp_path.iterdir()) == []


def test_metrics_of_an_empty_folder_keeps_the_results_it_would_replace(logs, tmp_path, capsys):
    (tmp_path / "metrics.csv").write_text("good results\n")
    err = error(["metrics", str(logs["empty_dir"]), "--out-dir", str(tmp_path), "--overwrite"], capsys)
    assert str(logs["empty_dir"]) in err and (tmp_path / "metrics.csv").read_text() == "good results\n"


def test_vectors_extract_names_the_option_of_an_empty_folder(logs, tmp_path, capsys):
    argv = ["vectors", "extract", "--pos", str(logs["good"]), "--neg", str(logs["empty_dir"]), "--out", f"{tmp_path}/v.safetensors"]
    assert f"in --neg {logs['empty_dir']}" in error(argv, capsys)


# -- values refused while parsing --------------------------------------------------------------------

BAD_VALUES = [
    (["summary", "--samples", "-1"], "--samples", "'-1'"),
    (["vectors", "extract", "--pos", "p", "--neg", "n", "--out", "v.safetensors", "--batch-size", "0"], "--batch-size", "'0'"),
    (["vectors", "project", "l", "--vector", "v", "--layer", "1", "--out", "p.csv", "--batch-size", "0"], "--batch-size", "'0'"),
    (["vectors", "extract", "--pos", "p", "--neg", "n", "--out", "v.pt"], "--out", ".safetensors"),
    (["vectors", "extract", "--pos", "p", "--neg", "n", "--out", "v.safetensors", "--pos-threshold", "nan"], "--pos-threshold", "finite"),
    (["viz", "persona-loo", "--n-boot", "0"], "--n-boot", "'0'"),
    (["viz", "accuracy-heatmap", "--n-boot", "10"], "--n-boot", "from 100 to 100,000"),
    (["metrics", "--n-boot", "0"], "--n-boot", "from 100 to 100,000"),
    (["demo", "--limit", "0"], "--limit", "'0'"),
    (["demo", "--max-tokens", "-1"], "--max-tokens", "'-1'"),
    (["demo", "--coefs", "1", "nan"], "--coefs", "finite"),
    (["demo", "--layer", "0"], "--layer", "'0'"),
    (["sweep", "t.py", "--vector", "v", "--layers", "1", "--coefs", "inf"], "--coefs", "finite"),
    (["sweep", "t.py", "--vector", "v", "--layers", "1", "--coefs", "1", "--limit", "0"], "--limit", "'0'"),
    (["personas", "sample", "--out", "p.jsonl", "--n", "0"], "--n", "'0'"),
    (["personas", "values", "--top", "abc"], "--top", "'abc'"),
    (["personas", "generate", "p.jsonl", "--model", "m/x", "--out", "o.jsonl", "--limit", "0"], "--limit", "'0'"),
    (["traits", "draft", "x", "--description", "d", "--model", "m/x", "--out-dir", "o", "--max-retries", "-1"], "--max-retries", "'-1'"),
    (["personas", "sample", "--out", "p.jsonl", "--seed", "-1"], "--seed", "'-1'"),
    (["personas", "refresh-census", "--out", "m.json", "--year", "1990"], "--year", ">= 2005"),
    # counts that size work or memory have an upper bound, checked before any work
    (["personas", "sample", "--states", "WY", "--out", "p.jsonl", "--n", "1000000000"], "--n", "from 1 to 10,000"),
    (["viz", "persona-loo", "--n-boot", "1000000000", "--out", "x.png"], "--n-boot", "from 1 to 100,000"),
    (["viz", "accuracy-heatmap", "--n-boot", "100001"], "--n-boot", "from 100 to 100,000"),
    (["metrics", "--n-boot", "1000000000"], "--n-boot", "from 100 to 100,000"),
    (["finetune-data", "evil", "--out", "o", "--max-retries", "1000000000"], "--max-retries", "from 0 to 10,"),
    (["traits", "draft", "x", "--description", "d", "--model", "m/x", "--out-dir", "o", "--max-retries", "11"],
     "--max-retries", "from 0 to 10,"),
    (["personas", "generate", "p.jsonl", "--model", "m/x", "--out", "o.jsonl", "--max-retries", "11"], "--max-retries", "from 0 to 10,"),
    (["personas", "generate", "p.jsonl", "--model", "m/x", "--out", "o.jsonl", "--max-tokens", "100001"], "--max-tokens", "to 100,000"),
    (["personas", "calibrate", "p.jsonl", "--model", "m/x", "--out", "o.jsonl", "--max-rounds", "101"], "--max-rounds", "from 1 to 100,"),
    (["demo", "--max-tokens", "1000000000"], "--max-tokens", "from 1 to 100,000"),
    (["vectors", "project", "c.jsonl", "--model", "m", "--vector", "v", "--layer", "1", "--out", "p.csv", "--max-tokens", "1000000000"],
     "--max-tokens", "from 1 to 100,000"),
    (["finetune", "d.jsonl", "--model", "m", "--out", "o", "--epochs", "inf"], "--epochs", "finite"),
    (["viz", "trait-steering", "--out", "plot.xyz"], "--out", "cannot write a .xyz image"),
    (["viz", "vector-cosine", "v.safetensors", "--layer", "1", "--out", "plot.doc"], "--out", "cannot write a .doc image"),
    (["vectors", "shift", "--base", "b", "--adapters", "a", "--vector", "v", "--layer", "1", "--out", "s.csv", "--plot", "p.txt"],
     "--plot", "cannot write a .txt image"),
]


@pytest.mark.parametrize("argv,flag,detail", BAD_VALUES, ids=lambda v: v if isinstance(v, str) else None)
def test_bad_values_are_refused_naming_the_argument(tmp_path, monkeypatch, capsys, argv, flag, detail):
    monkeypatch.chdir(tmp_path)
    err = usage_error(argv, capsys)
    assert f"argument {flag}" in err and detail in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag,value", [("--epochs", "1e9"), ("--max-steps", "1000000000"), ("--batch-size", "100000"),
                                        ("--grad-accum", "100000"), ("--lora-r", "100000"), ("--seed", "99999999999")])
def test_finetune_refuses_unbounded_work_before_any(tmp_path, capsys, flag, value):
    data = tmp_path / "d.jsonl"
    data.write_text("")
    err = error(["finetune", str(data), "--model", "nope", "--out", str(tmp_path / "o"), flag, value], capsys)
    assert f"{flag} must be at most " in err
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


# -- vector files ------------------------------------------------------------------------------------


def test_vectors_show_picks_a_tensor_with_file_hash_name(tmp_path, capsys):
    path = save_vectors(tmp_path / "v.safetensors", {"response_avg": torch.ones(3, 4), "prompt_last": torch.ones(4)})
    assert main(["vectors", "show", f"{path}#prompt_last"]) == 0
    out = capsys.readouterr().out
    assert "tensor 'prompt_last': shape [4]" in out and "response_avg" not in out
    err = error(["vectors", "show", f"{path}#nope"], capsys)
    assert "has no tensor 'nope'" in err and "prompt_last" in err


# -- CSVs given to the plots -------------------------------------------------------------------------

CSVS = {
    "missing": (None, "no such file"),
    "folder": (..., "is a directory"),
    "empty": ("", "is empty"),
    "header only": ("model,mitigation,task,metric,value,verdict,trait,x_proj_layer1,"
                    "finetuned_trait,vector_trait,vector_path,layer,step,shift_proj\n", "no rows"),
    "other kind": ("x,y\n1,2\n", "lacks the column(s)"),
}


@pytest.mark.parametrize("plot", ["accuracy-heatmap", "accuracy-verdicts", "projection-trait", "shift-cosine"])
@pytest.mark.parametrize("case", list(CSVS))
def test_a_bad_csv_is_named(tmp_path, capsys, plot, case):
    content, message = CSVS[case]
    path = tmp_path / "table.csv"
    if content is ...:
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    flag = "CSV" if plot == "shift-cosine" else "--csv"  # shift-cosine takes its CSVs as arguments
    argv = ["viz", plot, *([] if flag == "CSV" else ["--csv"]), str(path), "--out", str(tmp_path / "plot.png")]
    err = error(argv, capsys)
    assert f"{flag} {path}" in err and message in err
    assert not (tmp_path / "plot.png").exists()


def test_a_non_number_in_a_metrics_csv_names_its_line(tmp_path, capsys):
    path = tmp_path / "metrics.csv"
    path.write_text("model,mitigation,task,metric,value,verdict\nm,none,t,advantage,0.1,Positive\nm,none,t,advantage,oops,Positive\n")
    assert f"{path}:3: column value is 'oops'" in error(["viz", "accuracy-heatmap", "--csv", str(path)], capsys)


# -- marginals, the census API, models ---------------------------------------------------------------

MARGINALS = {
    "{}": "is not a marginals file",
    "": "is empty",
    '{\n  "states": {\n  oops\n}': ":3: not valid JSON",
    '{"states": {"NY": {"name": "New York"}}, "occupation_labels": []}': "state 'NY' lacks",
}


@pytest.mark.parametrize("content", list(MARGINALS), ids=["empty object", "empty file", "malformed", "partial state"])
def test_a_bad_marginals_file_is_named_never_replaced_by_the_shipped_one(tmp_path, capsys, content):
    path = tmp_path / "marginals.json"
    path.write_text(content)
    err = error(["personas", "sample", "--marginals", str(path), "--states", "NY", "--n", "1", "--out", f"{tmp_path}/p.jsonl"], capsys)
    assert f"--marginals {path}" in err and MARGINALS[content] in err
    assert not (tmp_path / "p.jsonl").exists()


def test_refresh_census_offline_says_so_and_how_to_build_locally(tmp_path, capsys, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr("urllib.request.urlopen", offline)
    err = error(["personas", "refresh-census", "--states", "NY", "--out", f"{tmp_path}/m.json"], capsys)
    assert "could not reach api.census.gov" in err and "--from-dir" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("model", ["steer/nope", "nope", "nope/x"])
def test_traits_draft_checks_the_model_before_the_eval(tmp_path, capsys, model):
    argv = ["traits", "draft", "stub", "--description", "x", "--model", model, "--out-dir", f"{tmp_path}/out",
            "--log-dir", f"{tmp_path}/logs"]
    assert f"--model {model}:" in error(argv, capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["--trait", "nope"], "--trait nope: unknown trait"),
        (["--model", "nope"], "--model steer/nope: unknown embedded model"),
        (["--model", "{tiny}", "--layer", "99"], "--layer 99 is outside 1..4"),
        (["--model", "{tiny}", "--layer", "2", "--grader", "nope"], "--grader nope:"),
    ],
)
def test_demo_checks_its_arguments_before_any_eval(tiny_llama, tmp_path, capsys, args, message):
    args = [a.format(tiny=tiny_llama) for a in args]
    assert message in error(["demo", "--log-dir", str(tmp_path / "demo"), *args], capsys)
    assert not (tmp_path / "demo").exists()


def test_weights_that_cannot_be_found_name_the_model_argument(logs, tmp_path, capsys):
    """Offline, a Hugging Face id that is not cached: one line naming --model, not a traceback."""
    vector = save_vectors(tmp_path / "v.safetensors", {"response_avg": torch.ones(5, 64)})
    argv = ["vectors", "project", logs["good"], "--vector", str(vector), "--layer", "1", "--out", f"{tmp_path}/p.csv"]
    assert "--model org/not-cached: " in error([*argv, "--model", "org/not-cached"], capsys)
    argv = ["vectors", "extract", "--pos", logs["good"], "--neg", logs["neg"], "--out", f"{tmp_path}/o.safetensors", "--no-filter"]
    assert "--model org/not-cached: " in error([*argv, "--model", "org/not-cached"], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.safetensors"]


def test_a_survey_truth_file_that_matches_nothing_is_an_error(tmp_path, capsys):
    from inspect_ai import eval

    from persona_evals.opinion.task import opinion_simulation
    from persona_evals.testing import scripted_model

    [log] = eval(opinion_simulation(context="custom", states="WY", n_per_state=1), display="none",
                 model=scripted_model(lambda m, c: "Answer: A"), log_dir=str(tmp_path / "logs"))
    truth = tmp_path / "truth.json"
    truth.write_text("{}")
    assert "(it holds no question)" in error(["opinion", "metrics", log.location, "--truth", str(truth)], capsys)
    truth.write_text('{"no_such_question": {"US": {"A": 1.0}}}')
    err = error(["opinion", "metrics", log.location, "--truth", str(truth)], capsys)
    assert "none of its questions (no_such_question) is in the logs" in err


def test_refresh_census_from_a_missing_folder_names_it(tmp_path, capsys):
    err = error(["personas", "refresh-census", "--from-dir", str(tmp_path / "acs"), "--out", f"{tmp_path}/m.json"], capsys)
    assert f"--from-dir {tmp_path / 'acs'}: no such folder" in err


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["personas", "generate", "p.jsonl", "--model", "m/x", "-M", "dtype", "--out", "o.jsonl"], "-M"),
        (["sweep", "t.py", "--vector", "v", "--layers", "1", "--coefs", "1", "-T", "=3"], "-T"),
        (["sweep", "t.py", "--vector", "v", "--layers", "1", "--coefs", "1", "--model-role", "grader"], "--model-role"),
    ],
)
def test_a_key_value_option_without_its_equals_sign_is_named(tmp_path, monkeypatch, capsys, argv, flag):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.jsonl").write_text("")
    (tmp_path / "t.py").write_text("")
    assert f"{flag} expects K=V" in error(argv, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl", "t.py"]


# -- JSON files given on the command line: the file and the line of a syntax error ----------------

BROKEN_JSON = '[\n  "one",\n  "two",,\n]'  # the syntax error is on line 3


def test_a_broken_json_file_is_named_with_its_line(tmp_path, capsys):
    import shutil
    from pathlib import Path

    bad = tmp_path / "bad.json"
    bad.write_text(BROKEN_JSON)
    err = error(["personas", "values", "--intersections", str(bad)], capsys)
    assert f"--intersections: config: {bad}, line 3 column" in err
    err = error(["finetune-data", "evil", "--model", "mockllm/model", "--questions", str(bad), "--out", f"{tmp_path}/ft"], capsys)
    assert f"--questions {bad}, line 3 column" in err
    acs = tmp_path / "acs"
    shutil.copytree(Path(__file__).parent / "fixtures" / "opinion" / "acs2023", acs)
    table = acs / "DP02" / "ny_dp02_structured.json"
    table.write_text(BROKEN_JSON)
    err = error(["personas", "refresh-census", "--from-dir", str(acs), "--states", "NY", "--out", f"{tmp_path}/m.json"], capsys)
    assert f"--from-dir: {table}, line 3 column" in err
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert f"--questions {empty} is empty (expected JSON)" in error(
        ["finetune-data", "evil", "--model", "mockllm/model", "--questions", str(empty), "--out", f"{tmp_path}/ft"], capsys
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acs", "bad.json", "empty.json"]


def test_a_broken_adapter_config_is_named_with_its_line(tmp_path):
    from persona_evals.errors import SteeringConfigError
    from persona_evals.steering.adapters import read_adapter

    (tmp_path / "adapter_config.json").write_text('{\n  "r": 8,\n  "alpha" 16\n}')
    (tmp_path / "adapter_model.safetensors").write_bytes(b"\0")
    with pytest.raises(SteeringConfigError, match=r"adapter: .*adapter_config.json, line 3 column 11: Expecting ':'"):
        read_adapter(str(tmp_path))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_adapter_weights_file_is_named_before_the_model_loads(tmp_path, damage):
    from inspect_ai.model import get_model
    from safetensors.torch import save_file

    from persona_evals.errors import SteeringConfigError

    (tmp_path / "adapter_config.json").write_text('{"r": 8, "lora_alpha": 16}')
    weights = tmp_path / "adapter_model.safetensors"
    save_file({"lora_A": torch.ones(8, 64)}, str(weights))
    data = weights.read_bytes()
    weights.write_bytes(b"\xff" * 64 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(SteeringConfigError, match=rf"^adapter: {weights} is not a readable safetensors file \("):
        get_model("steer/no-such-model", memoize=False, adapter=str(tmp_path))
