"""Steering and ablation terms resolved against a model: files read, shapes and layers checked.

`steering_deltas` sums coef·v per layer (several vectors at one layer add up); `ablation_bases`
gives one orthonormal basis per layer of the directions ablated there. The provider and the
training loop both use them, so a term means the same thing at inference and during finetuning,
and every error names the argument it came from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.ablation import orthonormal_basis
from persona_evals.steering.layers import check_layer
from persona_evals.steering.vectors import LoadedVector, check_fits, check_model, check_nonzero, load_vector
from persona_evals.steering_args import CoefMode, VectorSpec


def arg_name(name: str, i: int, n: int) -> str:
    """`name` for a single term, `name[i]` when there are several."""
    return name if n == 1 else f"{name}[{i}]"


def load_terms(terms: Sequence[VectorSpec], arg: str) -> list[LoadedVector]:
    return [load_vector(t.path, t.key, arg=arg_name(arg, i, len(terms))) for i, t in enumerate(terms)]


def check_models(vectors: Sequence[LoadedVector], arg: str, model: str, model_path: str) -> None:
    """Each of `vectors` (the `arg` terms) was extracted from `model` by its metadata (`check_model`)."""
    for i, vec in enumerate(vectors):
        check_model(vec, [(model, model_path)], arg_name(arg, i, len(vectors)), "-M allow_other_model=true")


def steering_deltas(
    terms: Sequence[VectorSpec],
    vectors: Sequence[LoadedVector],
    num_layers: int,
    hidden_size: int,
    args: tuple[str, str] = ("vector", "layer"),
    scales: Sequence[float] | None = None,
) -> dict[int, torch.Tensor]:
    """``{layer: Σ coef·scale·v_layer}``, float32 on the CPU, after checking every term against the
    model; `scales` (one per term, default 1) come from `coef_scales`."""
    deltas: dict[int, torch.Tensor] = {}
    for i, (term, vec) in enumerate(zip(terms, vectors, strict=True)):
        check_term(term, vec, num_layers, hidden_size, args, i, len(terms))
        coef = arg_name("coef", i, len(terms))
        if not math.isfinite(term.coef):
            raise SteeringConfigError(f"{coef} must be a finite number, got {term.coef}")
        delta = term.coef * (1.0 if scales is None else scales[i]) * vec.row(term.layer)
        if not torch.isfinite(delta).all():
            raise SteeringConfigError(f"{coef}={term.coef:g} times {vec.path} overflows float32: use a smaller coef")
        deltas[term.layer] = deltas[term.layer] + delta if term.layer in deltas else delta
    return deltas


def coef_scales(
    mode: CoefMode,
    terms: Sequence[VectorSpec],
    vectors: Sequence[LoadedVector],
    num_layers: int,
    hidden_size: int,
    norms: Callable[[], Mapping[int, float]] | None = None,
) -> list[float]:
    """What each term's coef multiplies besides its vector row: 1 (``raw``), 1/‖v_L‖ (``unit``), or
    mean‖h_L‖/‖v_L‖ (``norm``; `norms` is called, after every term is checked, for
    ``{L: mean‖h_L‖}``, see `norms.residual_norms`)."""
    if mode == "raw":
        return [1.0] * len(terms)
    lengths = []
    for i, (term, vec) in enumerate(zip(terms, vectors, strict=True)):
        check_term(term, vec, num_layers, hidden_size, ("vector", "layer"), i, len(terms))
        check_nonzero(vec, term.layer, arg_name("vector", i, len(terms)), f"coef_mode={mode} cannot scale it to unit length")
        lengths.append(float(vec.row(term.layer).norm()))
    if mode == "unit":
        return [1.0 / length for length in lengths]
    if norms is None:
        raise ValueError("coef_mode=norm needs the residual norms")
    measured = norms()
    return [measured[t.layer] / length for t, length in zip(terms, lengths)]


def ablation_bases(
    terms: Sequence[VectorSpec],
    vectors: Sequence[LoadedVector],
    num_layers: int,
    hidden_size: int,
    args: tuple[str, str] = ("ablate", "ablate_layer"),
) -> dict[int, torch.Tensor]:
    """``{layer: [k, hidden] orthonormal basis}`` of the directions ablated at each layer."""
    rows: dict[int, list[torch.Tensor]] = {}
    for i, (term, vec) in enumerate(zip(terms, vectors, strict=True)):
        check_term(term, vec, num_layers, hidden_size, args, i, len(terms))
        rows.setdefault(term.layer, []).append(vec.row(term.layer))
    return {
        layer: orthonormal_basis(torch.stack(dirs), arg=f"{args[0]} (layer {layer})")
        for layer, dirs in rows.items()
    }


def check_term(
    term: VectorSpec, vec: LoadedVector, num_layers: int, hidden: int, args: tuple[str, str], i: int, n: int
) -> None:
    """Term `i` of `n` fits the model: its layer exists and its vector has a row of the model's
    hidden size there; errors name ``args`` = (vector arg, layer arg), indexed when n > 1."""
    check_layer(term.layer, num_layers, arg_name(args[1], i, n))
    check_fits(vec, term.layer, hidden, num_layers, arg_name(args[0], i, n))
