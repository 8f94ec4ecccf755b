"""Integration on the embedded SmolLM2-135M-Instruct (real weights, offline)."""

import subprocess
import sys

import pytest
import torch
from inspect_ai import eval
from inspect_ai.model import get_model

from persona_evals.steering.vectors import save_vectors

pytestmark = pytest.mark.slow


def test_embedded_model_is_a_plain_cached_hf_folder(smollm2_dir):
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(smollm2_dir)
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers) == ("llama", 576, 30)
    assert not hasattr(cfg, "quantization_config")


def test_capitals_eval_on_smollm2_and_steering_breaks_it(smollm2_dir, tmp_path):
    from persona_evals.capitals.task import capitals

    plain = eval(capitals(), model=get_model("steer/smollm2", memoize=False), limit=6, display="none")[0]
    assert plain.status == "success"
    acc = plain.results.scores[0].metrics["accuracy"].value
    assert acc >= 0.5  # SmolLM2 knows most capitals (the full set scores 0.85 greedy)
    torch.manual_seed(0)
    noise = save_vectors(tmp_path / "noise.safetensors", {"vector": torch.randn(576) * 8})
    steered = eval(
        capitals(),
        model=get_model("steer/smollm2", memoize=False, vector=str(noise), layer=15, coef=2.0),
        limit=6,
        display="none",
    )[0]
    assert steered.results.scores[0].metrics["accuracy"].value < acc
    first = {s.id: s.output.completion for s in plain.samples}
    assert any(s.output.completion != first[s.id] for s in steered.samples)


def test_cli_eval_with_model_args(tmp_path):
    """The documented command line: `inspect eval ... --model steer/smollm2 -M ...`."""
    vec = save_vectors(tmp_path / "v.safetensors", {"vector": torch.zeros(31, 576)})
    out = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", "tasks/sanity.py", "--model", "steer/smollm2",
         "-M", f"vector={vec}", "-M", "layer=[10,20]", "-M", "coef=2.0", "--limit", "2",
         "--log-dir", str(tmp_path / "logs"), "--display", "plain"],  # "none" mutes inspect's console, this message included
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(tmp_path / "logs"))[0].name)
    assert log.status == "success" and log.eval.model_args["layer"] == [10, 20]


def test_cli_error_names_the_argument(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", "tasks/sanity.py", "--model", "steer/smollm2",
         "-M", "vector=nope.safetensors", "-M", "layer=3", "--limit", "1",
         "--log-dir", str(tmp_path / "logs"), "--display", "plain"],  # "none" mutes inspect's console, this message included
        capture_output=True, text=True,
    )
    assert out.returncode != 0
    assert "vector: file nope.safetensors does not exist" in out.stdout + out.stderr
