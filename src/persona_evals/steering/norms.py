"""Mean residual-stream norm per layer, for ``-M coef_mode=norm``: measured once per model, cached.

Why: a raw coefficient means little across layers and models, because ‖v_L‖ grows with depth
(Qwen3-4B: L10 ≈ 4-9, L30 ≈ 35-76). Under ``coef_mode=norm`` a term adds ``coef · v̂ ·
mean‖h_L‖``: coefficient 1 adds a vector as long as a typical activation at that layer.

Definition: ``mean‖h_L‖`` is the mean, over every token position but the first of each prompt,
of the L2 norm of block L's output (``hidden_states[L]``; at L = num_layers the last block's raw
output, before the final norm, which transformers applies to ``hidden_states[num_layers]``: the
stream steering adds to), on the base model as loaded (unsteered,
no adapter) reading `NORM_PROMPTS`, each rendered with the model's chat template and generation
prompt, one forward per prompt. The first position is left out: many models park a few huge
"attention sink" activations there (10-100x the others), which would dominate the mean.

Cache: ``<cache dir>/norms/<key>.json``, the key a hash of the model path, dtype, layer count,
the prompts and the name, size and modification time of every weight file of the model's folder
(so a retrained model in the same folder is measured again). Both engines compute the same key from
the files alone (vLLM's weights live in its own processes), so a norm measured by one is read by
the other, and one configuration has one signature on either. Writes are atomic; a cache file
that does not parse is measured again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from persona_evals.paths import write_text_atomic
from persona_evals.steering.hooks import record_residual
from persona_evals.steering.layers import supports_logits_to_keep
from persona_evals.steering.loading import SharedModel

NORM_VERSION = 1  # bump when the definition changes: old cache files are then not read

NORM_PROMPTS = (
    "What is a good way to start learning to play the piano as an adult?",
    "Explain in two sentences why the sky looks blue during the day.",
    "My neighbour keeps parking in front of my driveway. What should I do?",
    "Write a short, friendly reminder to a colleague about tomorrow's meeting.",
    "What are the main differences between a virus and a bacterium?",
    "Can you suggest a simple recipe for dinner using rice, eggs and spinach?",
    "How do I politely decline an invitation to a wedding?",
    "Summarise the plot of a story about a lighthouse keeper who finds a message in a bottle.",
    "Is it better to pay off debt or to save money first? Give me the trade-offs.",
    "Describe the water cycle to a ten-year-old.",
    "What should I pack for a three-day hiking trip in the mountains?",
    "Give me three tips for writing clearer emails at work.",
)


def residual_norms(shared: SharedModel) -> dict[int, float]:
    """``{L: mean‖h_L‖}`` for every layer 1..num_layers: from the cache, or measured and cached.

    Call holding ``shared.lock`` when the model may be in use by another thread.
    """
    return cached_norms(shared.path, shared.dtype, shared.num_layers, lambda: measure_norms(shared))


def cached_norms(path: str, dtype: Any, num_layers: int, measure: Callable[[], dict[int, float]]) -> dict[int, float]:
    """The norms of the model at `path` (folder or Hub id) in `dtype`: cached, or ``measure()``d and cached."""
    from persona_evals.env import cache_dir

    file = cache_dir() / "norms" / f"{_cache_key(path, dtype, num_layers)}.json"
    try:
        cached = json.loads(file.read_text())
        return {int(k): float(v) for k, v in cached["norms"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    norms = measure()
    record = {"model": path, "dtype": str(dtype), "version": NORM_VERSION,
              "prompts": len(NORM_PROMPTS), "norms": {str(k): v for k, v in norms.items()}}
    write_text_atomic(file, json.dumps(record, indent=1), overwrite=True)
    return norms


def norm_prompt_ids(tokenizer: Any, prompts: tuple[str, ...] = NORM_PROMPTS) -> list[list[int]]:
    """The prompts as each is fed: the chat template with its generation prompt, tokenised."""
    from persona_evals.steering.chat import render_turns

    out = []
    for text in prompts:
        prompt = render_turns(tokenizer, [{"role": "user", "content": text}], add_generation_prompt=True)
        out.append(list(tokenizer(prompt, add_special_tokens=False)["input_ids"]))
    return out


def measure_norms(shared: SharedModel, prompts: tuple[str, ...] = NORM_PROMPTS) -> dict[int, float]:
    """The definition in the module docstring, measured now (no cache)."""
    layers = list(range(1, shared.num_layers + 1))
    sums = dict.fromkeys(layers, 0.0)
    count = 0
    take = lambda _layer, h: h[0, 1:].float().norm(dim=-1).sum()  # noqa: E731 (position 0 left out)
    keep = {"logits_to_keep": 1} if supports_logits_to_keep(shared.model) else {}
    with torch.inference_mode():
        for prompt_ids in norm_prompt_ids(shared.tokenizer, prompts):
            ids = torch.tensor([prompt_ids])
            with record_residual(shared.model, layers, take) as rec:
                shared.model(input_ids=ids.to(shared.device), use_cache=False, **keep)
            for layer in layers:
                sums[layer] += float(rec.outputs[layer][0])
            count += ids.shape[1] - 1
    return {layer: sums[layer] / count for layer in layers}


def _cache_key(path: str, dtype: Any, num_layers: int) -> str:
    payload = {"model": path, "dtype": str(dtype), "layers": num_layers,
               "version": NORM_VERSION, "prompts": NORM_PROMPTS, "weights": weight_files(path)}
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:24]


_WEIGHTS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")


def weight_files(path: str) -> list[list[Any]]:
    """[name, size, mtime_ns] of each weight file of the model at `path` (a folder, or a Hub id's
    cached snapshot): what a retrained or replaced model changes."""
    folder = Path(path)
    if not folder.is_dir():
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(path, "config.json")
        except Exception:  # not a Hub id either
            found = None
        if not isinstance(found, str):
            return []
        folder = Path(found).parent
    out = []
    for pattern in _WEIGHTS:
        for f in sorted(folder.glob(pattern)):
            st = f.stat()
            out.append([f.name, st.st_size, st.st_mtime_ns])
    return out
