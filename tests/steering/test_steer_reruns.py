"""A changed vector file never mixes with logs of the old content (eval-retry refuses, eval_set re-runs)."""

import pytest
import torch
from inspect_ai import eval, eval_retry, eval_set
from persona_evals.compat import PrerequisiteError
from inspect_ai.model import get_model

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.vectors import save_vectors


def _write(path, seed):
    torch.manual_seed(seed)
    return str(save_vectors(path, {"vector": torch.randn(5, 64)}))


TASK_FILE = """
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.solver import generate, solver


@solver
def fail_on(sample_id):
    async def solve(state, generate_):
        if state.sample_id == sample_id:
            raise RuntimeError("a sample that fails, so the log can be retried")
        return state

    return solve


@task
def reruns(fail: str = ""):
    samples = [Sample(input=f"Say {w}.", id=w) for w in ("one", "two", "three")]
    return Task(dataset=samples, solver=[generate(), fail_on(fail)])
"""


def _task(tmp_path) -> str:
    path = tmp_path / "reruns_task.py"
    path.write_text(TASK_FILE)
    return f"{path}@reruns"


def _steer(tiny_llama, vec):
    return get_model(f"steer/{tiny_llama}", memoize=False, vector=vec, layer=2, coef=1.0)


def test_the_signature_joins_the_logged_model_args(tiny_llama, tmp_path):
    vec = _write(tmp_path / "v.safetensors", 0)
    model = _steer(tiny_llama, vec)
    assert model.model_args["signature"] == model.api.signature
    log = eval(_task(tmp_path), model=model, max_tokens=2, display="none", log_dir=str(tmp_path / "logs"))[0]
    assert log.status == "success" and log.eval.model_args["signature"] == model.api.signature
    # the same args with the same files give the same signature (a pinned run is accepted)
    again = get_model(f"steer/{tiny_llama}", memoize=False, **log.eval.model_args)
    assert again.api.signature == model.api.signature


def test_eval_retry_refuses_a_changed_vector_file(tiny_llama, tmp_path):
    vec = _write(tmp_path / "v.safetensors", 0)
    log = eval(_task(tmp_path), task_args={"fail": "two"}, model=_steer(tiny_llama, vec), max_tokens=2, display="none",
               log_dir=str(tmp_path / "logs"))[0]
    assert log.status == "error"
    _write(tmp_path / "v.safetensors", 1)  # same name, other content
    with pytest.raises(SteeringConfigError, match=r"signature: steer/.* was logged with steering signature \w+, but its files now give \w+"):
        eval_retry(log, display="none", log_dir=str(tmp_path / "logs"))


def test_eval_set_treats_changed_content_as_another_model(tiny_llama, tmp_path):
    vec = _write(tmp_path / "v.safetensors", 0)
    logs = str(tmp_path / "set")
    ok, first = eval_set(_task(tmp_path), model=_steer(tiny_llama, vec), log_dir=logs, max_tokens=2, display="none")
    assert ok
    ok, same = eval_set(_task(tmp_path), model=_steer(tiny_llama, vec), log_dir=logs, max_tokens=2, display="none")
    assert ok and same[0].eval.eval_id == first[0].eval.eval_id  # unchanged: the finished log is reused
    _write(tmp_path / "v.safetensors", 1)
    # changed: another task to inspect, as with any other changed model arg: the old log is not
    # returned; inspect refuses the dirty log dir, or (allowed) runs the task anew
    with pytest.raises(PrerequisiteError, match="not associated with a task passed to eval_set"):
        eval_set(_task(tmp_path), model=_steer(tiny_llama, vec), log_dir=logs, max_tokens=2, display="none")
    ok, changed = eval_set(_task(tmp_path), model=_steer(tiny_llama, vec), log_dir=logs, max_tokens=2,
                           display="none", log_dir_allow_dirty=True)
    assert ok and changed[0].eval.eval_id != first[0].eval.eval_id
    assert changed[0].eval.model_args["signature"] != first[0].eval.model_args["signature"]
