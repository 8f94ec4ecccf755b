"""`SteeringSpec`: the validated steering configuration of a `steer` model (no torch here).

Model args arrive through YAML parsing (`-M k=v`), so values may be ints, floats, strings, or lists
of strings (``layer=10,12`` arrives as ``['10', '12']``). `SteeringSpec.from_model_args` coerces
them, rejects unknown keys and mismatched list lengths, and names the argument in every error,
before any model is loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from persona_evals.args import ArgumentError
from persona_evals.paths import split_key

Positions = Literal["all", "prompt", "response"]
DType = Literal["auto", "float32", "bfloat16", "float16"]
Compile = Literal["auto", "true", "false"]
CoefMode = Literal["raw", "unit", "norm"]

DEFAULT_BATCH_SIZE = 32


class SteeringConfigError(ArgumentError):
    """A model arg of the `steer` provider is invalid; the message names the argument.

    An `ArgumentError` (a ``ValueError``): ``inspect eval`` prints its message alone, first,
    instead of a long exception group with the message at its end.
    """


@dataclass(frozen=True)
class VectorSpec:
    """One steering term: add ``coef * vector`` to the residual stream after block `layer`."""

    path: str
    key: str | None  # tensor name inside a multi-tensor file (``file.safetensors#prompt_last``)
    layer: int
    coef: float


@dataclass(frozen=True)
class SteeringSpec:
    """Everything a `steer` instance is configured with (see the README's provider section)."""

    vectors: tuple[VectorSpec, ...] = ()
    positions: Positions = "response"
    dtype: DType = "auto"
    device: str = "auto"
    device_map: str | dict[str, Any] | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    monitor: tuple[VectorSpec, ...] = ()
    compile: Compile = "auto"  # a compiled static-cache decode step: auto = on for a model on one CUDA GPU
    adapter: str | None = None  # a peft LoRA folder (or one of its checkpoints) on the base model
    ablate: tuple[VectorSpec, ...] = ()  # directions projected out after block `layer` (coef unused)
    coef_mode: CoefMode = "raw"  # raw: coef·v; unit: coef·v/‖v‖; norm: coef·v/‖v‖·mean‖h_L‖ (norms.py)
    signature: str | None = None  # the steering signature a log recorded: must match the files (reruns.py)

    @classmethod
    def from_model_args(cls, args: dict[str, Any]) -> SteeringSpec:
        """Validate and coerce `-M` model args; raise `SteeringConfigError` naming the argument."""
        args = {k.replace("-", "_"): v for k, v in args.items()}
        unknown = sorted(set(args) - _KNOWN)
        if unknown:
            raise SteeringConfigError(
                f"unknown model arg(s) {unknown} for steer; valid: {sorted(_KNOWN)}"
            )
        positions = args.get("positions", "response")
        if positions not in get_args(Positions):
            raise SteeringConfigError(
                f"positions must be one of {list(get_args(Positions))}, got {positions!r}"
            )
        dtype = str(args.get("dtype", "auto"))
        if dtype not in get_args(DType):
            raise SteeringConfigError(f"dtype must be one of {list(get_args(DType))}, got {dtype!r}")
        batch_size = _as_int(args.get("batch_size", DEFAULT_BATCH_SIZE), "batch_size")
        if batch_size < 1:
            raise SteeringConfigError(f"batch_size must be >= 1, got {batch_size}")
        compile_ = str(args.get("compile", "auto")).lower()  # YAML reads -M compile=true as a bool
        if compile_ not in get_args(Compile):
            raise SteeringConfigError(f"compile must be one of {list(get_args(Compile))}, got {args['compile']!r}")
        coef_mode = str(args.get("coef_mode", "raw"))
        if coef_mode not in get_args(CoefMode):
            raise SteeringConfigError(
                f"coef_mode must be one of {list(get_args(CoefMode))} (raw: coef·v; unit: coef·v/‖v‖; "
                f"norm: coef·v/‖v‖·mean residual norm at the layer), got {args['coef_mode']!r}"
            )
        vectors = _terms(args, "vector", "layer", "coef", default_coef=1.0)
        monitor = _terms(args, "monitor", "monitor_layer", None, default_coef=1.0)
        ablate = _terms(args, "ablate", "ablate_layer", None, default_coef=0.0)
        adapter = args.get("adapter")
        if adapter is not None and (not isinstance(adapter, str) or not adapter.strip()):
            raise SteeringConfigError(f"adapter must be the path of a peft adapter folder, got {adapter!r}")
        return cls(
            vectors=vectors,
            positions=positions,
            dtype=dtype,  # type: ignore[arg-type]
            device=str(args.get("device", "auto")),
            device_map=args.get("device_map"),
            batch_size=batch_size,
            monitor=monitor,
            compile=compile_,  # type: ignore[arg-type]
            adapter=str(Path(adapter).expanduser()) if adapter else None,
            ablate=ablate,
            coef_mode=coef_mode,  # type: ignore[arg-type]
            signature=None if args.get("signature") is None else str(args["signature"]),
        )

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for logs (paths, layers, coefficients, positions)."""
        return {
            "vectors": [
                {"path": v.path, "key": v.key, "layer": v.layer, "coef": v.coef} for v in self.vectors
            ],
            "positions": self.positions,
            "coef_mode": self.coef_mode,
            "monitor": [{"path": v.path, "key": v.key, "layer": v.layer} for v in self.monitor],
            "adapter": self.adapter,
            "ablate": [{"path": v.path, "key": v.key, "layer": v.layer} for v in self.ablate],
        }


_KNOWN = {
    "vector",
    "layer",
    "coef",
    "positions",
    "dtype",
    "device",
    "device_map",
    "batch_size",
    "monitor",
    "monitor_layer",
    "compile",
    "adapter",
    "ablate",
    "ablate_layer",
    "coef_mode",
    "signature",
}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise SteeringConfigError(f"{name} must be an integer, got {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise SteeringConfigError(f"{name} must be an integer, got {value!r}") from None
    if not as_float.is_integer():
        raise SteeringConfigError(f"{name} must be an integer, got {value!r}")
    return int(as_float)


def _as_float(value: Any, name: str) -> float:
    """A finite float: nan and inf are refused (nan passes every comparison; inf·v is no steering)."""
    if isinstance(value, bool):
        raise SteeringConfigError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SteeringConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SteeringConfigError(f"{name} must be a finite number, got {value!r}")
    return number


def _terms(
    args: dict[str, Any], vec_key: str, layer_key: str, coef_key: str | None, default_coef: float
) -> tuple[VectorSpec, ...]:
    """Zip vector paths, layers and coefs; a list of one broadcasts, other lengths must agree."""
    paths = _rejoin([str(p) for p in _as_list(args.get(vec_key))])
    layers = [_as_int(x, layer_key) for x in _as_list(args.get(layer_key))]
    coefs = [_as_float(x, coef_key) for x in _as_list(args.get(coef_key))] if coef_key else []
    if not paths:
        given = [k for k in (layer_key, coef_key) if k and args.get(k) is not None]
        if given:
            raise SteeringConfigError(f"{' and '.join(given)} given without {vec_key}")
        return ()
    if not layers:
        raise SteeringConfigError(f"{vec_key} given without {layer_key} (which block to steer at)")
    lengths = {vec_key: len(paths), layer_key: len(layers)}
    if coef_key and coefs:
        lengths[coef_key] = len(coefs)
    n = max(lengths.values())
    bad = {k: v for k, v in lengths.items() if v not in (1, n)}
    if bad:
        raise SteeringConfigError(
            "lengths of "
            + ", ".join(f"{k} ({v})" for k, v in lengths.items())
            + f" do not match: each must have 1 entry or {n}"
        )
    coefs = coefs or [default_coef]
    out = []
    for i in range(n):
        path, key = split_key(paths[i if len(paths) > 1 else 0])
        out.append(
            VectorSpec(
                path=str(Path(path).expanduser()),
                key=key,
                layer=layers[i if len(layers) > 1 else 0],
                coef=coefs[i if len(coefs) > 1 else 0],
            )
        )
    return tuple(out)


def _rejoin(items: list[str]) -> list[str]:
    """inspect splits ``-M vector=my,file.safetensors`` at the comma: when no piece is a file but
    the pieces joined again are, that one file was meant."""
    def exists(raw: str) -> bool:
        return Path(split_key(raw)[0]).expanduser().is_file()

    if len(items) > 1 and not any(exists(i) for i in items) and exists(",".join(items)):
        return [",".join(items)]
    return items
