"""`SteeringSpec`: the validated steering configuration of a `steer` model (no torch here).

Model args arrive through YAML parsing (`-M k=v`), so values may be ints, floats, strings, or lists
of strings (``layer=10,12`` arrives as ``['10', '12']``). `SteeringSpec.from_model_args` coerces
them, rejects unknown keys and mismatched list lengths, and names the argument in every error,
before any model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from persona_evals.errors import SteeringConfigError
from persona_evals.steering_args import (
    VLLM_ARG_PREFIX,
    CoefMode,
    Positions,
    VectorSpec,
    as_int,
    choice,
    normal_keys,
    parse_steering,
)

DType = Literal["auto", "float32", "bfloat16", "float16"]
Compile = Literal["auto", "true", "false"]
Engine = Literal["hf", "vllm"]

# args that mean something on one engine only: given on the other, they are refused by name
HF_ONLY = ("compile", "device", "device_map")
VLLM_ONLY = ("server",)

DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 1024  # also the connection limit inspect opens: a larger one is a typo that fills memory


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
    allow_other_model: bool = False  # use vectors whose metadata names another model (vectors.check_model)
    engine: Engine = "hf"  # hf: our decode loop (transformers); vllm: vLLM's engine with our plugin
    server: str | None = None  # engine=vllm: the URL of a `vllm serve` with our plugin, instead of an in-process engine
    vllm_args: tuple[tuple[str, Any], ...] = ()  # engine=vllm: vLLM engine arguments (-M vllm_<name>=...)

    @classmethod
    def from_model_args(cls, args: dict[str, Any]) -> SteeringSpec:
        """Validate and coerce `-M` model args; raise `SteeringConfigError` naming the argument."""
        args = normal_keys(args)
        unknown = sorted(k for k in set(args) - _KNOWN if not k.startswith(VLLM_ARG_PREFIX))
        if unknown:
            raise SteeringConfigError(
                f"unknown model arg(s) {unknown} for steer; valid: {sorted(_KNOWN)}, and vllm_<name> with engine=vllm"
            )
        engine = choice(str(args.get("engine", "hf")), Engine, "engine")
        vllm_args = tuple(sorted((k[len(VLLM_ARG_PREFIX) :], v) for k, v in args.items() if k.startswith(VLLM_ARG_PREFIX)))
        other = [k for k in args if k in HF_ONLY] if engine == "vllm" else [k for k in args if k in VLLM_ONLY or k.startswith(VLLM_ARG_PREFIX)]
        if other:
            names = ", ".join(sorted(other))
            raise SteeringConfigError(
                f"{names}: only for engine={'hf' if engine == 'vllm' else 'vllm'}, and this model runs with engine={engine}"
                + (" (vLLM places the model itself; its own options pass as -M vllm_<name>=...)" if engine == "vllm" else "")
            )
        server = None if args.get("server") is None else server_url(args["server"])
        terms = parse_steering(args)
        dtype = choice(str(args.get("dtype", "auto")), DType, "dtype")
        batch_size = as_int(args.get("batch_size", DEFAULT_BATCH_SIZE), "batch_size")
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise SteeringConfigError(f"batch_size must be >= 1 and <= {MAX_BATCH_SIZE}, got {batch_size}")
        compile_ = str(args.get("compile", "auto")).lower()  # YAML reads -M compile=true as a bool
        if compile_ not in get_args(Compile):
            raise SteeringConfigError(f"compile must be one of {list(get_args(Compile))}, got {args['compile']!r}")
        allow_other = str(args.get("allow_other_model", "false")).lower()  # YAML reads true as a bool
        if allow_other not in ("true", "false"):
            raise SteeringConfigError(f"allow_other_model must be true or false, got {args['allow_other_model']!r}")
        adapter = args.get("adapter")
        if adapter is not None and (not isinstance(adapter, str) or not adapter.strip()):
            raise SteeringConfigError(f"adapter must be the path of a peft adapter folder, got {adapter!r}")
        return cls(
            vectors=terms.vectors,
            positions=terms.positions,
            dtype=dtype,
            device=str(args.get("device", "auto")),
            device_map=args.get("device_map"),
            batch_size=batch_size,
            monitor=terms.monitor,
            compile=compile_,  # type: ignore[arg-type]
            adapter=str(Path(adapter).expanduser()) if adapter else None,
            ablate=terms.ablate,
            coef_mode=terms.coef_mode,
            signature=None if args.get("signature") is None else str(args["signature"]),
            allow_other_model=allow_other == "true",
            engine=engine,  # type: ignore[arg-type]
            server=server,
            vllm_args=vllm_args,
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


def server_url(value: Any) -> str:
    """A vLLM server's URL (``-M server``, or inspect's ``--model-base-url``), checked."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise SteeringConfigError(f"server must be the http(s) URL of a vllm serve, e.g. http://host:8000/v1, got {value!r}")
    return value.rstrip("/")


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
    "allow_other_model",
    "engine",
    "server",
}

