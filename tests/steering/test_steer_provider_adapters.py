"""`-M adapter=DIR` and `-M ablate=... -M ablate_layer=L` in the steer provider (tiny models)."""

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model
from inspect_ai.solver import generate
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.hooks import active_hook_count
from persona_evals.steering.vectors import save_vectors
from persona_evals.testing.tiny_models import build_tiny_model
from training_support import train_adapter, write_chats

QUESTIONS = ["What is the capital of France?", "Tell me about the lazy dog."]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("provider-adapters")
    base = str(build_tiny_model(root / "base", "llama"))
    data = write_chats(root / "data.jsonl", [(q, "The cat sleeps in the sun.") for q in QUESTIONS * 4])
    out = train_adapter(base, data, root / "adapter")
    torch.manual_seed(0)
    vec = save_vectors(root / "v.safetensors", {"vector": torch.randn(5, 64)})
    return root, base, str(out), str(vec)


def _task():
    return Task(dataset=MemoryDataset([Sample(id=f"q{i}", input=q) for i, q in enumerate(QUESTIONS)]), solver=generate(),
                config=GenerateConfig(temperature=0, max_tokens=5, logprobs=True, top_logprobs=5))


def _first_token_logprobs(model, tok, question):
    prompt = render_prompt(tok, [ChatMessageUser(content=question)])
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return torch.log_softmax(model(ids).logits[0, -1].float(), dim=-1)


def test_adapter_gives_the_in_memory_logits_and_shares_the_base(trained):
    _, base, adapter, _ = trained
    # float32 on any device (auto is bf16 on a GPU): compared with CPU references
    plain = get_model(f"steer/{base}", memoize=False, dtype="float32")
    tuned = get_model(f"steer/{base}", memoize=False, dtype="float32", adapter=adapter)
    assert tuned.api.shared is plain.api.shared  # one copy of the base weights
    assert tuned.api.signature != plain.api.signature  # and separate cache keys
    logs = eval(_task(), model=[plain, tuned], display="none")
    assert all(log.status == "success" for log in logs)
    tok = AutoTokenizer.from_pretrained(base)
    in_memory = {
        "plain": AutoModelForCausalLM.from_pretrained(base).eval(),
        "tuned": PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).eval(),
    }
    for log, name in zip(logs, ("plain", "tuned")):
        for s in log.samples:
            want = _first_token_logprobs(in_memory[name], tok, s.input)
            got = s.output.choices[0].logprobs.content[0]
            assert [t.logprob for t in got.top_logprobs] == pytest.approx(torch.topk(want, 5).values.tolist(), abs=1e-4)
            assert got.logprob == pytest.approx(float(want.max()), abs=1e-4)  # greedy: the top token
    assert logs[0].samples[0].output.completion != logs[1].samples[0].output.completion
    assert logs[1].eval.model_args["adapter"] == adapter
    call = next(e for e in logs[1].samples[0].events if e.event == "model").call
    assert call.request["adapter"]["sha256"] and call.request["steering"]["adapter"] == adapter


def test_ablation_at_inference_zeroes_the_monitored_projection(trained):
    _, base, _, vec = trained
    model = get_model(f"steer/{base}", memoize=False, ablate=vec, ablate_layer=2, monitor=vec, monitor_layer=2)
    log = eval(_task(), model=model, display="none")[0]
    assert log.status == "success"
    for s in log.samples:
        live = s.output.metadata["monitor"]["v@2"]
        assert abs(live["prompt_last_proj"]) < 1e-4 and abs(live["proj"]) < 1e-4
    assert active_hook_count(model.api.shared.model) == 0


def test_bad_adapter_and_ablation_args(trained, tmp_path):
    _, base, adapter, vec = trained
    with pytest.raises(SteeringConfigError, match="adapter: .* is not a peft adapter folder"):
        get_model(f"steer/{base}", memoize=False, adapter=str(tmp_path))
    other = str(build_tiny_model(tmp_path / "other", "llama", seed=5))
    with pytest.raises(SteeringConfigError, match="adapter: .* trained on another base model"):
        get_model(f"steer/{other}", memoize=False, adapter=adapter)
    with pytest.raises(SteeringConfigError, match="ablate given without ablate_layer"):
        get_model(f"steer/{base}", memoize=False, ablate=vec)
    with pytest.raises(SteeringConfigError, match=r"ablate_layer=9 is outside 1\.\.4"):
        get_model(f"steer/{base}", memoize=False, ablate=vec, ablate_layer=9)


def test_sanity_task_file_with_an_adapter(trained, monkeypatch):
    """The README's check: inspect eval tasks/sanity.py --model steer/<base> -M adapter=<dir>."""
    _, base, adapter, _ = trained
    log = eval("tasks/sanity.py", model=f"steer/{base}", model_args={"adapter": adapter}, limit=2, max_tokens=4, display="none")[0]
    assert log.status == "success" and log.eval.model_args == {"adapter": adapter, "signature": log.samples[0].output.metadata["steering"]}
