import subprocess
import sys


def test_registry_imports_no_heavy_libraries():
    code = (
        "import sys, persona_evals._registry\n"
        "heavy = [m for m in ('torch', 'transformers', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_steer_provider_is_registered_through_the_entry_point():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="inspect_ai")}
    assert eps.get("persona_evals") == "persona_evals._registry"


def test_persona_bench_components_are_registered():
    import persona_evals._registry  # noqa: F401
    from inspect_ai._util.registry import registry_lookup

    for kind, name in [
        ("scorer", "debate_critic"),
        ("scorer", "pairwise_vs_baseline"),
        ("solver", "personalized_answer"),
        ("solver", "baseline_reference"),
        ("scorer", "subtlety"),
        ("scorer", "summary_fidelity"),
        ("metric", "loo_drop"),
        ("metric", "intersection_accuracy"),
    ]:
        assert registry_lookup(kind, f"persona_evals/{name}") is not None, name


TASKS = {
    "capitals": "sanity.py",
    "trait_expression": "trait_expression.py",
    "persona_accuracy": "persona_accuracy.py",
    "opinion_simulation": "opinion_simulation.py",
    "prism_personalization": "prism_personalization.py",
    "leave_one_out": "leave_one_out.py",
    "intersectionality": "intersectionality.py",
    "pass_at_k": "pass_at_k.py",
}
# writer tasks: their logs are folded into files by `persona-evals personas|traits ...`
WRITERS = {"persona_generation", "persona_calibration", "trait_draft", "finetune_data"}


def test_every_benchmark_task_is_registered_from_the_package():
    """`inspect eval persona_evals/<task>` needs no checkout: the entry point registers each task."""
    from inspect_ai._util.registry import registry_find, registry_info

    import persona_evals._registry  # noqa: F401

    found = {registry_info(t).name for t in registry_find(lambda i: i.type == "task")}
    assert {f"persona_evals/{name}" for name in [*TASKS, *WRITERS]} <= found


def test_task_files_of_a_checkout_are_the_package_modules(monkeypatch):
    """tasks/<file>.py link to the package (each task written once) and inspect finds each task there."""
    from pathlib import Path

    from inspect_ai._eval.list import list_tasks

    import persona_evals

    root = Path(__file__).parents[1]
    package = Path(persona_evals.__file__).parent
    monkeypatch.chdir(root)
    listed = {(Path(t.file).name, t.name) for t in list_tasks("tasks", root_dir=root)}
    assert listed == {(file, name) for name, file in TASKS.items()}
    for file in TASKS.values():
        target = (root / "tasks" / file).resolve()
        assert target.is_relative_to(package), f"tasks/{file} is not a link into the package"
    in_package = {t.name for t in list_tasks([], root_dir=package)}
    assert in_package == set(TASKS) | WRITERS


def test_tasks_command_lists_every_registered_task_from_any_folder(tmp_path, monkeypatch, capsys):
    """`persona-evals tasks` works after a plain install (no tasks/ folder to scan)."""
    from persona_evals.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0] for line in lines}
    assert listed == {f"persona_evals/{name}" for name in [*TASKS, *WRITERS]}
    assert all(len(line.split()) > 1 for line in lines), "each task shows its docstring's first line"
