import pytest
import torch

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.vectors import check_fits, load_vector, save_vectors


def test_safetensors_round_trip_with_metadata(tmp_path):
    v = torch.randn(5, 8)
    path = save_vectors(tmp_path / "evil.safetensors", {"response_avg": v, "prompt_last": -v}, {"trait": "evil", "n_pos": 12})
    loaded = load_vector(str(path))
    assert loaded.key == "response_avg"  # preferred when several tensors are present
    assert torch.equal(loaded.tensor, v)
    assert loaded.metadata["trait"] == "evil" and loaded.metadata["n_pos"] == "12"
    assert loaded.metadata["layer_index"] == "hidden_states"
    assert torch.equal(load_vector(str(path), key="prompt_last").tensor, -v)
    assert torch.equal(loaded.row(3), v[3])
    assert len(loaded.sha256) == 64


def test_pt_tensor_loads_with_weights_only(tmp_path):
    torch.save(torch.ones(8), tmp_path / "v.pt")
    assert load_vector(str(tmp_path / "v.pt")).tensor.shape == (8,)


class Payload:  # pickling this needs code: weights_only refuses it
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: None, ["does not exist"]),
        (lambda p: torch.save(Payload(), p), ["weights_only=True", "pickled code is never run", "(it needs print)"]),
        (lambda p: torch.save({}, p), ["holds no tensor"]),
        (lambda p: torch.save(torch.tensor([1.0, float("nan")]), p), ["NaN or inf"]),
        (lambda p: torch.save(torch.tensor([1.0, float("inf")]), p), ["NaN or inf"]),
        (lambda p: torch.save(torch.ones(2, 3, 4), p), ["shape [2, 3, 4]"]),
        (lambda p: torch.save(torch.ones(4, dtype=torch.long), p), ["not floating point"]),
        (lambda p: torch.save({"a": torch.ones(2), "b": torch.ones(2)}, p), ["several tensors", "#NAME"]),
        (lambda p: torch.save([1, 2], p), ["holds a list"]),
        (lambda p: p.write_bytes(b"garbage"), ["not a readable torch tensor file"]),
        (lambda p: p.write_bytes(b""), ["is empty (0 bytes)"]),
    ],
)
def test_bad_files_are_refused_with_the_argument_named(tmp_path, make, words):
    path = tmp_path / "v.pt"
    make(path)
    with pytest.raises(SteeringConfigError) as info:
        load_vector(str(path), arg="vector[1]")
    assert str(info.value).startswith("vector[1]:")
    for word in words:
        assert word in str(info.value)


def test_bad_suffix_and_corrupt_safetensors(tmp_path):
    (tmp_path / "v.npy").write_bytes(b"x")
    with pytest.raises(SteeringConfigError, match="must be a .safetensors or .pt"):
        load_vector(str(tmp_path / "v.npy"))
    (tmp_path / "v.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(SteeringConfigError, match="not a readable safetensors"):
        load_vector(str(tmp_path / "v.safetensors"))


def test_check_fits_hidden_size_and_rows(tmp_path):
    torch.save(torch.ones(5, 8), tmp_path / "v.pt")
    vec = load_vector(str(tmp_path / "v.pt"))
    check_fits(vec, 2, hidden_size=8, num_layers=4, arg="vector")
    with pytest.raises(SteeringConfigError, match="hidden size 8 but the model's is 16"):
        check_fits(vec, 2, hidden_size=16, num_layers=4, arg="vector")
    with pytest.raises(SteeringConfigError, match="num_layers \\+ 1 = 7"):
        check_fits(vec, 2, hidden_size=8, num_layers=6, arg="vector")
