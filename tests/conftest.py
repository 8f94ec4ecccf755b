"""Shared fixtures. Tests never touch the network: the Hub is forced offline before any import."""

from __future__ import annotations

import os
import tempfile

# tests write logs and inspect's cache into a temporary folder, never the working tree
_scratch = tempfile.mkdtemp(prefix="persona-evals-tests-")
os.environ["INSPECT_LOG_DIR"] = os.path.join(_scratch, "logs")
os.environ["INSPECT_CACHE_DIR"] = os.path.join(_scratch, "cache")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("INSPECT_DISPLAY", "none")

import pytest


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> str:
    """A tiny random Llama (4 layers, hidden 64) with a trained BPE tokenizer and ChatML template."""
    from persona_evals.testing.tiny_models import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), "llama"))


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> str:
    from persona_evals.testing.tiny_models import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"), "qwen2"))


@pytest.fixture(scope="session")
def tiny_no_system(tmp_path_factory) -> str:
    """tiny_llama's weights and tokenizer under a chat template without a system role (as Gemma's)."""
    from persona_evals.testing.tiny_models import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-no-system"), "llama", system_role=False))


@pytest.fixture(params=["llama", "qwen2"])
def tiny_model(request) -> str:
    """Each tiny architecture in turn."""
    return request.getfixturevalue(f"tiny_{request.param}")


@pytest.fixture(scope="session")
def smollm2_dir() -> str:
    """The embedded SmolLM2 (converted once into the user cache dir, then reused)."""
    from persona_evals.steering.embedded import embedded_dir

    return str(embedded_dir("smollm2"))


@pytest.fixture
def full_batches_only():
    """`full_batches_only(shared)`: that loaded model's batches start only when full (its batcher
    runs on a clock that stands still), so a test that needs requests of several evals in one
    batch gets it whatever the machine's load; the model's own batcher comes back afterwards."""
    from persona_evals.steering.batching import Batcher
    from persona_evals.testing.clock import ManualClock

    saved = []

    def install(shared):
        saved.append((shared, shared.batcher))
        shared.batcher = Batcher(lock=shared.lock, clock=ManualClock())
        return shared

    yield install
    for shared, batcher in reversed(saved):
        shared.batcher = batcher


@pytest.fixture
def log_reads(monkeypatch) -> list[str]:
    """Every path `inspect_ai.log.read_eval_log` reads during the test, in order (header or whole):
    a command that reads each log once reads each path once."""
    import inspect_ai.log

    reads: list[str] = []
    original = inspect_ai.log.read_eval_log
    monkeypatch.setattr(inspect_ai.log, "read_eval_log", lambda path, **kw: reads.append(path) or original(path, **kw))
    return reads


@pytest.fixture
def drawn(monkeypatch):
    """`drawn(module, name)`: the list of (arguments, figure) of each call of the figure function
    `module.name`, so a test compares a plot's CSV with the frame it drew and the figure's artists
    (closed, but its artists keep their data)."""
    calls: list[tuple] = []

    def record(module, name: str) -> list[tuple]:
        original = getattr(module, name)

        def draw(*args):
            calls.append((args, original(*args)))
            return calls[-1][1]

        monkeypatch.setattr(module, name, draw)
        return calls

    return record
