"""Steering per row: every request of a batch carries its own terms; one set of hooks applies them.

A request's `RowSteering` is what its `steer` instance adds to the residual stream (coef·v
summed per layer) and at which positions, which directions it ablates, and what it monitors.
`BatchTerms` stacks the rows of one batch on the model's device: per steered layer a
``[rows, 1, hidden]`` tensor (zeros for a row that adds nothing there) and per forward a
``[rows, seq]`` position mask, so one hook per layer (`hooks.steer_residual`) computes
``h + mask·add`` for every row at once; per ablated layer a ``[rows, k, hidden]`` orthonormal
basis, zero-padded (a zero row removes nothing), for `ablation.ablate_residual` (every position).
Rows that leave the batch are dropped from every tensor (`select`). Monitors project the last
position of each forward onto the union of the rows' directions at that layer; each row then
reads its own.

A new per-row term is a field on `RowSteering`, a stacked tensor per layer here and its hook.
What every row of a batch must share (the weights, e.g. a LoRA adapter; the sampling mode; a
JSON schema) is no term: it belongs in the batch key (`provider.BatchKey`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch

from persona_evals.protocol import MonitorReading, MonitorReadings
from persona_evals.steering.ablation import ablate_residual
from persona_evals.steering.hooks import PositionMask, steer_residual
from persona_evals.steering.sampling import to_lists
from persona_evals.steering_args import Positions


class Monitor(NamedTuple):
    """Project the activations after block `layer` onto `direction` (reported under `name`)."""

    name: str
    layer: int
    direction: torch.Tensor


@dataclass(frozen=True, eq=False)
class RowSteering:
    """One request's steering: ``deltas[L]`` ([hidden], float32) added after block L at `positions`;
    the span of ``ablate[L]`` (orthonormal rows, [k, hidden]) projected out after block L."""

    deltas: Mapping[int, torch.Tensor] = field(default_factory=dict)
    positions: Positions = "response"
    monitors: tuple[Monitor, ...] = ()
    ablate: Mapping[int, torch.Tensor] = field(default_factory=dict)


UNSTEERED = RowSteering()


def position_masks(positions: Positions, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One row's steering masks for the prefill ([P]) and for each decode step ([1]).

    `prompt`: real prompt tokens, never padding. `response`: the last prompt position (so the
    first generated token is steered) and every fed-back generated token. `all`: both.
    """
    prefill = torch.zeros_like(attention_mask, dtype=torch.float32)
    decode = torch.zeros(1, dtype=torch.float32, device=attention_mask.device)
    if positions in ("prompt", "all"):
        prefill = attention_mask.to(torch.float32)
    if positions in ("response", "all"):
        prefill[-1] = 1.0  # left padding: the last column is the row's last prompt token
        decode += 1.0
    return prefill, decode


class BatchTerms:
    """The rows' terms of one batch as stacked tensors, read by the hooks at every forward.

    `layers` fixes which blocks get a steering hook (default: the layers some row steers); a
    compiled decode step passes every layer, so its graph is the same for every batch.
    """

    def __init__(
        self,
        rows: Sequence[RowSteering],
        attention_mask: torch.Tensor,
        dtype: torch.dtype,
        hidden_size: int,
        layers: Sequence[int] | None = None,
    ) -> None:
        device = attention_mask.device
        steered = sorted({layer for r in rows for layer in r.deltas}) if layers is None else list(layers)
        zero = torch.zeros(hidden_size)
        self.add: dict[int, torch.Tensor] = {
            layer: torch.stack([r.deltas.get(layer, zero) for r in rows]).unsqueeze(1).to(device=device, dtype=dtype)
            for layer in steered
        }
        self.ablate: dict[int, torch.Tensor] = {
            layer: _stack_bases([r.ablate.get(layer) for r in rows], hidden_size).to(device=device, dtype=dtype)
            for layer in sorted({layer for r in rows for layer in r.ablate})
        }
        masks = [position_masks(r.positions, attention_mask[i]) for i, r in enumerate(rows)]
        self.prefill_mask = torch.stack([p for p, _ in masks]).to(dtype)
        self.decode_mask = torch.stack([d for _, d in masks]).to(dtype)
        self.position = PositionMask(self.prefill_mask)
        self._monitor_setup(rows, device)

    def _monitor_setup(self, rows: Sequence[RowSteering], device: torch.device) -> None:
        """Unit directions per monitored layer ([m, hidden]), and per row its (name, layer, column)."""
        columns: dict[int, dict[tuple[str, int], int]] = {}
        directions: dict[int, list[torch.Tensor]] = {}
        self.readings: list[list[tuple[str, int, int]]] = []
        for r in rows:
            mine = []
            for m in r.monitors:
                cols = columns.setdefault(m.layer, {})
                key = (m.name, id(m.direction))
                if key not in cols:
                    cols[key] = len(cols)
                    d = m.direction.to(torch.float32)
                    directions.setdefault(m.layer, []).append(d / d.norm())
                mine.append((m.name, m.layer, cols[key]))
            self.readings.append(mine)
        self.units = {layer: torch.stack(ds).to(device) for layer, ds in directions.items()}

    @property
    def monitored(self) -> bool:
        return bool(self.units)

    def decoding(self) -> None:
        """From now on each forward is one decode step."""
        self.position.mask = self.decode_mask

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the rows `keep` (indices into the current rows), in place for the hooks."""
        for terms in (self.add, self.ablate):
            for layer in terms:
                terms[layer] = terms[layer][keep]
        self.decode_mask = self.decode_mask[keep]
        self.position.mask = self.decode_mask

    def project(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        """The last position of a forward's block output projected on the layer's monitors: [rows, m]."""
        # .to: with device_map the block may sit on another GPU than the embeddings (no-op otherwise)
        return hidden[:, -1, :].float() @ self.units[layer].to(hidden.device).T

    def monitor_values(
        self, recorded: Mapping[int, list[torch.Tensor]], forward_rows: list[list[int]], counts: list[int]
    ) -> list[MonitorReadings]:
        """Per row, per monitor name, a `MonitorReading`: ``proj``, the mean projection over its
        first `counts[i]` response tokens (None when there are none), and ``prompt_last_proj``, its
        last prompt token's.

        Forward 0 is the prefill; a row's k-th decode forward fed its (k-1)-th generated token.
        """
        values: list[MonitorReadings] = [{} for _ in self.readings]
        for layer, outs in recorded.items():
            per_forward = to_lists(outs)  # one host transfer, not one per forward
            sums: dict[int, list[float]] = {}
            seen = [0] * len(self.readings)
            for rows, proj in zip(forward_rows[1:], per_forward[1:]):
                for j, i in enumerate(rows):
                    if seen[i] < counts[i]:
                        acc = sums.setdefault(i, [0.0] * len(proj[j]))
                        for c, v in enumerate(proj[j]):
                            acc[c] += v
                    seen[i] += 1
            for i, mine in enumerate(self.readings):
                for name, at, col in mine:
                    if at != layer:
                        continue
                    mean = sums[i][col] / counts[i] if counts[i] > 0 and i in sums else None
                    values[i][name] = MonitorReading(proj=mean, prompt_last_proj=per_forward[0][i][col])
        return values


def _stack_bases(bases: Sequence[torch.Tensor | None], hidden_size: int) -> torch.Tensor:
    """Per-row ``[k_i, hidden]`` bases (None: nothing ablated) as one ``[rows, max k, hidden]``, zero-padded."""
    k = max(b.shape[0] for b in bases if b is not None)
    out = torch.zeros(len(bases), k, hidden_size)
    for i, b in enumerate(bases):
        if b is not None:
            out[i, : b.shape[0]] = b
    return out


@contextmanager
def applied(model: Any, terms: BatchTerms | None) -> Iterator[None]:
    """The batch's ablation and steering hooks, attached for the block (nothing when `terms` is None).

    Ablation is entered first: both hooks are prepended, so at a layer that is also steered the
    ablation runs last and the stream keeps no component along it.
    """
    with ExitStack() as stack:
        if terms is not None and terms.ablate:
            stack.enter_context(ablate_residual(model, terms.ablate))
        if terms is not None and terms.add:
            stack.enter_context(steer_residual(model, terms.add, terms.position))
        yield
