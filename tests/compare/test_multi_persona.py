"""Multi-persona dynamics on logs of scripted runs of a toy task judged for several traits:
the linearity check (A+B against A and B alone) and cosine similarity vs relative trait change."""

from __future__ import annotations

import csv
import math
import re
import statistics

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import Score, mean, scorer, stderr

from persona_evals.cli import main
from persona_evals.steering.vectors import save_vectors
from persona_evals.testing import scripted_model

TRAITS = ("evil", "humorous", "optimistic")
N = 4
BASE = {"evil": 10.0, "humorous": 20.0, "optimistic": 60.0}
# the effect on each judged trait of steering with each vector alone, and with two together
EFFECT = {
    ("evil",): {"evil": 20.0, "humorous": 10.0, "optimistic": -20.0},
    ("humorous",): {"evil": 5.0, "humorous": 10.0, "optimistic": -5.0},
    ("evil", "humorous"): {"evil": 29.0, "humorous": 20.0, "optimistic": -25.0},  # evil +4 beyond the sum
}
SE = statistics.stdev(range(N)) / math.sqrt(N)  # every cell's scores are value + 0..N-1


@scorer(metrics={t: [mean(), stderr()] for t in TRAITS})
def judged():
    async def score(state, target):
        return Score(value={k: float(v) for k, v in re.findall(r"(\w+)=([\d.-]+)", state.output.completion)})

    return score


def toy_run(log_dir, vectors, steered=()):
    def reply(messages, config):
        i = int(messages[-1].text.removeprefix("q"))
        effect = EFFECT.get(steered, {})
        return " ".join(f"{t}={BASE[t] + effect.get(t, 0.0) + i}" for t in TRAITS)

    steering = {"vector": [vectors[t] for t in steered], "layer": 2, "coef": 1.0} if steered else {}
    task = Task(dataset=[Sample(input=f"q{i}") for i in range(N)], scorer=judged(), name="judged_toy")
    [log] = eval(task, model=scripted_model(reply, **steering), display="none", log_dir=str(log_dir))
    assert log.status == "success", log.error
    return log.location


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    """evil = e1, humorous = e1 + e2 (cosine 1/√2), optimistic = −e1 (cosine −1), at every row."""
    root = tmp_path_factory.mktemp("trait_vectors")
    e1, e2 = torch.eye(8)[0], torch.eye(8)[1]
    rows = {"evil": e1, "humorous": e1 + e2, "optimistic": -e1}
    return {t: str(save_vectors(root / f"{t}.safetensors", {"vector": v.repeat(5, 1)})) for t, v in rows.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, vectors):
    log_dir = tmp_path_factory.mktemp("multi_persona")
    for steered in [(), *EFFECT]:
        toy_run(log_dir, vectors, steered)
    return log_dir


@pytest.fixture(scope="module")
def single_runs(tmp_path_factory, vectors):
    log_dir = tmp_path_factory.mktemp("single_runs")
    for steered in [(), ("evil",), ("humorous",)]:
        toy_run(log_dir, vectors, steered)
    return log_dir


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_linearity_compares_together_with_the_sum_of_alone(runs, tmp_path, capsys):
    out = tmp_path / "lin.png"
    assert main(["viz", "steering-linearity", str(runs), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = {r["metric"]: r for r in read_csv(out.with_suffix(".csv"))}
    assert set(rows) == set(TRAITS)  # every judged trait, by default
    for trait, r in rows.items():
        predicted = EFFECT[("evil",)][trait] + EFFECT[("humorous",)][trait]
        observed = EFFECT[("evil", "humorous")][trait]
        assert r["combined"] == "evil@L2×1 + humorous@L2×1"
        assert float(r["predicted"]) == pytest.approx(predicted)
        assert float(r["observed"]) == pytest.approx(observed)
        gap = observed - predicted
        assert float(r["interference"]) == pytest.approx(gap)
        # four independent means with the same standard error: the gap's SE is 2·SE
        assert (float(r["ci_low"]), float(r["ci_high"])) == pytest.approx((gap - 1.96 * 2 * SE, gap + 1.96 * 2 * SE), abs=1e-3)
    assert "evil  evil@L2×1 + humorous@L2×1: predicted +25, observed +29, interference +4" in capsys.readouterr().out


def test_linearity_needs_the_parts_and_a_baseline(vectors, tmp_path, capsys):
    partial = tmp_path / "partial"
    toy_run(partial, vectors, ("evil", "humorous"))
    toy_run(partial, vectors, ("evil",))
    assert main(["viz", "steering-linearity", str(partial), "--out", str(tmp_path / "x.png")]) == 2
    assert "nothing to compare: mockllm/model + evil@L2×1 + humorous@L2×1 lacks humorous@L2×1, an unsteered run" in capsys.readouterr().err
    assert main(["viz", "steering-linearity", str(partial), "--metric", "kindness", "--out", str(tmp_path / "x.png")]) == 2
    assert "no log has metric 'kindness'; available: evil" in capsys.readouterr().err


def test_cosine_vs_relative_trait_change(runs, single_runs, vectors, tmp_path, capsys):
    out = tmp_path / "cos.png"
    single = [f"{t}={p}" for t, p in vectors.items()]
    args = ["viz", "cosine-trait-change", str(runs), "--out", str(out)] + [x for v in single for x in ("--vector", v)]
    # the combined run is not a single-vector intervention
    assert main(args) == 2
    assert "steers with several vectors" in capsys.readouterr().err
    args[2] = str(single_runs)
    assert main(args) == 0
    rows = {(r["steered"], r["trait"]): r for r in read_csv(out.with_suffix(".csv"))}
    expected = {
        ("evil", "humorous"): (1 / math.sqrt(2), 10 / 20), ("evil", "optimistic"): (-1.0, -20 / 20),
        ("humorous", "evil"): (1 / math.sqrt(2), 5 / 10), ("humorous", "optimistic"): (-1 / math.sqrt(2), -5 / 10),
    }
    assert set(rows) == set(expected)
    for pair, (cos, relative) in expected.items():
        assert float(rows[pair]["cosine"]) == pytest.approx(cos, abs=1e-6)
        assert float(rows[pair]["relative_change"]) == pytest.approx(relative)
    assert "4 points" in capsys.readouterr().out


def test_cosine_change_bad_input(single_runs, vectors, tmp_path, capsys):
    base = ["viz", "cosine-trait-change", str(single_runs), "--out", str(tmp_path / "c.png")]
    assert main([*base, "--vector", f"evil={vectors['evil']}"]) == 2
    assert "at least two traits" in capsys.readouterr().err
    assert main([*base, "--vector", f"evil={vectors['evil']}", "--vector", f"optimistic={vectors['optimistic']}"]) == 2
    assert "humorous.safetensors, which is none of --vector" in capsys.readouterr().err
    assert main([*base, "--vector", "evil=a.safetensors", "--vector", "evil=b.safetensors"]) == 2
    assert "gives trait 'evil' twice" in capsys.readouterr().err


def test_variant_vectors_of_one_trait_and_their_cosines(tmp_path, capsys):
    """Vectors from several artifact files of one trait (evil, evil_2, evil_3) against another trait."""
    e = torch.eye(8)
    rows = {"evil": e[0], "evil_2": e[0] + 0.5 * e[1], "evil_3": e[0] - 0.5 * e[2], "humorous": e[1]}
    paths = [str(save_vectors(tmp_path / f"{name}.safetensors", {"vector": v.repeat(5, 1)})) for name, v in rows.items()]
    out = tmp_path / "cos.png"
    assert main(["viz", "vector-cosine", *paths, "--layer", "3", "--out", str(out)]) == 0
    pairs = {(r["a"], r["b"]): float(r["cosine"]) for r in read_csv(out.with_suffix(".csv"))}

    def cos(a, b):
        return float(torch.nn.functional.cosine_similarity(rows[a], rows[b], dim=0))

    assert pairs == pytest.approx({(a, b): cos(a, b) for i, a in enumerate(rows) for b in list(rows)[i + 1:]})
    within = [cos("evil", "evil_2"), cos("evil", "evil_3"), cos("evil_2", "evil_3")]
    across = [cos(a, "humorous") for a in ("evil", "evil_2", "evil_3")]
    printed = capsys.readouterr().out
    assert f"evil: mean cosine among its variants {sum(within) / 3:.3f} (3 pairs)" in printed
    assert f"across traits: mean cosine {sum(across) / 3:.3f} (3 pairs)" in printed


def test_a_vector_given_under_home_matches_the_steered_run(tmp_path, monkeypatch):
    """`--vector evil=~/v.safetensors` names the file the identity recorded (expanded and normalised)."""
    from persona_evals.identity import normal_path
    from persona_evals.compare.trait_change import _trait_of

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "v.safetensors").write_bytes(b"")
    recorded = normal_path("~/./v.safetensors")
    assert _trait_of(recorded, None, {"humorous": "h.safetensors", "evil": "~/v.safetensors"}, "run.eval") == "evil"
