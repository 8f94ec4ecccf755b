"""Steering terms parsed from model args: the one torch-free parser every reader uses.

A steering term is ``coef · vector`` added to the residual stream after block ``layer``. Terms are
named in several places: the ``steer`` provider's ``-M`` args (either engine), the model args a
log recorded (`persona_evals.identity`), ``persona-evals finetune --steer/--ablate`` and
``persona-evals sweep``. They all go through this module, so ``-M layer=10.0`` means block 10
everywhere, ``file#key`` splits the same way everywhere (`split_key`: last ``#``, no split
when the whole name is a file) and ``~`` expands everywhere.

Values arrive through YAML (``-M k=v``) or JSON (a log), so a value may be an int, a float, a
string, a list of those, or a list written as a JSON string; ``layer=10,12`` arrives as
``['10', '12']``. Every error is a `SteeringConfigError` that names the argument.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from persona_evals.errors import SteeringConfigError

Positions = Literal["all", "prompt", "response"]
CoefMode = Literal["raw", "unit", "norm"]

DEFAULT_COEF = 1.0
DEFAULT_POSITIONS: Positions = "response"
DEFAULT_COEF_MODE: CoefMode = "raw"

# `-M vllm_<name>=...`: one of vLLM's engine arguments, passed through (steer with engine=vllm); like
# every arg that says where or how a model runs, never part of a model's identity
VLLM_ARG_PREFIX = "vllm_"

# The model args that name terms, as (vector arg, layer arg, coef arg or None).
STEER_ARGS = ("vector", "layer", "coef")
MONITOR_ARGS = ("monitor", "monitor_layer", None)
ABLATE_ARGS = ("ablate", "ablate_layer", None)


@dataclass(frozen=True)
class VectorSpec:
    """One term: add ``coef * vector`` to the residual stream after block `layer`.

    `path` is the file as given with ``~`` expanded; `key` the tensor name inside a multi-tensor
    file (``file.safetensors#prompt_last``), or None.
    """

    path: str
    key: str | None
    layer: int
    coef: float


@dataclass(frozen=True)
class SteeringTerms:
    """Every term-like model arg of one configuration, parsed."""

    vectors: tuple[VectorSpec, ...] = ()
    monitor: tuple[VectorSpec, ...] = ()
    ablate: tuple[VectorSpec, ...] = ()  # coef unused (0.0)
    positions: Positions = DEFAULT_POSITIONS
    coef_mode: CoefMode = DEFAULT_COEF_MODE


def split_key(raw: str) -> tuple[str, str | None]:
    """``file#name`` -> (file, name): the tensor `name` of a multi-tensor vector file.

    A string that is itself an existing file (``my#1.safetensors``) is a path with no name;
    otherwise the last ``#`` splits (``a#b.safetensors#prompt_last``).
    """
    if "#" not in raw or Path(raw).expanduser().is_file():
        return raw, None
    path, _, key = raw.rpartition("#")
    return path, key or None


def parse_steering(args: Mapping[str, Any]) -> SteeringTerms:
    """The terms, positions and coefficient mode named by `args` (keys with ``-`` or ``_``)."""
    args = normal_keys(args)
    return SteeringTerms(
        vectors=terms_from_args(args, *STEER_ARGS, default_coef=DEFAULT_COEF),
        monitor=terms_from_args(args, *MONITOR_ARGS, default_coef=DEFAULT_COEF),
        ablate=terms_from_args(args, *ABLATE_ARGS, default_coef=0.0),
        positions=choice(args.get("positions", DEFAULT_POSITIONS), Positions, "positions"),
        coef_mode=choice(
            args.get("coef_mode", DEFAULT_COEF_MODE),
            CoefMode,
            "coef_mode",
            hint=" (raw: coef·v; unit: coef·v/‖v‖; norm: coef·v/‖v‖·mean residual norm at the layer)",
        ),
    )


def normal_keys(args: Mapping[str, Any]) -> dict[str, Any]:
    """``coef-mode`` and ``coef_mode`` are one arg."""
    return {k.replace("-", "_"): v for k, v in args.items()}


def terms_from_args(
    args: Mapping[str, Any], vec_key: str, layer_key: str, coef_key: str | None, default_coef: float
) -> tuple[VectorSpec, ...]:
    """The terms named by ``args[vec_key]``, ``args[layer_key]`` (and ``args[coef_key]``)."""
    paths = rejoin([str(p) for p in as_list(args.get(vec_key))])
    layers = as_list(args.get(layer_key))
    coefs = as_list(args.get(coef_key)) if coef_key else []
    if not paths:
        given = [k for k in (layer_key, coef_key) if k and args.get(k) is not None]
        if given:
            raise SteeringConfigError(f"{' and '.join(given)} given without {vec_key}")
        return ()
    return zip_terms(paths, layers, coefs, (vec_key, layer_key, coef_key), default_coef)


def zip_terms(
    paths: Sequence[str],
    layers: Sequence[Any],
    coefs: Sequence[Any],
    names: tuple[str, str, str | None] = STEER_ARGS,
    default_coef: float = DEFAULT_COEF,
) -> tuple[VectorSpec, ...]:
    """Zip vector paths, layers and coefs; a list of one broadcasts, other lengths must agree.

    One vector file given several coefficients (``vector=v coef=[1,2]``) is refused: it would add
    the one vector twice, which nobody means (give the summed coef, or the file twice).
    """
    vec_key, layer_key, coef_key = names
    if not layers:
        raise SteeringConfigError(f"{vec_key} given without {layer_key} (which block to steer at)")
    layer_ints = [as_int(x, layer_key) for x in layers]
    coef_floats = [as_float(x, coef_key) for x in coefs] if coef_key else []
    lengths = {vec_key: len(paths), layer_key: len(layer_ints)}
    if coef_key and coef_floats:
        lengths[coef_key] = len(coef_floats)
    n = max(lengths.values())
    bad = {k: v for k, v in lengths.items() if v not in (1, n)}
    if bad:
        raise SteeringConfigError(
            "lengths of "
            + ", ".join(f"{k} ({v})" for k, v in lengths.items())
            + f" do not match: each must have 1 entry or {n}"
        )
    if n > 1 and len(paths) == 1 and len(layer_ints) == 1:
        raise SteeringConfigError(
            f"{coef_key}: {n} coefficients for one {vec_key} at one {layer_key} would add that vector {n} times; "
            f"give one {coef_key} (their sum), or list the {vec_key} once per {coef_key}"
        )
    coef_floats = coef_floats or [default_coef]
    out = []
    for i in range(n):
        path, key = vector_ref(paths[i if len(paths) > 1 else 0])
        out.append(
            VectorSpec(
                path=path,
                key=key,
                layer=layer_ints[i if len(layer_ints) > 1 else 0],
                coef=coef_floats[i if len(coef_floats) > 1 else 0],
            )
        )
    return tuple(out)


def vector_ref(raw: str) -> tuple[str, str | None]:
    """``file#key`` -> (file with ``~`` expanded, key or None); see `split_key`."""
    path, key = split_key(str(raw).strip())
    return str(Path(path).expanduser()), key


def rejoin(items: list[str]) -> list[str]:
    """inspect splits ``-M vector=my,file.safetensors`` at the comma: when no piece is a file but
    the pieces joined again are, that one file was meant."""

    def exists(raw: str) -> bool:
        return Path(split_key(raw)[0]).expanduser().is_file()

    if len(items) > 1 and not any(exists(i) for i in items) and exists(",".join(items)):
        return [",".join(items)]
    return items


def rejoined_files(args: Mapping[str, Any]) -> dict[str, str]:
    """The file args (``vector``, ``monitor``, ``ablate``) that inspect split at a comma in a file
    name, each as the one file meant (`rejoin`). The provider records these in its log's model
    args, so every later reader of the log (the identity, ``viz steering-effect``) reads one file,
    whether or not that file exists where the log is read."""
    out = {}
    for key in (STEER_ARGS[0], MONITOR_ARGS[0], ABLATE_ARGS[0]):
        items = [str(p) for p in as_list(args.get(key))]
        joined = rejoin(items)
        if joined != items:
            out[key] = joined[0]
    return out


def as_list(value: Any) -> list[Any]:
    """None -> [], a scalar -> [it], a list or tuple -> a list, a JSON list string -> its items."""
    if value is None:
        return []
    if isinstance(value, str) and value.startswith("["):  # logs and evals_df may keep lists as JSON
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    return list(value) if isinstance(value, list | tuple) else [value]


def as_int(value: Any, name: str) -> int:
    """An integer: ``10``, ``"10"``, ``10.0`` and ``"10.0"`` are 10; ``10.5``, ``true``, ``"x"`` are errors."""
    number = _number(value, name, "an integer")
    if not number.is_integer():
        raise SteeringConfigError(f"{name} must be an integer, got {value!r}")
    return int(number)


def as_float(value: Any, name: str | None) -> float:
    """A finite number: nan and inf are refused (nan passes every comparison; inf·v is no steering)."""
    number = _number(value, name, "a number")
    if not math.isfinite(number):
        raise SteeringConfigError(f"{name} must be a finite number, got {value!r}")
    return number


def _number(value: Any, name: str | None, what: str) -> float:
    """`value` as a float; a boolean (YAML's ``true``) or anything float() refuses is an error."""
    if isinstance(value, bool):
        raise SteeringConfigError(f"{name} must be {what}, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SteeringConfigError(f"{name} must be {what}, got {value!r}") from None


def choice(value: Any, options: Any, name: str, hint: str = "") -> Any:
    """`value` if it is one of the Literal `options`, else an error listing them."""
    allowed = get_args(options)
    if isinstance(value, str) and value in allowed:
        return value
    raise SteeringConfigError(f"{name} must be one of {list(allowed)}{hint}, got {value!r}")
