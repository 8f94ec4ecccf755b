"""The one parser of steering terms: the provider, the identity and finetune read terms alike."""

import pytest

from persona_evals.commands.finetune import parse_terms
from persona_evals.errors import SteeringConfigError
from persona_evals.identity import model_identity
from persona_evals.steering.spec import SteeringSpec
from persona_evals.steering_args import parse_steering, vector_ref


@pytest.mark.parametrize("layer", [10, "10", 10.0, "10.0"])
def test_an_integral_layer_is_that_block_for_every_reader(layer):
    args = {"vector": "v.safetensors", "layer": layer, "coef": "2"}
    assert [t.layer for t in SteeringSpec.from_model_args(args).vectors] == [10]
    assert [t.layer for t in model_identity("steer/m", args).terms] == [10]


@pytest.mark.parametrize("layer", [10.5, "ten", True])
def test_a_fractional_or_non_numeric_layer_is_refused_by_every_reader(layer):
    args = {"vector": "v.safetensors", "layer": layer}
    for read in (SteeringSpec.from_model_args, lambda a: model_identity("steer/m", a)):
        with pytest.raises(SteeringConfigError, match="layer must be an integer"):
            read(args)


def test_file_hash_key_splits_at_the_last_hash_unless_the_whole_name_is_a_file(tmp_path):
    whole = tmp_path / "evil#2.safetensors"
    whole.write_bytes(b"")
    assert vector_ref(str(whole)) == (str(whole), None)
    assert vector_ref(str(tmp_path / "a#b.safetensors#prompt_last")) == (str(tmp_path / "a#b.safetensors"), "prompt_last")


def test_finetune_steer_reads_a_file_whose_name_holds_a_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil#2.safetensors").write_bytes(b"")
    steer, ablate = parse_terms([("steer", "evil#2.safetensors"), ("layer", 3), ("coef", 1.5)])
    assert [(t.path, t.key, t.layer, t.coef) for t in steer] == [("evil#2.safetensors", None, 3, 1.5)]
    # and a key after the last # when the whole name is no file
    steer, _ = parse_terms([("steer", "other.safetensors#prompt_last"), ("layer", 3), ("coef", 1.0)])
    assert (steer[0].path, steer[0].key) == ("other.safetensors", "prompt_last")
    _, ablate = parse_terms([("ablate", "a.safetensors#x, b.safetensors"), ("layer", 2)])
    assert [(t.path, t.key) for t in ablate] == [("a.safetensors", "x"), ("b.safetensors", None)]


def test_tilde_expands_for_the_provider_finetune_and_the_identity(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = SteeringSpec.from_model_args({"vector": "~/v.safetensors", "layer": 1})
    steer, _ = parse_terms([("steer", "~/v.safetensors"), ("layer", 1), ("coef", 1.0)])
    ident = model_identity("steer/m", {"vector": "~/v.safetensors", "layer": 1})
    assert spec.vectors[0].path == steer[0].path == ident.terms[0].vector == str(tmp_path / "v.safetensors")


def test_one_vector_given_several_coefs_at_one_layer_is_refused():
    # it would add the one vector once per coef (net coef 3 for coef=[1,2])
    with pytest.raises(SteeringConfigError, match="coef: 2 coefficients for one vector"):
        parse_steering({"vector": "v.safetensors", "layer": 2, "coef": [1, 2]})
    # the same file listed twice is explicit and kept
    assert len(parse_steering({"vector": ["v.safetensors", "v.safetensors"], "layer": 2, "coef": [1, 2]}).vectors) == 2


def test_a_json_list_string_from_a_log_reads_as_a_list():
    terms = parse_steering({"vector": '["a.safetensors", "b.safetensors"]', "layer": "[1, 2]", "coef": "[0.25, 0.75]"})
    assert [(t.layer, t.coef) for t in terms.vectors] == [(1, 0.25), (2, 0.75)]


def test_coef_mode_and_positions_errors_name_the_argument():
    with pytest.raises(SteeringConfigError, match="coef_mode must be one of"):
        parse_steering({"coef-mode": "log"})
    with pytest.raises(SteeringConfigError, match="positions must be one of"):
        parse_steering({"positions": 3})
