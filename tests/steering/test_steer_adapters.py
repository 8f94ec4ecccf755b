"""LoRA adapters on a shared base model: same logits as in memory, base untouched, wrong base refused."""

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.adapters import adapter_active, attach_adapter, read_adapter
from persona_evals.steering.loading import load_shared
from persona_evals.testing.tiny_models import build_tiny_model
from training_support import train_adapter, write_chats


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    base = str(build_tiny_model(root / "base", "llama"))
    data = write_chats(root / "data.jsonl", [(f"Say {i}", f"{i} {i}") for i in range(8)])
    outs = [train_adapter(base, data, root / f"a{seed}", max_steps=3, seed=seed, eval_fraction=0.1) for seed in (0, 1)]
    return base, outs


def _logits(model, ids):
    with torch.no_grad():  # on the model's device (the shared model's is `auto`); compared on the CPU
        return model(input_ids=ids.to(model.device)).logits.float().cpu()


def test_shared_adapters_give_the_in_memory_logits_and_leave_the_base_alone(trained):
    base, outs = trained
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    plain = _logits(AutoModelForCausalLM.from_pretrained(base).eval(), ids)
    expected = [_logits(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), o).eval(), ids) for o in outs]
    assert not torch.allclose(expected[0], plain, atol=1e-3) and not torch.allclose(expected[0], expected[1], atol=1e-3)
    shared = load_shared(base, dtype="float32")
    adapters = [read_adapter(o) for o in outs]
    for a in adapters:
        attach_adapter(shared, a)
        attach_adapter(shared, a)  # a second attach is a no-op
    torch.testing.assert_close(_logits(shared.model, ids), plain)  # outside adapter_active: the base
    for a, want in zip(adapters, expected):
        with adapter_active(shared, a):
            torch.testing.assert_close(_logits(shared.model, ids), want, rtol=1e-5, atol=1e-5)
    with adapter_active(shared, None):
        torch.testing.assert_close(_logits(shared.model, ids), plain)
    torch.testing.assert_close(_logits(shared.model, ids), plain)


def test_adapter_hash_and_bad_folders(trained, tmp_path):
    _, outs = trained
    a, b = read_adapter(outs[0]), read_adapter(outs[1])
    assert a.sha256 != b.sha256 and a.record["base_fingerprint"] and a.name.startswith("a")
    assert read_adapter(outs[0] + "/").sha256 == a.sha256
    with pytest.raises(SteeringConfigError, match="adapter: .* is not a peft adapter folder"):
        read_adapter(str(tmp_path))
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(SteeringConfigError, match="has no adapter weights"):
        read_adapter(str(tmp_path))


def test_adapter_of_another_base_model_is_refused(trained, tmp_path):
    _, outs = trained
    other = load_shared(str(build_tiny_model(tmp_path / "other", "llama", seed=1)))
    with pytest.raises(SteeringConfigError, match="adapter: .* was trained on another base model"):
        attach_adapter(other, read_adapter(outs[0]))
