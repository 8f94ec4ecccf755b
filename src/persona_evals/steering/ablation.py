"""Directional ablation: project directions out of the residual stream (CAFT, and inference).

With U the rows of an orthonormal basis of k directions, ``h ← h − (h·Uᵀ)·U`` removes every
component of h in their span; for one direction u = v/‖v‖ this is the paper's ``h − (h·u)u``.
The basis comes from a QR decomposition, so several (possibly correlated) vectors are ablated
jointly rather than one after another (which would leave components back in the span). There is
no coefficient. One implementation serves training (concept-ablation finetuning, `persona_evals
.training`) and inference (the `steer` provider's `-M ablate=... -M ablate_layer=...`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.hooks import PositionMask, _hidden, _replace, cast_like
from persona_evals.steering.layers import decoder_blocks


def orthonormal_basis(directions: torch.Tensor, arg: str = "ablate") -> torch.Tensor:
    """Rows spanning the same space as the rows of `directions` ([k, hidden]), orthonormal, float32.

    Raises `SteeringConfigError` (naming `arg`) for a zero vector or linearly dependent vectors.
    """
    d = directions.to(torch.float32)
    if d.dim() == 1:
        d = d[None, :]
    q, r = torch.linalg.qr(d.T)  # d.T = q @ r, columns of q orthonormal
    diag = r.diagonal().abs()
    if (diag <= 1e-6 * d.norm(dim=-1).max().clamp_min(1e-30)).any():
        raise SteeringConfigError(f"{arg}: the {len(d)} direction(s) are zero or linearly dependent")
    return q.T.contiguous()


def component_in(h: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """The component of `h` in the span of the orthonormal rows of `basis`.

    `basis` is ``[k, hidden]`` (the same for every row of `h` ``[..., hidden]``) or ``[rows, k,
    hidden]`` for ``h`` ``[rows, seq, hidden]``, one basis per row; zero rows of a basis remove
    nothing, so bases of different sizes stack by zero-padding.
    """
    if basis.dim() == 3:
        return torch.einsum("rsk,rkh->rsh", torch.einsum("rsh,rkh->rsk", h, basis), basis)
    return (h @ basis.T) @ basis


@contextmanager
def ablate_residual(
    model: Any, bases: Mapping[int, torch.Tensor], positions: PositionMask | None = None
) -> Iterator[None]:
    """Ablate ``bases[L]`` (orthonormal rows, see `component_in`) from the output of block L at the
    masked positions (every position when `positions` or its mask is None); hooks removed on exit,
    even on error. Enter it before `steer_residual`: both hooks are prepended, so at a layer that
    is also steered the ablation then runs last and the stream keeps no component along it."""
    blocks = decoder_blocks(model)
    handles = []
    cast: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def make_hook(layer: int):
        def hook(_module: Any, _args: Any, output: Any) -> Any:
            h = _hidden(output)
            # read at every forward: a batch may replace it (rows leaving)
            removed = component_in(h, cast_like(cast, layer, bases[layer], h))
            m = positions.mask if positions is not None else None
            if m is not None:
                removed = m.to(device=h.device, dtype=h.dtype).unsqueeze(-1) * removed
            return _replace(output, h - removed)

        hook._persona_evals = True  # type: ignore[attr-defined]
        return hook

    try:
        for layer in list(bases):
            # prepend, like steering: hooks that collect output_hidden_states see the ablated stream
            handles.append(blocks[layer - 1].register_forward_hook(make_hook(layer), prepend=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
