"""engine=vllm against a running ``vllm serve`` with our plugin (-M server=..., or --model-base-url): a steered request
sent by the provider is answered steered (the HF engine's text, monitors and logprobs), and a server
without the plugin is refused before any generation."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.solver import generate

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.vectors import save_vectors
from vllm_support import tiny_vllm_model

QUESTIONS = ["What is the capital of France?", "The quick brown fox jumps over the lazy dog.", "I feel anxious about tomorrow."]
START_TIMEOUT_S = 600  # a server start on two busy cores; never a measure of speed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import httpx

    root = tmp_path_factory.mktemp("vllm-server")
    model = tiny_vllm_model(root / "model")
    port = _free_port()
    env = {**os.environ, "VLLM_PLUGINS": "persona_evals", "VLLM_USE_V2_MODEL_RUNNER": "0", "VLLM_CPU_KVCACHE_SPACE": "1",
           "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
    log = open(root / "server.log", "w")
    # `vllm serve` as vllm-cpu can run it: its CLI looks up the version of a package named vllm and stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--enforce-eager", "--dtype", "float32",
         "--max-model-len", "256", "--host", "127.0.0.1", "--port", str(port), "--enable-lora"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited ({proc.returncode}):\n{(root / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not come up:\n{(root / 'server.log').read_text()[-3000:]}")
            time.sleep(1)
        gen = torch.Generator().manual_seed(0)
        vec = str(save_vectors(root / "v.safetensors", {"vector": torch.randn(5, 64, generator=gen)}))
        yield model, f"{base}/v1", vec
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_minus_m_server_reaches_the_server(server):
    model, base_url, vec = server
    [log] = eval(_task(), model=f"steer/{model}", model_args={"engine": "vllm", "server": base_url, "dtype": "float32"}, display="none")
    assert log.status == "success", log.error
    assert {s.output.metadata["engine"] for s in log.samples} == {f"vllm@{base_url}"}


def test_a_lora_adapter_is_loaded_into_the_server_and_answers_as_on_hf(server, tmp_path):
    from persona_evals.training.loop import finetune
    from persona_evals.training.options import FinetuneOptions

    model, base_url, vec = server
    data = tmp_path / "data.jsonl"
    data.write_text("".join(
        json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": "The cat sleeps in the sun."}]}) + "\n"
        for q in QUESTIONS * 2
    ))
    adapter = str(finetune(FinetuneOptions(data=str(data), model=model, out=str(tmp_path / "adapter"), max_steps=4, lr=5e-2,
                                           batch_size=4, grad_accum=1, lora_r=4, lora_alpha=8, eval_fraction=0)))
    args = {"adapter": adapter, "vector": vec, "layer": 2, "coef": 3.0, "dtype": "float32"}
    remote = get_model(f"steer/{model}", memoize=False, base_url=base_url, engine="vllm", **args)
    [rlog], [hlog] = (eval(_task(), model=m, display="none") for m in (remote, get_model(f"steer/{model}", memoize=False, **args)))
    assert rlog.status == "success", rlog.error
    assert [s.output.completion for s in rlog.samples] == [s.output.completion for s in hlog.samples]


def _task() -> Task:
    return Task(
        dataset=MemoryDataset([Sample(id=f"q{i}", input=q) for i, q in enumerate(QUESTIONS)]),
        solver=generate(),
        config=GenerateConfig(temperature=0, max_tokens=8, logprobs=True, top_logprobs=3),
    )


def test_a_server_with_the_plugin_answers_steered_requests_as_the_hf_engine(server):
    model, base_url, vec = server
    steer = {"vector": vec, "layer": 2, "coef": 4.0, "monitor": vec, "monitor_layer": 3, "dtype": "float32"}
    remote = get_model(f"steer/{model}", memoize=False, base_url=base_url, engine="vllm", **steer)  # = --model-base-url
    local = get_model(f"steer/{model}", memoize=False, **steer)
    plain = get_model(f"steer/{model}", memoize=False, dtype="float32")
    assert remote.api.signature == local.api.signature
    [rlog], [llog], [plog] = (eval(_task(), model=m, display="none") for m in (remote, local, plain))
    assert rlog.status == "success", rlog.error
    assert rlog.eval.model_args["server"] == base_url  # recorded: eval-retry reaches the same server
    assert [s.output.completion for s in rlog.samples] == [s.output.completion for s in llog.samples]
    assert [s.output.completion for s in rlog.samples] != [s.output.completion for s in plog.samples]
    for r, h in zip(rlog.samples, llog.samples):
        assert r.output.metadata["engine"] == f"vllm@{base_url}"
        for field in ("proj", "prompt_last_proj"):
            assert r.output.metadata["monitor"]["v@3"][field] == pytest.approx(h.output.metadata["monitor"]["v@3"][field], rel=1e-3)
        got, want = r.output.choices[0].logprobs.content, h.output.choices[0].logprobs.content
        assert [t.token for t in got] == [t.token for t in want]
        for g, w in zip(got, want):
            assert g.logprob == pytest.approx(w.logprob, abs=1e-4)
            assert [t.logprob for t in g.top_logprobs] == pytest.approx([t.logprob for t in w.top_logprobs], abs=1e-4)


class _NoPlugin(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server that knows nothing of persona-evals."""

    def do_GET(self):  # noqa: N802
        body = json.dumps({"data": [{"id": "some-model"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_server_without_the_plugin_is_refused_before_any_generation(tiny_llama):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoPlugin)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        with pytest.raises(SteeringConfigError, match="does not run the persona-evals plugin; start it with: VLLM_PLUGINS=persona_evals"):
            get_model(f"steer/{tiny_llama}", memoize=False, engine="vllm", base_url=url)
    finally:
        httpd.shutdown()
