import pytest

from persona_evals.errors import SteeringConfigError
from persona_evals.steering.spec import SteeringSpec


def test_defaults_without_steering():
    spec = SteeringSpec.from_model_args({})
    assert spec.vectors == () and spec.positions == "response" and spec.batch_size == 32


def test_coerces_cli_strings_and_broadcasts():
    # `-M layer=10,12` arrives as a list of strings; one vector broadcasts over two layers
    spec = SteeringSpec.from_model_args({"vector": "v.safetensors", "layer": ["10", "12"], "coef": "2.5"})
    assert [(v.layer, v.coef) for v in spec.vectors] == [(10, 2.5), (12, 2.5)]
    assert all(v.path.endswith("v.safetensors") and v.key is None for v in spec.vectors)


def test_per_vector_lists_and_key_selector():
    spec = SteeringSpec.from_model_args(
        {"vector": ["a.safetensors#prompt_last", "b.pt"], "layer": [3, 4], "coef": [1, -0.5]}
    )
    assert [(v.key, v.layer, v.coef) for v in spec.vectors] == [("prompt_last", 3, 1.0), (None, 4, -0.5)]


@pytest.mark.parametrize(
    "args, words",
    [
        ({"vector": ["a", "b"], "layer": [1, 2, 3]}, ["vector (2)", "layer (3)"]),
        ({"vector": "a", "layer": 2, "coef": [1, 2, 3], "positions": "all"}, ["3 coefficients for one vector", "3 times"]),
        ({"vector": "a", "layer": [2, 3, 4], "coef": [1, 2, 3], "positions": "all"}, None),
        ({"positions": "tokens"}, ["positions", "'tokens'", "response"]),
        ({"layer": 3}, ["layer", "without vector"]),
        ({"vector": "a"}, ["without layer"]),
        ({"vector": "a", "layer": "ten"}, ["layer must be an integer", "'ten'"]),
        ({"vector": "a", "layer": 2.5}, ["layer must be an integer"]),
        ({"vector": "a", "layer": 2, "coef": False}, ["coef must be a number"]),
        ({"coeff": 2.0}, ["unknown model arg", "coeff", "coef"]),
        ({"dtype": "int8"}, ["dtype must be one of"]),
        ({"batch_size": 0}, ["batch_size must be >= 1"]),
        ({"batch_size": 1_000_000_000}, ["batch_size must be >= 1 and <= 1024, got 1000000000"]),
    ],
)
def test_bad_args_name_the_argument(args, words):
    if words is None:  # one vector at three layers with three coefs: three terms
        assert len(SteeringSpec.from_model_args(args).vectors) == 3
        return
    with pytest.raises(SteeringConfigError) as info:
        SteeringSpec.from_model_args(args)
    for word in words:
        assert word in str(info.value)
