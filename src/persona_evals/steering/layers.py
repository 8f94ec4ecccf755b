"""Find the decoder blocks of a causal LM, across architectures and PEFT wrappers.

Our layer numbers are 1-based: layer L is decoder block L (``blocks[L - 1]``), whose output is
``hidden_states[L]`` of ``output_hidden_states`` (index 0 is the embeddings). The one exception
is L = num_layers: transformers applies the final norm to ``hidden_states[num_layers]``, so there
it differs from the raw block output that a hook sees.
"""

from __future__ import annotations

from typing import Any

import torch

_PATHS = ("model.layers", "model.decoder.layers", "transformer.h", "gpt_neox.layers", "layers")


def decoder_blocks(model: Any) -> torch.nn.ModuleList:
    """The ModuleList of decoder blocks (Llama, Qwen2, Mistral, Gemma, GPT-2, NeoX, PEFT)."""
    if hasattr(model, "get_base_model"):  # peft
        model = model.get_base_model()
    for path in _PATHS:
        obj = model
        for attr in path.split("."):
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if isinstance(obj, torch.nn.ModuleList):
            return obj
    raise ValueError(f"cannot find decoder blocks in {type(model).__name__} (tried {_PATHS})")


def check_layer(layer: int, num_layers: int, arg: str = "layer") -> None:
    """Layers are 1..num_layers (layer L = output of block L = hidden_states[L], raw at num_layers)."""
    from persona_evals.errors import SteeringConfigError

    if not 1 <= layer <= num_layers:
        raise SteeringConfigError(
            f"{arg}={layer} is outside 1..{num_layers}: layer L steers the residual stream "
            f"after decoder block L (hidden_states[L]); this model has {num_layers} blocks"
        )


def supports_logits_to_keep(model: torch.nn.Module) -> bool:
    """Whether the forward takes `logits_to_keep` (compute the LM head for the last position only)."""
    import inspect

    return "logits_to_keep" in inspect.signature(model.forward).parameters
