"""Bad steer model args and files: a clear error naming the argument, never a silent wrong answer."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai._cli.util import parse_cli_args
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig, get_model

from persona_evals.errors import ArgumentError, SteeringConfigError
from persona_evals.steering.loading import load_shared
from persona_evals.steering.spec import SteeringSpec
from persona_evals.steering.terms import load_terms, steering_deltas
from persona_evals.steering.vectors import load_vector, save_vectors
from persona_evals.steering_args import VectorSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vec(tmp_path):
    torch.manual_seed(0)
    return str(save_vectors(tmp_path / "v.safetensors", {"vector": torch.randn(5, 64)}))


def _steer(tiny_llama, **args):
    return get_model(f"steer/{tiny_llama}", memoize=False, **args)


@pytest.mark.parametrize("cli", ["coef=nan", "coef=inf", "coef=-inf", "coef=.nan", "coef=[1,nan]"])
def test_non_finite_coefs_are_refused_before_any_model_loads(cli, vec):
    args = {"vector": vec, "layer": 2, **parse_cli_args((cli,))}  # as inspect hands -M over
    with pytest.raises(SteeringConfigError, match="coef must be a finite number, got"):
        SteeringSpec.from_model_args(args)
    assert issubclass(SteeringConfigError, ArgumentError)  # inspect prints it alone (see below)


def test_non_finite_or_overflowing_coefs_from_python_are_refused(tiny_llama, vec):
    shared = load_shared(tiny_llama)
    terms = [VectorSpec(vec, None, 2, float("nan"))]
    with pytest.raises(SteeringConfigError, match="coef must be a finite number, got nan"):
        steering_deltas(terms, load_terms(terms, "vector"), shared.num_layers, shared.hidden_size)
    terms = [VectorSpec(vec, None, 2, 1e39)]
    with pytest.raises(SteeringConfigError, match="coef=1e\\+39 times .*v.safetensors overflows float32"):
        steering_deltas(terms, load_terms(terms, "vector"), shared.num_layers, shared.hidden_size)


def test_non_finite_logits_fail_the_sample_naming_dtype_and_coef(tiny_llama, vec):
    huge = _steer(tiny_llama, vector=vec, layer=2, coef=1e9, dtype="float16", batch_size=2)
    plain = _steer(tiny_llama, dtype="float16", batch_size=2)  # the two rows fill one batch at once

    async def both():
        config = GenerateConfig(max_tokens=3, temperature=0.7, seed=1)  # sampling must not crash on NaN
        return await asyncio.gather(huge.generate("Hi", config=config), plain.generate("Hi", config=config),
                                    return_exceptions=True)

    bad, good = asyncio.run(both())  # one batch, two rows: only the overflowing row fails
    assert isinstance(bad, RuntimeError)
    message = str(bad)
    assert "non-finite logits (NaN or inf) at output token 1" in message
    assert "dtype=float16 (float16)" in message and "coef=1e+09 at layer 2" in message
    assert not isinstance(good, BaseException) and good.completion and good.metadata["batch_size"] == 2
    # through an eval: an error, not an empty answer scored as a success
    task = Task(dataset=[Sample(input="Hi", target="x")], name="overflow")
    log = eval(task, model=huge, max_tokens=3, display="none")[0]
    assert log.status == "error" and "dtype=float16" in log.error.message


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_a_cuda_device_without_cuda(tiny_llama):
    with pytest.raises(SteeringConfigError, match=r"device=cuda:1: CUDA is not available here .*use device=cpu"):
        _steer(tiny_llama, device="cuda:1")


def test_pt_files_empty_pickled_or_garbage(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(SteeringConfigError, match=r"vector: .*empty.pt is empty \(0 bytes\)"):
        load_vector(str(empty))
    pickled = tmp_path / "code.pt"
    torch.save({"vector": torch.ones(4), "run": os.system}, pickled)
    with pytest.raises(SteeringConfigError) as refused:
        load_vector(str(pickled))
    text = str(refused.value)
    assert "holds pickled Python objects" in text and "posix.system" in text and "never run" in text
    assert "weights_only=False" not in text and "weights_only` set to `False" not in text
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(SteeringConfigError, match=r"garbage.pt is not a readable torch tensor file \("):
        load_vector(str(garbage))


def test_file_names_with_hash_or_comma(tiny_llama, tmp_path):
    torch.manual_seed(1)
    v = torch.randn(5, 64)
    hashed = str(save_vectors(tmp_path / "evil#2.safetensors", {"vector": v, "other": -v}))
    model = _steer(tiny_llama, vector=hashed, layer=2)
    assert torch.equal(model.api.steering.deltas[2], v[2])
    picked = _steer(tiny_llama, vector=f"{hashed}#other", layer=2)  # the last '#' picks a tensor
    assert torch.equal(picked.api.steering.deltas[2], -v[2])
    comma = str(save_vectors(tmp_path / "evil,v2.safetensors", {"vector": v}))
    args = parse_cli_args((f"vector={comma}",))  # inspect splits at the comma ...
    assert isinstance(args["vector"], list) and len(args["vector"]) == 2
    model = _steer(tiny_llama, layer=2, **args)  # ... and the provider joins the one file back
    assert torch.equal(model.api.steering.deltas[2], v[2])
    with pytest.raises(SteeringConfigError, match=r"file .*nope does not exist .*read from .*nope#x.safetensors: '#' picks a tensor"):
        _steer(tiny_llama, vector=str(tmp_path / "nope#x.safetensors"), layer=2)


def test_an_all_zero_monitor_vector_is_refused(tiny_llama, tmp_path):
    zero = str(save_vectors(tmp_path / "zero.safetensors", {"vector": torch.zeros(64)}))
    with pytest.raises(SteeringConfigError, match=r"monitor: .*zero.safetensors is all zeros at layer 2: a projection onto it is undefined"):
        _steer(tiny_llama, monitor=zero, monitor_layer=2)


def test_inspect_eval_prints_the_model_arg_error_alone(tiny_llama, vec, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("INSPECT_DISPLAY", None)  # inspect's display "none" mutes its console, prerequisite messages included
    inspect_cli = str(Path(sys.executable).with_name("inspect"))
    done = subprocess.run(
        [inspect_cli, "eval", "tasks/sanity.py", "--model", f"steer/{tiny_llama}", "-M", f"vector={vec}",
         "-M", "layer=2", "-M", "coef=nan", "--log-dir", str(tmp_path / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode != 0
    assert lines == ["coef must be a finite number, got 'nan'"], lines
