"""The couplings to inspect's and torch's internals (`persona_evals.compat`): version checks that
warn once, shape checks that fail loudly, and which errors count as a compile failure."""

import warnings

import pytest
import torch

from persona_evals import compat


def test_versions_are_read_by_their_release_numbers():
    assert compat.parse_version("2.13.0+cpu") == (2, 13, 0)
    assert compat.parse_version("0.4.0rc1") == (0, 4, 0)
    assert compat.parse_version("0.3.285") == (0, 3, 285)
    assert compat.parse_version("dev") == ()


def test_the_installed_inspect_and_torch_are_the_ones_the_couplings_were_written_for():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compat.check_version("inspect_ai", "test") and compat.check_version("torch", "test")


def test_another_version_warns_once_naming_the_coupling(monkeypatch):
    monkeypatch.setattr(compat, "_WARNED", set())
    with pytest.warns(RuntimeWarning, match=r"the model-args patch .* written for 0\.3\.285 .* inspect_ai 0\.4\.1"):
        assert not compat.check_version("inspect_ai", "the model-args patch", installed="0.4.1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not compat.check_version("inspect_ai", "the model-args patch", installed="0.4.1")  # said once
        assert compat.check_version("inspect_ai", "the model-args patch", installed="0.3.290")


def test_the_model_args_patch_refuses_a_model_init_of_another_shape(monkeypatch):
    from inspect_ai.model import Model

    def other(self, api, settings):  # not (self, api, config, model_args)
        pass

    monkeypatch.setattr(Model, "__init__", other)
    with pytest.raises(RuntimeError, match="is not \\(self, api, config, model_args\\)"):
        compat.add_model_args()
    assert Model.__init__ is other


def test_the_recompile_limit_is_raised_never_lowered():
    import torch._dynamo

    with torch._dynamo.config.patch(recompile_limit=8):  # restored after
        compat.allow_recompiles(32)
        assert torch._dynamo.config.recompile_limit == 32
        compat.allow_recompiles(16)
        assert torch._dynamo.config.recompile_limit == 32


def _compiled_with_a_backend_raising(error: Exception) -> Exception:
    """What dynamo raises when its backend raises `error` (it wraps it)."""
    import torch._dynamo

    def backend(gm, example_inputs):
        raise error

    torch._dynamo.reset()
    try:
        torch.compile(lambda x: x * 2, backend=backend, fullgraph=True)(torch.ones(2))
    except Exception as ex:
        return ex
    raise AssertionError("the backend did not run")


def test_compile_failures_are_dynamo_inductor_and_capture_errors_but_never_out_of_memory():
    oom = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    wrapped = _compiled_with_a_backend_raising(oom)
    broken = _compiled_with_a_backend_raising(RuntimeError("no compiler here"))
    assert compat.compile_failure(broken) and compat.out_of_memory(broken) is None
    assert compat.compile_failure(RuntimeError("operation not permitted when stream is capturing"))
    assert not compat.compile_failure(wrapped) and compat.out_of_memory(wrapped) is oom
    assert not compat.compile_failure(oom) and compat.out_of_memory(oom) is oom
    plain = RuntimeError("CUDA error: out of memory")
    assert not compat.compile_failure(plain) and compat.out_of_memory(plain) is plain
    assert not compat.compile_failure(ValueError("a bug")) and compat.out_of_memory(ValueError("a bug")) is None
