"""Task arguments: every bad value is an error naming the argument, raised before any data loads.

Values are given as inspect hands them over after YAML (``-T k=abc`` is the string "abc",
``-T pairwise=maybe`` the string "maybe"). Each task's data loader is replaced by one that fails
the test, so an error raised here is proven to come before the dataset is built.
"""

from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.model import GenerateConfig, get_model

from persona_evals.args import as_bool, check, task_args
from persona_evals.errors import ArgumentError

ROOT = Path(__file__).parents[1]

# task -> (module, the module-level name that loads its data)
TASKS = {
    "capitals": ("persona_evals.capitals.task", "capitals_dataset"),
    "trait_expression": ("persona_evals.traits.task", "load_trait"),
    "persona_accuracy": ("persona_evals.accuracy.task", "build_dataset"),
    "opinion_simulation": ("persona_evals.opinion.task", "simulation_records"),
    "prism_personalization": ("persona_evals.persona_bench.tasks.prism_personalization", "load_sources"),
    "leave_one_out": ("persona_evals.persona_bench.tasks.leave_one_out", "load_sources"),
    "intersectionality": ("persona_evals.persona_bench.tasks.intersectionality", "load_sources"),
    "pass_at_k": ("persona_evals.persona_bench.tasks.pass_at_k", "load_sources"),
}
BIG = 1_000_000_000


def guarded(monkeypatch, name: str):
    """The @task function, with its data loader replaced by one that fails the test."""
    module_name, loader = TASKS[name]
    module = importlib.import_module(module_name)

    def no_data(*args, **kwargs):
        raise AssertionError(f"{name} loaded data before checking its arguments")

    monkeypatch.setattr(module, loader, no_data)
    return getattr(module, name)


def test_every_registered_task_checks_its_arguments():
    from inspect_ai._util.registry import registry_find, registry_info

    import persona_evals._registry  # noqa: F401

    ours = [t for t in registry_find(lambda i: i.type == "task") if registry_info(t).name.startswith("persona_evals/")]
    assert len(ours) >= len(TASKS) + 4  # the benchmarks and the writer tasks
    unchecked = [registry_info(t).name for t in ours if not hasattr(t, "task_arg_bounds")]
    assert not unchecked, f"not wrapped by task_args: {unchecked}"


BAD = [
    # silent wrong results before: negative or zero token budgets, truthy strings
    ("capitals", {"max_tokens": -5}, "max_tokens: must be at least 1, got -5"),
    ("capitals", {"max_tokens": 0}, "max_tokens: must be at least 1, got 0"),
    ("capitals", {"max_tokens": "abc"}, "max_tokens: expected an integer, got 'abc'"),
    ("prism_personalization", {"pairwise": "maybe"}, "pairwise: expected true or false, got 'maybe'"),
    ("prism_personalization", {"subtlety": 1}, "subtlety: expected true or false, got 1"),
    ("persona_accuracy", {"math_normalize": "maybe"}, "math_normalize: expected true or false"),
    # huge counts: a bound, checked before the dataset is built
    ("pass_at_k", {"k": BIG}, "k: must be at most 1,000, got 1000000000"),
    ("trait_expression", {"samples_per_question": BIG}, "samples_per_question: must be at most 1,000"),
    ("opinion_simulation", {"n_per_state": BIG}, "n_per_state: must be at most 10,000"),
    ("prism_personalization", {"pairs": BIG}, "pairs: must be at most 100,000"),
    ("leave_one_out", {"pairs": BIG}, "pairs: must be at most 100,000"),
    ("pass_at_k", {"pairs": BIG}, "pairs: must be at most 100,000"),
    ("intersectionality", {"pairs_per_intersection": BIG}, "pairs_per_intersection: must be at most 100,000"),
    ("persona_accuracy", {"items": 0}, "items: must be at least 1"),
    ("opinion_simulation", {"n_peers": 0}, "n_peers: must be at least 1"),
    ("pass_at_k", {"max_retries": -1}, "max_retries: must be at least 0"),
    ("prism_personalization", {"max_retries": 11}, "max_retries: must be at most 10"),
    # wrong types
    ("prism_personalization", {"pairs": "lots"}, "pairs: expected an integer or none, got 'lots'"),
    ("pass_at_k", {"k": "abc"}, "k: expected an integer, got 'abc'"),
    ("pass_at_k", {"k": 2.5}, "k: expected an integer, got 2.5"),
    ("opinion_simulation", {"seed": "abc"}, "seed: expected an integer, got 'abc'"),
    ("intersectionality", {"seed": -1}, "seed: must be at least 0"),
    ("pass_at_k", {"sampling_seed": "x"}, "sampling_seed: expected an integer or none"),
    ("persona_accuracy", {"items": "abc"}, "items: expected an integer or none, got 'abc'"),
    ("trait_expression", {"trait": 5}, "trait: expected text, got 5"),
    ("pass_at_k", {"temperature": "hot"}, "temperature: expected a finite number, got 'hot'"),
    ("pass_at_k", {"temperature": math.nan}, "temperature: expected a finite number, got nan"),
    ("pass_at_k", {"temperature": math.inf}, "temperature: expected a finite number, got inf"),
    ("opinion_simulation", {"tier": "fancy"}, "tier: expected one of meta, objective, subjective, descriptive"),
    ("persona_accuracy", {"source": "web"}, "source: expected one of hub, sample, got 'web'"),
    ("persona_accuracy", {"dataset": 5}, "dataset: expected text or a list of text, got 5"),
    ("opinion_simulation", {"states": ["NY", 5]}, "states: expected text or a list of text"),
]


@pytest.mark.parametrize("name, args, message", BAD, ids=[f"{n}-{next(iter(a))}" for n, a, _ in BAD])
def test_bad_argument_is_an_error_naming_it_before_any_data(monkeypatch, name, args, message):
    task_fn = guarded(monkeypatch, name)
    with pytest.raises(ArgumentError) as ex:
        task_fn(**args)
    assert str(ex.value).startswith(message), str(ex.value)
    assert isinstance(ex.value, ValueError)  # Python callers and commands catch it as before


GOOD = [
    ("true", bool, True), ("False", bool, False), (True, bool, True),
    ("5", int, 5), (5.0, int, 5), (7, int | None, 7), (None, int | None, None),
    (2024, str | int, 2024), ("2024", str | int, "2024"), (3, float, 3.0), ("0.5", float, 0.5),
    ("a", list[str], ["a"]), (["a", "b"], str | list[str], ["a", "b"]), ({"k": 1}, str | dict, {"k": 1}),
]  # fmt: skip


@pytest.mark.parametrize("value, hint, expected", GOOD)
def test_good_values_are_converted_exactly(value, hint, expected):
    result = check(value, hint, "arg")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value", ["maybe", "yes please", 1, 0, None, "", "1"])
def test_booleans_are_strict(value):
    with pytest.raises(ArgumentError, match="flag: expected true or false"):
        as_bool(value, "flag")


def test_value_errors_of_the_body_become_clean_argument_errors():
    @task_args(n=(1, 3))
    def make(n: int = 1, name: str = "x"):
        raise ValueError(f"name {name!r} is not known")

    with pytest.raises(ArgumentError, match="n: must be at most 3"):
        make(n=4)
    with pytest.raises(ArgumentError, match="name 'y' is not known") as ex:
        make(name="y")
    assert isinstance(ex.value.__cause__, ValueError)
    with pytest.raises(TypeError, match="no argument"):
        task_args(m=(1, 2))(lambda n=1: n)


def test_markup_in_a_message_is_printed_literally():
    # inspect prints the message with rich: "[empty,names]" must not vanish as a style tag
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(ArgumentError("personas: [empty,names] is not a group").message)
    assert "[empty,names]" in console.export_text()


# -- files an argument names ------------------------------------------------------------------


def test_intersection_config_empty_or_malformed_names_the_file_and_line(monkeypatch, tmp_path):
    task_fn = importlib.import_module(TASKS["intersectionality"][0]).intersectionality
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    with pytest.raises(ArgumentError, match=f"config: {empty} is empty"):
        task_fn(config=str(empty), personas="fixture", questions="fixture")
    bad = tmp_path / "bad.json"
    bad.write_text('[\n  {"clauses": [\n    {"attribute": "age" "min": 18}]}]\n')
    with pytest.raises(ArgumentError, match=f"config: {bad}, line 3 column 25: Expecting ','"):
        task_fn(config=str(bad), personas="fixture", questions="fixture")


def test_loo_config_malformed_names_the_file_and_line(tmp_path):
    task_fn = importlib.import_module(TASKS["leave_one_out"][0]).leave_one_out
    bad = tmp_path / "loo.json"
    bad.write_text('{"attributes":\n ["age",]}\n')
    with pytest.raises(ArgumentError, match=f"config: {bad}, line 2 column 9"):
        task_fn(config=str(bad), personas="fixture", questions="fixture")


@pytest.fixture
def no_hub(monkeypatch):
    """persona_accuracy's Hub seam replaced by one that fails the test."""

    def hub(*args, **kwargs):
        raise AssertionError("persona_accuracy read the Hub before checking its arguments")

    monkeypatch.setattr("persona_evals.datasets.hub.hf_dataset", hub)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ('{"mmlu_pro/71": {"level1": "a",\n "level2": "b" "level3": "c"}}', r", line 2 column 16: Expecting ','"),
        ('["a"]', "must be a JSON object of item id"),
        ('{"mmlu_pro/71": {"level1": "a"}}', "item 'mmlu_pro/71': level2: Field required"),
    ],
)
def test_experts_cache_is_checked_before_any_data(no_hub, tmp_path, content, message):
    from persona_evals.accuracy.task import persona_accuracy

    cache = tmp_path / "experts.json"
    cache.write_text(content)
    with pytest.raises(ArgumentError, match=f"experts_cache: {cache}" + ".*" + message):
        persona_accuracy(dataset="mmlu_pro:biology", personas="dynamic", experts_cache=str(cache))


@pytest.mark.parametrize(
    "args, message",
    [
        ({"mitigation": "pray"}, "mitigation must be one of none, instruction, refine, refine_basic"),
        ({"persona_placement": "middle"}, "persona_placement must be one of system, user, auto"),
        ({"mitigation": "refine", "baseline_log": "missing.eval"}, "baseline_log .*missing.eval does not exist"),
        ({"baseline_log": "x.eval"}, "only used by the refine"),
        ({"source": "sample", "dataset": "truthfulqa"}, "source=sample: only bigbench items ship"),
        ({"source": "sample", "dataset": ["bigbench:strategyqa", "gsm8k"]}, "not gsm8k"),
    ],
)
def test_persona_accuracy_checks_its_solver_arguments_before_any_data(no_hub, args, message):
    from persona_evals.accuracy.task import persona_accuracy

    with pytest.raises(ArgumentError, match=message):
        persona_accuracy(**args)


def test_personas_file_with_an_unknown_state_is_refused_at_task_time(tmp_path):
    from persona_evals.opinion.records import PersonaRecord
    from persona_evals.opinion.task import opinion_simulation

    good = PersonaRecord(id="NY-1", state="NY", meta={"state": "NY", "age": 30}).model_dump_json()
    path = tmp_path / "personas.jsonl"
    path.write_text(good + "\n" + good.replace("NY", "ZZ") + "\n")
    with pytest.raises(ArgumentError, match=f"{path}:2: state: .*unknown state 'ZZ'"):
        opinion_simulation(personas=str(path))


# -- what the user sees through the real CLI --------------------------------------------------

BAD_MODEL = """
import sys
from inspect_ai.model import ModelAPI, modelapi
from persona_evals.errors import ArgumentError

@modelapi(name="badargs")
def badargs():
    class Bad(ModelAPI):
        def __init__(self, model_name, base_url=None, api_key=None, config=None, **model_args):
            raise ArgumentError("coef: expected a finite number, got nan")

        async def generate(self, *args, **kwargs):
            raise NotImplementedError

    return Bad

from inspect_ai._cli.main import main
sys.argv = ["inspect", *sys.argv[1:]]
main()
"""


def _cli(args: list[str], tmp_path: Path, **env_vars: str) -> tuple[int, list[str]]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PWD": str(ROOT), "COLUMNS": "200", **env_vars}
    env.pop("INSPECT_DISPLAY")  # inspect's display "none" mutes its console, prerequisite messages included
    done = subprocess.run(
        args + ["--log-dir", str(tmp_path / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def test_inspect_eval_shows_the_message_first_not_a_traceback(tmp_path):
    inspect_cli = str(Path(sys.executable).with_name("inspect"))
    code, lines = _cli([inspect_cli, "eval", "tasks/pass_at_k.py", "-T", "k=abc", "--model", "mockllm/model"], tmp_path)
    assert code != 0
    assert lines == ["k: expected an integer, got 'abc'"], lines
    # a provider that raises ArgumentError for a bad -M argument gets the same treatment
    script = tmp_path / "bad_model.py"
    script.write_text(BAD_MODEL)
    code, lines = _cli([sys.executable, str(script), "eval", "tasks/sanity.py", "--model", "badargs/x"], tmp_path)
    assert code != 0
    assert lines == ["coef: expected a finite number, got nan"], lines


OFFLINE = [
    (["persona_evals/persona_accuracy", "-T", "dataset=gsm8k"], "openai/gsm8k", "-T dataset=bigbench -T source=sample."),
    (["persona_evals/persona_accuracy", "-T", "dataset=bigbench:strategyqa"], "tasksource/bigbench", "-T source=sample."),
    (["persona_evals/prism_personalization"], "SynthLabsAI/PRISM-Filter", "-T personas=fixture -T questions=fixture."),
    (["persona_evals/prism_personalization", "-T", "questions=HannahRoseKirk/prism-alignment", "-T", "personas=fixture"],
     "HannahRoseKirk/prism-alignment", "-T personas=fixture -T questions=fixture."),
]


@pytest.mark.parametrize("task,dataset,instead", OFFLINE, ids=[" ".join(t) for t, _, _ in OFFLINE])
def test_hub_data_offline_without_a_cached_copy_is_one_message(tmp_path, task, dataset, instead):
    """No traceback: the data set, the cause (offline, no cached copy) and the offline alternative."""
    hf = tmp_path / "hf"  # an empty cache
    inspect_cli = str(Path(sys.executable).with_name("inspect"))
    code, lines = _cli([inspect_cli, "eval", *task, "--model", "mockllm/model", "--limit", "1"], tmp_path,
                       HF_HOME=str(hf), HF_DATASETS_CACHE=str(hf / "datasets"), HF_TOKEN="")
    lines = [line for line in lines if not line.startswith("Loading dataset")]  # inspect's own progress line
    assert code != 0 and len(lines) <= 3, lines  # one message, wrapped at 200 columns
    message = " ".join(" ".join(lines).split())  # unwrapped
    assert message.startswith(f"{dataset}: HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) is set and there is no cached copy")
    assert message.endswith(instead), message


def test_a_zero_token_budget_on_the_inspect_command_line_is_refused_before_any_sample(tiny_llama, tmp_path):
    inspect_cli = str(Path(sys.executable).with_name("inspect"))
    for model in ("mockllm/model", f"steer/{tiny_llama}"):  # the tasks check it, and the steer provider itself
        code, lines = _cli([inspect_cli, "eval", "tasks/sanity.py", "--model", model, "--max-tokens", "0"], tmp_path)
        assert code != 0 and lines == ["max_tokens (--max-tokens): must be at least 1, got 0"], lines
    with pytest.raises(ArgumentError, match="max_tokens"):
        get_model(f"steer/{tiny_llama}", memoize=False, config=GenerateConfig(max_tokens=0))


def test_steer_refuses_a_zero_token_budget_instead_of_using_the_default(tiny_llama):
    model = get_model(f"steer/{tiny_llama}", memoize=False)
    with pytest.raises(ValueError, match="max_tokens must be at least 1, got 0"):
        import asyncio

        asyncio.run(model.generate("Hi", config=GenerateConfig(max_tokens=0)))


@pytest.mark.parametrize("value", ["nan", math.nan, "abc", True, math.inf])
def test_check_serves_model_arguments_too(value):
    with pytest.raises(ArgumentError, match="coef: expected a finite number"):
        check(value, float, "coef")
    assert check("2.5", float, "coef", (0, None)) == 2.5
    with pytest.raises(ArgumentError, match="coef: must be at most 10"):
        check(11, float, "coef", (None, 10))
