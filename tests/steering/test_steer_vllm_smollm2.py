"""engine=vllm against the HF engine on the embedded SmolLM2 (float32): greedy text of 32 chat
prompts x 32 tokens, unsteered (every prompt equal) and steered (at least 95% equal: a steered
model can sit near a tie that the two engines' float rounding breaks differently), and monitors."""

from __future__ import annotations

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.solver import generate

from persona_evals.capitals.dataset import capitals_dataset
from persona_evals.steering.norms import NORM_PROMPTS
from persona_evals.steering.vectors import save_vectors
from vllm_support import ENGINE

pytestmark = pytest.mark.slow

SMOL = {**ENGINE, "vllm_max_model_len": 1024, "vllm_max_num_batched_tokens": 256, "vllm_enable_lora": False}


@pytest.fixture(scope="module")
def vector(tmp_path_factory):
    from persona_evals.steering.vllm.engine import shutdown_engines

    gen = torch.Generator().manual_seed(1)
    yield str(save_vectors(tmp_path_factory.mktemp("smol") / "dir.safetensors", {"vector": torch.randn(576, generator=gen)}))
    shutdown_engines()


def _task() -> Task:
    questions = [s.input for s in capitals_dataset()] + list(NORM_PROMPTS)
    assert len(questions) == 32
    samples = [Sample(id=f"p{i}", input=q) for i, q in enumerate(questions)]
    return Task(dataset=MemoryDataset(samples), solver=generate(), config=GenerateConfig(temperature=0, max_tokens=32))


def _texts(*models) -> list[tuple[list[str], list[dict]]]:
    """Each model's texts and metadata, all models in one eval (they share batches, or vLLM's engine)."""
    logs = eval(_task(), model=list(models), display="none")
    assert all(log.status == "success" for log in logs), [log.error for log in logs]
    return [([s.output.completion for s in log.samples], [s.output.metadata for s in log.samples]) for log in logs]


def test_greedy_text_equals_the_hf_engine_unsteered_and_steered(vector):
    steer = {"vector": vector, "layer": 15, "coef": 40.0, "coef_mode": "unit", "monitor": vector, "monitor_layer": 20}
    (plain_hf, _), (steered_hf, meta_hf) = _texts(
        get_model("steer/smollm2", memoize=False, dtype="float32"), get_model("steer/smollm2", memoize=False, dtype="float32", **steer)
    )
    (plain_vl, _), (steered_vl, meta_vl) = _texts(
        get_model("steer/smollm2", memoize=False, dtype="float32", **SMOL),
        get_model("steer/smollm2", memoize=False, dtype="float32", **SMOL, **steer),
    )
    assert plain_vl == plain_hf  # unsteered: all 32
    assert sum(a != b for a, b in zip(steered_hf, plain_hf)) >= 16  # the steering changes most texts (22 of 32)
    same = sum(a == b for a, b in zip(steered_vl, steered_hf))
    print(f"steered texts equal on {same}/32 prompts")
    assert same >= 31, f"{same}/32 steered texts equal"  # >= 95%
    for hf, vl, a, b in zip(meta_hf, meta_vl, steered_hf, steered_vl):
        if a == b:  # the same tokens: the same activations
            for field in ("proj", "prompt_last_proj"):
                assert vl["monitor"]["dir@20"][field] == pytest.approx(hf["monitor"]["dir@20"][field], rel=1e-3)
