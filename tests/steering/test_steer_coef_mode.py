"""`-M coef_mode=raw|unit|norm`: what a coefficient multiplies, the measured norms and their cache."""

import asyncio
import json

import pytest
import torch
from inspect_ai.model import get_model

from persona_evals.errors import SteeringConfigError
from persona_evals.steering import norms as norms_module
from persona_evals.steering.chat import render_turns
from persona_evals.steering.loading import load_shared
from persona_evals.steering.vectors import save_vectors

LAYER = 2


@pytest.fixture
def vec(tmp_path):
    torch.manual_seed(3)
    return str(save_vectors(tmp_path / "v.safetensors", {"vector": torch.randn(5, 64) * 4}))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONA_EVALS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _steer(tiny_llama, vec, **args):
    return get_model(f"steer/{tiny_llama}", memoize=False, **{"vector": vec, "layer": LAYER, "coef": 1.5, **args})


def _row(vec):
    from safetensors.torch import load_file

    return load_file(vec)["vector"][LAYER]


def _independent_norm(shared, layer, prompts=norms_module.NORM_PROMPTS):
    """Mean L2 norm of hidden_states[layer] over every position but the first, on the fixed prompts."""
    total, count = 0.0, 0
    with torch.inference_mode():
        for text in prompts:
            prompt = render_turns(shared.tokenizer, [{"role": "user", "content": text}], add_generation_prompt=True)
            ids = shared.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(shared.device)
            h = shared.model(input_ids=ids, output_hidden_states=True).hidden_states[layer][0, 1:].float()
            total += h.norm(dim=-1).sum().item()
            count += h.shape[0]
    return total / count


def test_raw_is_the_default_and_unit_normalises_the_vector(tiny_llama, vec, cache):
    raw = _steer(tiny_llama, vec).api.steering.deltas[LAYER]
    assert torch.allclose(raw, 1.5 * _row(vec))
    unit = _steer(tiny_llama, vec, coef_mode="unit").api.steering.deltas[LAYER]
    assert torch.allclose(unit, 1.5 * _row(vec) / _row(vec).norm(), atol=1e-6)
    assert unit.norm().item() == pytest.approx(1.5, rel=1e-5)
    assert not cache.exists()  # only norm measures


def test_norm_scales_by_the_measured_mean_residual_norm(tiny_llama, vec, cache, monkeypatch):
    model = _steer(tiny_llama, vec, coef_mode="norm")
    measured = _independent_norm(load_shared(tiny_llama), LAYER)
    delta = model.api.steering.deltas[LAYER]
    assert torch.allclose(delta, 1.5 * _row(vec) / _row(vec).norm() * measured, rtol=1e-4)
    assert delta.norm().item() == pytest.approx(1.5 * measured, rel=1e-4)
    # cached: a second instance reads the file and measures nothing
    files = list((cache / "norms").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["norms"][str(LAYER)] == pytest.approx(measured, rel=1e-4)
    monkeypatch.setattr(norms_module, "measure_norms", lambda shared: pytest.fail("measured again"))
    again = _steer(tiny_llama, vec, coef_mode="norm", coef=3.0)
    assert torch.allclose(again.api.steering.deltas[LAYER], 2 * delta, rtol=1e-5)
    # recorded in every output, and part of the signature (raw and norm never share cache entries)
    output = asyncio.run(again.generate("Hi", config={"max_tokens": 2}))
    assert output.metadata["coef_mode"] == "norm"
    assert output.metadata["residual_norm"][str(LAYER)] == pytest.approx(measured, rel=1e-4)
    assert again.api.signature != _steer(tiny_llama, vec, coef=3.0).api.signature


def test_a_corrupt_cache_file_is_measured_again(tiny_llama, vec, cache):
    first = _steer(tiny_llama, vec, coef_mode="norm").api.steering.deltas[LAYER]
    (path,) = (cache / "norms").glob("*.json")
    path.write_text("{not json")
    second = _steer(tiny_llama, vec, coef_mode="norm").api.steering.deltas[LAYER]
    assert torch.allclose(first, second) and json.loads(path.read_text())["norms"]


def test_bad_coef_modes(tiny_llama, vec, tmp_path, cache):
    with pytest.raises(SteeringConfigError, match=r"coef_mode must be one of \['raw', 'unit', 'norm'\].*got 'relative'"):
        _steer(tiny_llama, vec, coef_mode="relative")
    zero = str(save_vectors(tmp_path / "zero.safetensors", {"vector": torch.zeros(64)}))
    with pytest.raises(SteeringConfigError, match="vector: .*zero.safetensors is all zeros at layer 2: coef_mode=unit cannot scale"):
        _steer(tiny_llama, zero, coef_mode="unit")
    with pytest.raises(SteeringConfigError, match="layer"):  # layers are checked before any norm is measured
        _steer(tiny_llama, vec, coef_mode="norm", layer=9)
    assert not cache.exists()


def test_the_last_layer_norm_is_of_the_raw_block_output_before_the_final_norm(tiny_llama):
    """At L = num_layers, `coef_mode=norm` measures what steering adds to there: the last block's
    raw output (README, norms.py), not transformers' hidden_states[num_layers] (final norm applied)."""
    from persona_evals.steering.layers import decoder_blocks

    shared = load_shared(tiny_llama)
    last, raw = shared.num_layers, []
    prompt = norms_module.NORM_PROMPTS[:2]
    handle = decoder_blocks(shared.model)[last - 1].register_forward_hook(
        lambda _m, _i, out: raw.append((out[0] if isinstance(out, tuple) else out)[0, 1:].float().norm(dim=-1))
    )
    try:
        measured = norms_module.measure_norms(shared, prompt)[last]
    finally:
        handle.remove()
    expected = float(torch.cat(raw).mean())
    assert measured == pytest.approx(expected, rel=1e-5)
    final = _independent_norm(shared, last, prompt)  # hidden_states[num_layers]: after the final norm
    assert final != pytest.approx(expected, rel=1e-2)

