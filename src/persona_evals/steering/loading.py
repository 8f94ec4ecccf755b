"""Load a local HF model once per process and share it between `steer` instances.

A sweep of coefficients in one eval or eval_set creates several `steer` models of one base
model; they share one `SharedModel` (weights, tokenizer, batcher and a lock that serialises
forwards, so one batch's hooks never meet another's).

After a load the heap is frozen (`persona_evals.compat.freeze_heap`, which says why): the cyclic
garbage collector no longer scans the long-lived objects of torch, transformers and the model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from persona_evals.compat import freeze_heap
from persona_evals.errors import SteeringConfigError
from persona_evals.steering.layers import decoder_blocks

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(eq=False)
class SharedModel:
    """One set of weights with its tokenizer; `lock` serialises every use of the weights."""

    name: str
    path: str
    model: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype
    num_layers: int
    hidden_size: int
    eos_token_ids: frozenset[int]
    lock: threading.Lock = field(default_factory=threading.Lock)
    batcher: Any = None  # set by the provider (persona_evals.steering.batching.Batcher)
    static: Any = None  # static-cache / compiled decoding state (persona_evals.steering.static), if used


_SHARED: dict[tuple[Any, ...], SharedModel] = {}
_SHARED_LOCK = threading.Lock()


def resolve_model_path(name: str) -> str:
    """An embedded name (`smollm2`), a local directory, or a Hugging Face id (`org/name`)."""
    from persona_evals.steering.embedded import EMBEDDED, embedded_dir, embedded_names

    if name in EMBEDDED:
        return str(embedded_dir(name))
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise SteeringConfigError(f"model directory {name} has no config.json")
        return str(path.resolve())
    if name.startswith((".", "/", "~")):
        raise SteeringConfigError(f"model directory {name} does not exist")
    if "/" not in name:
        raise SteeringConfigError(
            f"unknown embedded model {name!r}; embedded models: {embedded_names()} "
            "(or give a Hugging Face id like org/name, or a local directory like ./my-model)"
        )
    return name  # a Hub id; from_pretrained resolves (and caches) it


def pick_device(device: str) -> torch.device:
    """`auto` (cuda:0, mps, else cpu), or the named device, checked to exist here."""
    if device != "auto":
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise SteeringConfigError(f"device must be auto, cpu, cuda, cuda:N or mps, got {device!r}") from None
        _check_device(dev, device)
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda:0")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _check_device(dev: torch.device, given: str) -> None:
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise SteeringConfigError(f"device={given}: CUDA is not available here ({why}); use device=cpu or device=auto")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise SteeringConfigError(f"device={given}: there are {count} CUDA device(s) here, cuda:0 to cuda:{count - 1}")
    elif dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SteeringConfigError(f"device={given}: MPS is not available here; use device=cpu or device=auto")


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto` is bfloat16 on a CUDA device that supports it, float32 elsewhere."""
    if dtype != "auto":
        return _DTYPES[dtype]
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_shared(
    name: str, dtype: str = "auto", device: str = "auto", device_map: Any = None
) -> SharedModel:
    """The process-wide `SharedModel` for (model, dtype, device/device_map), loading it once."""
    path = resolve_model_path(name)
    dev = pick_device(device) if device_map is None else None
    torch_dtype = pick_dtype(dtype, dev or torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    key = (path, str(torch_dtype), str(dev), repr(device_map))
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = _load(name, path, torch_dtype, dev, device_map)
            freeze_heap()
        return shared


def _load(name: str, path: str, dtype: torch.dtype, device: torch.device | None, device_map: Any) -> SharedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": dtype}
    if device_map is not None:
        kwargs["device_map"] = device_map  # sharded through accelerate; inputs go to the embeddings' device
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if device_map is None:
        model.to(device)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    eos = set()
    for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            eos.add(source)
        elif source:
            eos.update(int(t) for t in source)
    blocks = decoder_blocks(model)
    return SharedModel(
        name=name,
        path=path,
        model=model,
        tokenizer=tokenizer,
        device=model.get_input_embeddings().weight.device,
        dtype=dtype,
        num_layers=len(blocks),
        hidden_size=int(model.config.hidden_size),
        eos_token_ids=frozenset(eos),
    )


def loaded_models() -> list[SharedModel]:
    """Every model loaded in this process (for tests and diagnostics)."""
    with _SHARED_LOCK:
        return list(_SHARED.values())
