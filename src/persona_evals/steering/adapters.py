"""LoRA adapters (peft) on a shared base model: read, check against the base, switch per use.

Every adapter of one base model is loaded into the same `SharedModel` (peft injects its LoRA
layers into the base modules), so N checkpoints cost N adapters, not N models. Outside
`adapter_active` the adapter layers are disabled: code that knows nothing of adapters (extraction,
unadapted `steer` instances) sees the plain base model. Callers serialise forwards (the shared
lock), so switching the active adapter between uses is safe.

An adapter trained by `persona-evals finetune` carries a run record (`run.json`) with a
fingerprint of its base model (sizes and a sample of the embedding matrix), so an adapter loaded
onto another base model is refused instead of silently producing noise.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from persona_evals.errors import SteeringConfigError
from persona_evals.paths import read_json

RECORD_FILE = "run.json"
_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
_PEFT: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # SharedModel -> PeftModel
_PEFT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Adapter:
    """A peft adapter folder: its content hash (the name it is loaded under) and run record."""

    path: str
    sha256: str
    config: dict[str, Any]
    record: dict[str, Any] | None

    @property
    def name(self) -> str:
        return f"a{self.sha256[:16]}"


def read_adapter(path: str, arg: str = "adapter") -> Adapter:
    """Check that `path` is a peft LoRA folder; hash its config and weights (errors name `arg`)."""
    p = Path(path).expanduser()
    config_file = p / "adapter_config.json"
    if not p.is_dir() or not config_file.is_file():
        raise SteeringConfigError(f"{arg}: {path} is not a peft adapter folder (no adapter_config.json)")
    weights = next((p / w for w in _WEIGHT_FILES if (p / w).is_file()), None)
    if weights is None:
        raise SteeringConfigError(f"{arg}: {path} has no adapter weights ({' or '.join(_WEIGHT_FILES)})")
    h = hashlib.sha256()
    for f in (config_file, weights):
        h.update(f.read_bytes())
    record_file = p / RECORD_FILE
    try:  # a broken file is named with its line
        config = read_json(config_file, arg)
        record = read_json(record_file, arg) if record_file.is_file() else None
    except ValueError as ex:
        raise SteeringConfigError(str(ex)) from None
    if weights.suffix == ".safetensors":
        _check_safetensors(weights, arg)
    return Adapter(path=str(p.resolve()), sha256=h.hexdigest(), config=config, record=record)


def _check_safetensors(path: Path, arg: str) -> None:
    """Read the header of a weights file, so a damaged one is named here, not deep inside peft."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            f.keys()
    except (SafetensorError, OSError) as ex:
        raise SteeringConfigError(f"{arg}: {path} is not a readable safetensors file ({ex})") from None


def base_fingerprint(model: Any) -> dict[str, Any]:
    """Sizes and a few embedding values of a base model: enough to tell base models apart."""
    emb = model.get_input_embeddings().weight
    return _fingerprint(emb.shape, lambda rows: emb[rows, :8].detach())


def _fingerprint(shape: Any, rows_of: Any) -> dict[str, Any]:
    """The fingerprint of an embedding matrix of `shape`; ``rows_of(rows)`` gives those rows' first 8 values."""
    vocab, hidden = int(shape[0]), int(shape[1])
    rows = sorted({min(7, vocab - 1), vocab // 2})
    sample = rows_of(rows).to(torch.float32).flatten().cpu().tolist()
    return {"vocab_size": vocab, "hidden_size": hidden, "embedding_sample": [round(x, 6) for x in sample]}


def folder_fingerprint(path: str) -> dict[str, Any] | None:
    """`base_fingerprint` of the model saved in folder `path`, read from its safetensors files
    (engine=vllm: the weights are vLLM's); None when no embedding matrix is found there."""
    from safetensors import safe_open

    for file in sorted(Path(path).glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                if name.endswith(_EMBEDDING_NAMES):
                    emb = f.get_slice(name)
                    return _fingerprint(emb.get_shape(), lambda rows: torch.stack([emb[r : r + 1, :8][0] for r in rows]))
    return None


_EMBEDDING_NAMES = ("embed_tokens.weight", "wte.weight", "embed_in.weight", "word_embeddings.weight")


def check_base(adapter: Adapter, model: Any, arg: str = "adapter") -> None:
    """Refuse an adapter whose run record names a different base model (sizes or embeddings)."""
    _compare(adapter, base_fingerprint(model), arg)


def check_adapter_base(adapter: Adapter, path: str, arg: str = "adapter") -> None:
    """`check_base` against the model saved in folder `path` (a model we do not load ourselves)."""
    found = folder_fingerprint(path)
    if found is not None:
        _compare(adapter, found, arg)


def _compare(adapter: Adapter, found: dict[str, Any], arg: str) -> None:
    expected = (adapter.record or {}).get("base_fingerprint")
    if not expected:
        return  # an adapter trained elsewhere: peft checks the shapes of every LoRA weight
    same = (
        expected.get("vocab_size") == found["vocab_size"]
        and expected.get("hidden_size") == found["hidden_size"]
        and torch.allclose(
            torch.tensor(expected.get("embedding_sample", [])),
            torch.tensor(found["embedding_sample"]),
            rtol=2e-2,
            atol=1e-3,
        )
    )
    if not same:
        base = (adapter.record or {}).get("base_model", "?")
        raise SteeringConfigError(
            f"{arg}: {adapter.path} was trained on another base model ({base}); it does not fit this one"
        )


def attach_adapter(shared: Any, adapter: Adapter, arg: str = "adapter") -> None:
    """Load `adapter` into `shared.model` once (a no-op if it is there); it stays disabled."""
    from peft import PeftModel

    check_base(adapter, shared.model, arg)
    with _PEFT_LOCK, shared.lock:
        peft_model = _PEFT.get(shared)
        try:
            if peft_model is None:
                peft_model = PeftModel.from_pretrained(shared.model, adapter.path, adapter_name=adapter.name)
                _PEFT[shared] = peft_model
            elif adapter.name not in peft_model.peft_config:
                peft_model.load_adapter(adapter.path, adapter_name=adapter.name)
        except (RuntimeError, ValueError, KeyError) as ex:
            raise SteeringConfigError(f"{arg}: {adapter.path} does not fit {shared.name}: {ex}") from None
        peft_model.eval()
        peft_model.base_model.disable_adapter_layers()


@contextmanager
def adapter_active(shared: Any, adapter: Adapter | None) -> Iterator[None]:
    """Run the shared model with `adapter` (None: the plain base model); call under its lock."""
    peft_model = _PEFT.get(shared)
    if adapter is None or peft_model is None:
        yield
        return
    peft_model.base_model.set_adapter(adapter.name)
    peft_model.base_model.enable_adapter_layers()
    try:
        yield
    finally:
        peft_model.base_model.disable_adapter_layers()
