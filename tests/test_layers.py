"""The layering contract of the package (``[tool.importlinter]`` in pyproject.toml).

Layers import only downward (commands -> viz -> benchmarks -> shared solvers/scorers -> steering,
datasets -> personas -> base) and no package has an import cycle among its modules; imports inside
functions count. ``lint-imports`` from the repository root prints the same report.
"""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).parents[1]


def test_layers_and_no_cycles(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename="pyproject.toml", no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "4 kept, 0 broken" in report
