"""Forward hooks as context manager: add directions to the residual stream, or record it.

Hooks are attached on entry and always removed on exit, even on error. Which positions are
steered is never inferred from tensor shapes (that steers padding, and breaks with a KV cache):
the caller sets `PositionMask.mask` to a ``[batch, seq]`` float mask before each forward, so the
same hooks serve prefill, decode steps and plain forwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from persona_evals.steering.layers import decoder_blocks


@dataclass
class PositionMask:
    """Which positions of the current forward get steered (1.0) or not (0.0); None = all."""

    mask: torch.Tensor | None = None


@dataclass
class Recording:
    """Residual-stream outputs of hooked blocks, one tensor per forward, keyed by layer."""

    outputs: dict[int, list[torch.Tensor]] = field(default_factory=dict)


def _hidden(output: Any) -> torch.Tensor:
    # transformers 5 blocks return a tensor; 4.x returned a tuple whose first item is the stream
    return output[0] if isinstance(output, tuple) else output


def _replace(output: Any, hidden: torch.Tensor) -> Any:
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


def cast_like(cache: dict[int, tuple[torch.Tensor, torch.Tensor]], key: int, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """`t` on `h`'s device and dtype, cast once per tensor and kept under `key` (a layer) while `t`
    stays the tensor there (a CPU float32 vector on a bf16 GPU model is not cast at every forward)."""
    if t.dtype == h.dtype and t.device == h.device:
        return t
    held = cache.get(key)
    if held is None or held[0] is not t or held[1].dtype != h.dtype or held[1].device != h.device:
        held = cache[key] = (t, t.to(device=h.device, dtype=h.dtype))
    return held[1]


@contextmanager
def steer_residual(
    model: Any, deltas: Mapping[int, torch.Tensor], positions: PositionMask
) -> Iterator[None]:
    """Add ``deltas[L]`` to the output of block L at the masked positions.

    A delta is ``[hidden]`` (the same for every row) or ``[rows, 1, hidden]`` (one per row, see
    `rows.BatchTerms`). The hooks read `deltas` and ``positions.mask`` at every forward, so the
    caller may replace their values between forwards (rows leaving the batch).
    """
    blocks = decoder_blocks(model)
    handles = []
    cast: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def make_hook(layer: int):
        def hook(_module: Any, _args: Any, output: Any) -> Any:
            h = _hidden(output)
            d = cast_like(cast, layer, deltas[layer], h)
            m = positions.mask
            if m is None:
                h = h + d
            else:
                h = h + m.to(device=h.device, dtype=h.dtype).unsqueeze(-1) * d
            return _replace(output, h)

        hook._persona_evals = True  # type: ignore[attr-defined]
        return hook

    try:
        for layer in list(deltas):
            # prepend: run before any other forward hook, e.g. the ones transformers 5 installs to
            # collect output_hidden_states, so those report the steered stream
            handles.append(blocks[layer - 1].register_forward_hook(make_hook(layer), prepend=True))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def record_residual(
    model: Any, layers: list[int], take: Callable[[int, torch.Tensor], torch.Tensor] | None = None
) -> Iterator[Recording]:
    """Record the output of block L (= hidden_states[L] for L < num_layers) for each forward;
    ``take(L, output)`` keeps only what it returns (e.g. a projection of the last position)."""
    blocks = decoder_blocks(model)
    rec = Recording({layer: [] for layer in layers})
    handles = []

    def make_hook(layer: int):
        def hook(_module: Any, _args: Any, output: Any) -> None:
            h = _hidden(output).detach()
            rec.outputs[layer].append(h if take is None else take(layer, h))

        hook._persona_evals = True  # type: ignore[attr-defined]
        return hook

    try:
        for layer in layers:
            handles.append(blocks[layer - 1].register_forward_hook(make_hook(layer)))
        yield rec
    finally:
        for handle in handles:
            handle.remove()


def active_hook_count(model: Any) -> int:
    """How many of our hooks are attached to the decoder blocks (0 outside a steering block).

    transformers 5 attaches hooks of its own (to collect output_hidden_states); those are not counted.
    """
    return sum(
        getattr(h, "_persona_evals", False) for b in decoder_blocks(model) for h in b._forward_hooks.values()
    )
