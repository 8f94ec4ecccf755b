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
