"""Ctrl-C (SIGINT) while a `steer` batch decodes: the log is kept and the process exits cleanly.

The decode thread used to be left inside a torch forward when the interpreter finalised, and
the process aborted ("terminate called without an active exception", exit 134) after inspect had
already written a good log. The child below signals through a file once its first batch runs; the
batch then decodes until its batcher closes (the real decode loop would end on its own after its
tokens; this one only stops when asked), so SIGINT always arrives, and the process always exits,
with the thread inside torch.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

CHILD = '''
import signal
import sys
from pathlib import Path

# Ctrl-C reaches a foreground process; a suite run in the background (make test &) starts its children
# with SIGINT ignored, and Python then leaves it ignored: take the handler a foreground process has
signal.signal(signal.SIGINT, signal.default_int_handler)

import torch

import persona_evals.steering.provider as provider

out, model, how = Path(sys.argv[1]), sys.argv[2], sys.argv[3]


def run_batch(shared, key, requests, info):  # decodes until the batcher closes
    (out / "batch-started").touch()
    interrupt = getattr(info, "interrupt", lambda: None)
    ids = torch.arange(3, 35).unsqueeze(0)
    with torch.inference_mode():
        while True:
            interrupt()
            shared.model(input_ids=ids)


provider.run_batch = run_batch
if how == "eval":
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample

    task = Task(dataset=[Sample(id=i, input=f"Question {i}?") for i in range(2)], name="interrupted")
    logs = eval(task, model=f"steer/{model}", max_tokens=4, log_dir=str(out / "logs"), display="none")
    print(f"eval returned {len(logs)} logs")
else:
    from persona_evals.cli import main

    vector = out / "v.safetensors"
    from persona_evals.steering.vectors import save_vectors

    save_vectors(vector, {"vector": torch.ones(5, 64)})
    code = main(["sweep", "tasks/sanity.py", "--model", model, "--vector", str(vector), "--layers", "1",
                 "--coefs", "0", "1", "--limit", "1", "--log-dir", str(out / "logs"), "--display", "none"])
    print(f"sweep returned {code}")
    sys.exit(code)
'''

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("how", ["eval", "sweep"])
def test_sigint_during_a_batch_exits_cleanly(tiny_llama, tmp_path, how):
    (tmp_path / "child.py").write_text(CHILD)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, str(tmp_path / "child.py"), str(tmp_path), tiny_llama, how],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        started = tmp_path / "batch-started"
        while not started.exists():  # a state, not a duration: the child touches it in its first batch
            assert child.poll() is None, child.communicate()
            try:
                child.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
    assert "terminate called" not in err, err[-2000:]
    assert child.returncode == (0 if how == "eval" else 130), (child.returncode, err[-2000:])  # not -6 (SIGABRT) / 134
    if how == "sweep":
        assert "interrupted: 2 cells were started" in err and "inspect eval-retry" in err
    # inspect wrote the logs, cancelled and resumable
    logs = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(tmp_path / "logs"))]
    assert logs and all(log.status == "cancelled" for log in logs), [log.status for log in logs]
