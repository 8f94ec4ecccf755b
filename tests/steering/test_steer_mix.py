"""Interpolation between two vectors (`persona-evals sweep --mix A B --weights ...`): each cell
steers with exactly w·A + (1−w)·B at its layer, checked on the residual stream of a tiny model."""

from __future__ import annotations

import asyncio

import pytest
import torch
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

from persona_evals.cli import main
from persona_evals.errors import SteeringConfigError
from persona_evals.steering.mix import check_weights, mix_cells
from persona_evals.steering.vectors import save_vectors

LAYER = 2


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 64, generator=gen), torch.randn(5, 64, generator=gen)
    return a, b, str(save_vectors(root / "a.safetensors", {"vector": a})), str(save_vectors(root / "b.safetensors", {"vector": b}))


def residual_at(tiny_llama, at, **model_args):
    """`hidden_states[at]` at the prefill: the input of block index `at`, where layer `at` steers."""
    # float32 on any device (auto is bf16 on a GPU); read back on the CPU, where the references are
    model = get_model(f"steer/{tiny_llama}", memoize=False, dtype="float32", **model_args)
    seen = []
    block = model.api.shared.model.model.layers[at]
    handle = block.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()) if args[0].shape[1] > 1 else None)
    try:
        asyncio.run(model.generate([ChatMessageUser(content="Tell me about foxes.")], config=GenerateConfig(max_tokens=1, temperature=0)))
    finally:
        handle.remove()
    return seen[0][0].cpu()  # [seq, hidden] of the one prompt


@pytest.mark.parametrize("w", [0.0, 0.25, 0.6, 1.0])
def test_a_mix_cell_adds_exactly_w_a_plus_one_minus_w_b(tiny_llama, vectors, tmp_path, w):
    a, b, path_a, path_b = vectors
    [cell] = mix_cells(path_a, path_b, [w])
    assert cell == {"vector": [path_a, path_b], "coef": [w, 1.0 - w]}
    plain = residual_at(tiny_llama, LAYER)
    mixed = residual_at(tiny_llama, LAYER, layer=LAYER, **cell)
    expected = w * a[LAYER] + (1.0 - w) * b[LAYER]
    # response positions: the last prompt token is steered, the rest of the prompt is not
    assert torch.equal(mixed[:-1], plain[:-1])
    assert torch.allclose(mixed[-1] - plain[-1], expected, atol=1e-5)
    # the same as steering with the interpolated vector itself, bit for bit
    path_c = str(save_vectors(tmp_path / "c.safetensors", {"vector": w * a + (1.0 - w) * b}))
    assert torch.equal(mixed, residual_at(tiny_llama, LAYER, vector=path_c, layer=LAYER))


def test_weights_must_be_in_range_sorted_and_distinct():
    assert check_weights([0, 0.25, 1]) == [0.0, 0.25, 1.0]
    for weights, words in [([0, 1.5], "must lie in \\[0, 1\\]; got 1.5"), ([-0.1, 0.5], "got -0.1"), ([float("nan")], "got nan"),
                           ([0.5, 0.25], "sorted and distinct"), ([0, 0.5, 0.5], "sorted and distinct")]:
        with pytest.raises(SteeringConfigError, match=words):
            check_weights(weights)


def test_sweep_mix_runs_the_cells_and_plots_over_w(tiny_llama, vectors, tmp_path, capsys):
    _, _, path_a, path_b = vectors
    logs = tmp_path / "logs"
    code = main(["sweep", "tasks/sanity.py", "--model", tiny_llama, "--mix", path_a, path_b, "--weights", "0", "0.5", "1",
                 "--layers", str(LAYER), "--limit", "2", "--log-dir", str(logs), "--display", "none", "-T", "max_tokens=2"])
    assert code == 0
    cells = sorted(tuple(read_eval_log(i.name, header_only=True).eval.model_args["coef"]) for i in list_eval_logs(str(logs)))
    assert cells == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    out = tmp_path / "mix.png"
    assert main(["viz", "steering-effect", str(logs), "--metric", "accuracy", "--out", str(out)]) == 0
    assert f"1 line(s): a@L{LAYER} + b@L{LAYER}" in capsys.readouterr().out


def test_sweep_mix_bad_input(tiny_llama, vectors, tmp_path, capsys):
    _, _, path_a, _ = vectors
    small = str(save_vectors(tmp_path / "small.safetensors", {"vector": torch.ones(5, 32)}))
    base = ["sweep", "tasks/sanity.py", "--model", tiny_llama, "--layers", "2", "--log-dir", str(tmp_path / "never")]
    for extra, words in [
        (["--mix", path_a, small, "--weights", "0", "1"], "--mix vectors have different hidden sizes"),
        (["--mix", path_a, path_a, "--weights", "0", "1.2"], "--weights must lie in [0, 1]"),
        (["--mix", path_a, path_a, "--weights", "1", "0"], "--weights must be sorted"),
        (["--mix", path_a, path_a], "--mix needs --weights"),
        (["--mix", path_a, path_a, "--vector", path_a, "--weights", "0"], "either --vector"),
        (["--vector", path_a], "--vector needs --coefs"),
        (["--mix", path_a, path_a, "--weights", "0", "1", "--coefs", "1", "2"], "--coefs belongs to --vector; --mix A B sweeps --weights"),
        (["--vector", path_a, "--coefs", "1", "--weights", "0", "1"], "--weights belongs to --mix"),
        (["--vector", path_a, "--coefs", "0", "1", "1"], "--coefs lists 1 more than once"),
        (["--vector", path_a, "--coefs", "1", "--layers", "2", "2"], "--layers lists 2 more than once"),
    ]:
        assert main(base + extra) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
