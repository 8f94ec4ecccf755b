"""Directional ablation (CAFT): the basis, the projection, and the hook on tiny random models."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.ablation import ablate_residual, component_in, orthonormal_basis
from persona_evals.steering.hooks import PositionMask, active_hook_count


def project_out(h: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """`h` without its component in the span of `basis`: what the ablation hook must leave."""
    return h - component_in(h, basis)


def test_basis_is_orthonormal_and_spans_the_directions():
    torch.manual_seed(0)
    d = torch.randn(3, 16)
    d[2] = d[0] + 0.5 * d[1] + 0.1 * torch.randn(16)  # correlated, still independent
    b = orthonormal_basis(d)
    torch.testing.assert_close(b @ b.T, torch.eye(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(project_out(d, b), torch.zeros_like(d), atol=1e-5, rtol=0)


def test_one_direction_is_the_papers_formula():
    torch.manual_seed(0)
    v, h = torch.randn(16) * 7, torch.randn(5, 16)
    u = v / v.norm()
    manual = h - (h @ u)[:, None] * u
    torch.testing.assert_close(project_out(h, orthonormal_basis(v)), manual)


@pytest.mark.parametrize("bad", [torch.zeros(2, 8), torch.stack([torch.ones(8), 2 * torch.ones(8)])])
def test_zero_or_dependent_directions_are_refused(bad):
    with pytest.raises(SteeringConfigError, match="ablate: .*zero or linearly dependent"):
        orthonormal_basis(bad)


@pytest.mark.parametrize("layer", [1, 3])
def test_hook_leaves_no_component_and_equals_manual_projection(tiny_model, layer):
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7, 3], [8, 9, 10, 11, 12, 13]])
    torch.manual_seed(1)
    dirs = torch.randn(2, model.config.hidden_size)
    basis = orthonormal_basis(dirs)
    with torch.no_grad():
        plain = model(ids, output_hidden_states=True)
        with ablate_residual(model, {layer: basis}):
            assert active_hook_count(model) == 1
            ablated = model(ids, output_hidden_states=True)
    assert active_hook_count(model) == 0
    h = ablated.hidden_states[layer]
    assert (h @ dirs.T).abs().max() < 1e-4  # h·u = 0 at every position, for every direction
    torch.testing.assert_close(h, project_out(plain.hidden_states[layer], basis))
    for i in range(layer):  # upstream untouched
        torch.testing.assert_close(ablated.hidden_states[i], plain.hidden_states[i])
    assert not torch.allclose(ablated.logits, plain.logits)


def test_position_mask_limits_the_ablation(tiny_llama):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    ids = torch.tensor([[5, 17, 42, 99]])
    basis = orthonormal_basis(torch.randn(model.config.hidden_size))
    mask = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with torch.no_grad():
        plain = model(ids, output_hidden_states=True).hidden_states[2]
        with ablate_residual(model, {2: basis}, PositionMask(mask)):
            h = model(ids, output_hidden_states=True).hidden_states[2]
    torch.testing.assert_close(h[:, :2], plain[:, :2])
    torch.testing.assert_close(h[:, 2:], project_out(plain[:, 2:], basis))


def test_hook_removed_on_error(tiny_llama):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    with pytest.raises(RuntimeError, match="boom"):
        with ablate_residual(model, {1: orthonormal_basis(torch.randn(64))}):
            raise RuntimeError("boom")
    assert active_hook_count(model) == 0


def test_per_row_bases_zero_padded():
    torch.manual_seed(0)
    h = torch.randn(2, 3, 16)
    b0, b1 = orthonormal_basis(torch.randn(2, 16)), orthonormal_basis(torch.randn(16))
    stacked = torch.zeros(2, 2, 16)
    stacked[0], stacked[1, :1] = b0, b1
    out = h - component_in(h, stacked)
    torch.testing.assert_close(out[0], project_out(h[0], b0))
    torch.testing.assert_close(out[1], project_out(h[1], b1))
