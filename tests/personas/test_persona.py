import pytest

from persona_evals.personas import Persona


def test_persona_keeps_order_and_drops_empty_values():
    p = Persona(id="p1", attributes={"age": 34, "sex": "Female", "income": None, "city": " "})
    assert p.names == ["age", "sex"]
    assert p.render() == "age: 34\nsex: Female"
    assert p.render("inline") == "age: 34; sex: Female"


def test_sub_personas():
    p = Persona(attributes={"age": 34, "sex": "Female", "occupation": "nurse"})
    assert p.without("sex").names == ["age", "occupation"]
    with pytest.raises(KeyError, match="height"):
        p.without("height")
    with pytest.raises(ValueError, match="render style"):
        p.render("yaml")
