import pytest

from persona_evals.persona_bench.pairing import draw_pairs, pair_sample
from persona_evals.persona_bench.solver import parse_modes, parse_response
from persona_evals.persona_bench.sources import load_personas, load_questions
from persona_evals.personas import Persona
from persona_evals.personas.matching import load_intersections, members


def _ids(found):
    return {k: sorted(p.id for p in v) for k, v in found.items()}


def test_typed_age_range_and_case_insensitive_category():
    people = [
        Persona(id="a", attributes={"age": 18, "sex": "male"}),
        Persona(id="b", attributes={"age": "34", "sex": "Male"}),
        Persona(id="c", attributes={"age": 35, "sex": "MALE"}),
        Persona(id="d", attributes={"age": "25-34 years old", "sex": "Male"}),
        Persona(id="e", attributes={"age": "65+ years old", "sex": "Male"}),
        Persona(id="f", attributes={"age": "Not applicable", "sex": "Male"}),
    ]
    found = members(load_intersections([{"name": "m", "clauses": [
        {"attribute": "sex", "values": ["Male"]}, {"attribute": "age", "min": 18, "max": 34}]}]), people)
    assert _ids(found) == {"m": ["a", "b", "d"]}
    found = members(load_intersections([{"name": "old", "clauses": [{"attribute": "age", "min": 65}]}]), people)
    assert _ids(found) == {"old": ["e"]}


@pytest.mark.parametrize(
    "clause, message",
    [
        ({"attribute": "agee", "values": ["x"]}, "valid attributes"),
        ({"attribute": "age", "values": ["18"]}, "numeric"),
        ({"attribute": "sex", "values": [1]}, "categorical"),
        ({"attribute": "sex", "min": 1}, "categorical"),
        ({"attribute": "age", "min": 40, "max": 30}, "greater than"),
    ],
)
def test_bad_clauses_are_errors(clause, message):
    with pytest.raises(ValueError, match=message):
        load_intersections([{"clauses": [clause]}])


def test_intersection_matching_nobody_is_an_error():
    x = load_intersections([{"name": "nobody", "clauses": [{"attribute": "sex", "values": ["robot"]}]}])
    with pytest.raises(ValueError, match="nobody"):
        members(x, load_personas("fixture"))


def test_fixture_loaders_coerce_types_and_keep_ids():
    personas = load_personas("fixture")
    assert all(isinstance(p["age"], int) for p in personas)
    assert [p for p in personas if "fertility" not in p]
    assert {p.id for p in load_personas("fixture-prism")} == {f"prism-user900{i}" for i in range(1, 5)}
    assert all(q.id.startswith("c9") for q in load_questions("fixture-prism"))


def test_pairing_is_seeded_distinct_and_recorded():
    qs, ps = load_questions("fixture"), load_personas("fixture")
    a, b = draw_pairs(qs, ps, 10, seed=3), draw_pairs(qs, ps, 10, seed=3)
    assert [p.id for p in a] == [p.id for p in b]
    assert len({p.id for p in a}) == 10
    assert [p.id for p in draw_pairs(qs, ps, 10, seed=4)] != [p.id for p in a]
    sample = pair_sample(a[0], "output_only")
    assert sample.id == f"{a[0].id}__output_only"
    assert sample.metadata["pairing_seed"] == 3 and sample.metadata["persona_id"] == a[0].persona.id
    with pytest.raises(ValueError, match="pairs"):
        draw_pairs(qs, ps, len(qs) * len(ps) + 1, seed=0)


def test_modes_and_answer_parsing():
    assert parse_modes(["baseline", "output_only"]) == ["baseline", "output_only"]
    assert parse_modes("baseline,chain_of_thought") == ["baseline", "chain_of_thought"]
    with pytest.raises(ValueError, match="valid modes"):
        parse_modes("nope")
    parsed = parse_response("demographic_summary", "SUMMARY: a nurse\n**ANSWER:** rest well")
    assert parsed == {"answer": "rest well", "format_ok": True, "summary": "a nurse"}
    assert parse_response("chain_of_thought", "just text")["format_ok"] is False


def test_typed_matching_edge_cases():
    people = [
        Persona(id="float-string", attributes={"income": "61000.0", "sex": " Female "}),
        Persona(id="dollars", attributes={"income": "$41,000", "sex": "female"}),
        Persona(id="boundary", attributes={"income": 50000, "sex": "Male"}),
        Persona(id="bucket-straddles", attributes={"age": "25-34 years old", "sex": "Male"}),
        Persona(id="missing", attributes={"sex": "Female"}),
    ]
    rich = load_intersections([{"name": "rich", "clauses": [{"attribute": "income", "min": 50000}]}])
    assert _ids(members(rich, people)) == {"rich": ["boundary", "float-string"]}
    exact = load_intersections([{"name": "x", "clauses": [{"attribute": "income", "values": [41000]}]}])
    assert _ids(members(exact, people)) == {"x": ["dollars"]}
    # a bucket matches a range only when it lies wholly inside it
    with pytest.raises(ValueError, match="match none"):
        members(load_intersections([{"name": "30s", "clauses": [{"attribute": "age", "min": 30, "max": 40}]}]), people)
    # whitespace and case do not matter for categories; an absent attribute never matches
    women = load_intersections([{"name": "w", "clauses": [{"attribute": "sex", "values": ["female"]},
                                                          {"attribute": "income", "max": 1e9}]}])
    assert _ids(members(women, people)) == {"w": ["dollars", "float-string"]}


def test_personas_values_command_counts_and_checks_a_config(capsys):
    from persona_evals.cli import main

    config = '[{"name": "women", "clauses": [{"attribute": "sex", "values": ["FEMALE"]}]}]'
    assert main(["personas", "values", "--source", "fixture", "--attribute", "sex", "--intersections", config]) == 0
    out = capsys.readouterr().out
    women = sum(str(p["sex"]).lower() == "female" for p in load_personas("fixture"))
    assert f"'Female' {women}" in out  # counted case-insensitively, as clauses match
    assert f"- women: {women} personas" in out
    bad = '[{"clauses": [{"attribute": "age", "values": ["18"]}]}]'
    assert main(["personas", "values", "--source", "fixture", "--intersections", bad]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--intersections" in captured.err and "numeric" in captured.err
