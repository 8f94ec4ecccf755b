"""Persona-vector files: safetensors with metadata (ours), and `.pt` read only with weights_only.

Layer convention (``layer_index=hidden_states``): row L of a ``[num_layers + 1, hidden]`` tensor
is a direction in ``hidden_states[L]`` of ``output_hidden_states``, i.e. the residual stream after
decoder block L (row 0 is the embeddings; row num_layers the last block's raw output, before the
final norm that transformers applies to ``hidden_states[num_layers]``). A ``[hidden]`` tensor is one
direction for any layer. We store safetensors whose header says which model, layer convention,
trait and method made them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from persona_evals.errors import SteeringConfigError

FORMAT = "persona-evals/vector-v1"
LAYER_CONVENTION = "hidden_states"  # row L = hidden_states[L] = output of decoder block L
PREFERRED_KEYS = ("vector", "response_avg")


@dataclass(frozen=True)
class LoadedVector:
    """A tensor read from a vector file, its metadata and the file's SHA-256."""

    tensor: torch.Tensor  # float32, [hidden] or [num_layers + 1, hidden]
    metadata: dict[str, str]
    sha256: str
    path: str
    key: str

    def row(self, layer: int) -> torch.Tensor:
        """The direction for `layer` (a [hidden] tensor)."""
        return self.tensor if self.tensor.dim() == 1 else self.tensor[layer]


def save_vectors(
    path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any] | None = None
) -> Path:
    """Write named float32 tensors with our metadata header (values JSON-encoded if not str)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "layer_index": LAYER_CONVENTION}
    for k, v in (metadata or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    save_file({k: t.detach().to(torch.float32).contiguous().cpu() for k, t in tensors.items()}, str(path), meta)
    return path


def load_vector(path: str, key: str | None = None, arg: str = "vector") -> LoadedVector:
    """Read one tensor from a `.safetensors` or `.pt` file; errors name `arg` and the problem."""
    p = Path(path)
    if not p.is_file():
        picked = f" (read from {path}#{key}: '#' picks a tensor in a file)" if key is not None else ""
        raise SteeringConfigError(f"{arg}: file {path} does not exist or is not a file{picked}")
    raw = p.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    metadata: dict[str, str] = {}
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load as load_safetensors

        try:
            tensors = load_safetensors(raw)
            metadata = _safetensors_metadata(raw)
        except (SafetensorError, ValueError) as ex:
            raise SteeringConfigError(f"{arg}: {path} is not a readable safetensors file ({ex})") from None
    elif p.suffix in (".pt", ".pth"):
        obj = _load_pt(raw, path, arg)
        if isinstance(obj, torch.Tensor):
            tensors = {"vector": obj}
        elif isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
            tensors = {str(k): v for k, v in obj.items()}
        else:
            raise SteeringConfigError(f"{arg}: {path} holds a {type(obj).__name__}, not a tensor")
    else:
        raise SteeringConfigError(f"{arg}: {path} must be a .safetensors or .pt file")
    if not tensors:
        raise SteeringConfigError(f"{arg}: {path} holds no tensor")
    name = _pick_key(tensors, key, path, arg)
    tensor = tensors[name]
    if not torch.is_floating_point(tensor):
        raise SteeringConfigError(f"{arg}: tensor {name!r} in {path} is {tensor.dtype}, not floating point")
    if tensor.dim() not in (1, 2):
        raise SteeringConfigError(
            f"{arg}: tensor {name!r} in {path} has shape {list(tensor.shape)}; "
            "expected [hidden] or [num_layers + 1, hidden]"
        )
    tensor = tensor.to(torch.float32)
    if not torch.isfinite(tensor).all():
        raise SteeringConfigError(f"{arg}: tensor {name!r} in {path} contains NaN or inf")
    return LoadedVector(tensor=tensor, metadata=metadata, sha256=sha, path=str(p), key=name)


def _load_pt(raw: bytes, path: str, arg: str) -> Any:
    """torch.load(weights_only=True) of the bytes already read (and hashed: the tensor is the
    content the SHA-256 names), with errors of our own: torch's message for a refused file
    suggests retrying with weights_only=False, which would run the file's code."""
    import io
    import re

    if not raw:
        raise SteeringConfigError(f"{arg}: {path} is empty (0 bytes)")
    try:
        return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as ex:  # pickled code, truncated, garbage, not a torch file ...
        text = str(ex)
        needs = re.search(r"GLOBAL (\S+)", text)
        if needs:
            raise SteeringConfigError(
                f"{arg}: {path} holds pickled Python objects, not only tensors (it needs {needs.group(1)}); "
                ".pt files are read with torch.load(weights_only=True) and pickled code is never run. "
                "Save the tensor as .safetensors (or as a plain tensor .pt)."
            ) from None
        advice = ("eights only", "weights_only", "documentation", "Please file", "trusted source")
        detail = "; ".join(line.strip() for line in text.splitlines() if line.strip() and not any(a in line for a in advice))
        raise SteeringConfigError(
            f"{arg}: {path} is not a readable torch tensor file ({type(ex).__name__}{': ' + detail[:200] if detail else ''})"
        ) from None


def check_fits(vec: LoadedVector, layer: int, hidden_size: int, num_layers: int, arg: str) -> None:
    """Check the vector's hidden size and layer rows against the model; error names `arg`."""
    if vec.tensor.shape[-1] != hidden_size:
        raise SteeringConfigError(
            f"{arg}: {vec.path} has hidden size {vec.tensor.shape[-1]} but the model's is {hidden_size}"
        )
    if vec.tensor.dim() == 2 and vec.tensor.shape[0] != num_layers + 1:
        raise SteeringConfigError(
            f"{arg}: {vec.path} has {vec.tensor.shape[0]} rows; a per-layer file for this model "
            f"has num_layers + 1 = {num_layers + 1} (row L = hidden_states[L])"
        )


def _recorded_model(vec: LoadedVector) -> str | None:
    """The model a vector's metadata says it was extracted from (``model``, less its inspect
    provider: ``steer/smollm2`` -> ``smollm2``), else its ``model_path``; None when it names none."""
    name = vec.metadata.get("model", "").strip()
    if name:
        return name.partition("/")[2] or name
    return vec.metadata.get("model_path", "").strip() or None


def check_model(vec: LoadedVector, models: Sequence[tuple[str, str]], arg: str, override: str) -> None:
    """Refuse a vector extracted from none of `models` ((name, weights path) pairs).

    The hidden size and layer count are checked anyway (`check_fits`); this catches a vector of
    another model of the same shape (another model of the family, a base model's vector on its
    instruct or finetuned version), which steers without complaint and measures nothing meant. A
    vector whose metadata names no model (third-party files) passes. `override` is the argument
    that allows it.
    """
    recorded = _recorded_model(vec)
    if recorded is None:
        return
    local = Path(recorded).expanduser()
    for name, path in models:
        same_path = vec.metadata.get("model_path", "").strip() == path
        same_dir = local.is_dir() and str(local.resolve()) == str(Path(path).resolve())
        if recorded == name or same_path or same_dir:
            return
    raise SteeringConfigError(
        f"{arg}: {vec.path} was extracted from {recorded} (its metadata), not {' or '.join(n for n, _ in models)}: "
        "a vector of one model need not mean anything in another's residual stream, even of the same size. "
        f"If that is meant (e.g. a model finetuned from {recorded}), pass {override}"
    )


def check_nonzero(vec: LoadedVector, layer: int, arg: str, why: str = "a projection onto it is undefined") -> None:
    """Refuse a direction of length 0 at `layer` (it would give NaN); the error names `arg`."""
    if float(vec.row(layer).norm()) == 0.0:
        raise SteeringConfigError(f"{arg}: {vec.path} is all zeros at layer {layer}: {why}")


def cosine_matrix(paths: list[str], layer: int) -> tuple[list[str], Any]:
    """Labels and the cosine-similarity matrix of the vectors' rows at `layer` (``file#tensor``
    picks a tensor; a label is the file's stem, with the tensor when one was named)."""
    from persona_evals.identity import vector_name
    from persona_evals.steering_args import split_key

    rows, labels = [], []
    for item in paths:
        path, key = split_key(item)
        vec = load_vector(path, key, arg="vectors")
        if vec.tensor.dim() == 2 and not 0 <= layer < vec.tensor.shape[0]:
            raise ValueError(f"--layer {layer} is outside 0..{vec.tensor.shape[0] - 1} for {path}")
        rows.append(vec.row(layer))
        labels.append(vector_name(path, vec.key if key else None))
    sizes = {r.shape[-1] for r in rows}
    if len(sizes) > 1:
        raise ValueError(f"the vectors have different hidden sizes {sorted(sizes)}: they come from different models")
    m = torch.stack(rows)
    m = m / m.norm(dim=-1, keepdim=True)
    return labels, (m @ m.T).numpy()


def _pick_key(tensors: dict[str, torch.Tensor], key: str | None, path: str, arg: str) -> str:
    if key is not None:
        if key not in tensors:
            raise SteeringConfigError(f"{arg}: {path} has no tensor {key!r}; it has {sorted(tensors)}")
        return key
    if len(tensors) == 1:
        return next(iter(tensors))
    for preferred in PREFERRED_KEYS:
        if preferred in tensors:
            return preferred
    raise SteeringConfigError(
        f"{arg}: {path} holds several tensors {sorted(tensors)}; pick one with {path}#NAME"
    )


def _safetensors_metadata(raw: bytes) -> dict[str, str]:
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    return dict(header.get("__metadata__") or {})
