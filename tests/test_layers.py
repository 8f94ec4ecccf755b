"""The layering contract of the package (``[tool.importlinter]`` in pyproject.toml).

Layers import only downward (commands -> viz -> benchmarks -> shared solvers/scorers -> steering,
datasets -> personas -> base) and no package has an import cycle among its modules; imports inside
functions count. viz/ only draws: it imports no argparse (plot arguments live in commands/viz/), no
log reader (inspect_ai, persona_evals.logs, the results modules that build its frames) and nothing
of steering/ (what the provider sends comes through persona_evals.protocol). ``lint-imports`` from
the repository root prints the same report.
"""

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).parents[1]


def test_layers_and_no_cycles(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename="pyproject.toml", no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "5 kept, 0 broken" in report


def test_viz_does_not_print():
    """What a plot wrote is said by its command; viz/ returns figures (a rule import-linter cannot check)."""
    calls = [
        f"{path.name}:{node.lineno}"
        for path in sorted((ROOT / "src" / "persona_evals" / "viz").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]
    assert calls == []
