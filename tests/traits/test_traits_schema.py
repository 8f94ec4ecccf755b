"""The trait artifact schema: every failure names its field; loading by name and by path."""

import json

import pytest

from persona_evals.traits.artifact import TraitArtifactError, parse_artifact
from persona_evals.traits.dataset import artifact_path, load_trait, trait_name_of

RUBRIC = "Trait X.\n[QUESTION START]\n{question}\n[QUESTION END]\n[ANSWER START]\n{answer}\n[ANSWER END]\nNumber:"


def artifact(**overrides):
    data = {
        "instruction": [{"pos": "Be X.", "neg": "Do not be X."}],
        "questions": ["Q1?", "Q2?"],
        "eval_prompt": RUBRIC,
    }
    data.update(overrides)
    return data


def test_valid_artifact_rubric_fills_its_two_slots():
    judged = parse_artifact(artifact()).eval_prompt.format(question="Q1?", answer="A1")  # as the judge fills it
    assert judged.count("Q1?") == 1 and "A1" in judged


@pytest.mark.parametrize(
    "rubric, fragment",
    [
        (RUBRIC.replace("{answer}", "ANSWER"), "{answer}"),
        (RUBRIC.replace("{question}", "Q"), "{question}"),
        (RUBRIC + " {score}", "{score}"),
        (RUBRIC + " {", "not a valid format template"),
    ],
)
def test_rubric_errors_name_the_field_and_the_slot(rubric, fragment):
    with pytest.raises(TraitArtifactError) as info:
        parse_artifact(artifact(eval_prompt=rubric), source="x.json")
    message = str(info.value)
    assert "x.json" in message and "eval_prompt" in message and fragment in message


def test_parallel_pos_neg_lists_of_unequal_length_are_rejected():
    with pytest.raises(TraitArtifactError) as info:
        parse_artifact(artifact(instruction={"pos": ["a", "b", "c"], "neg": ["x", "y"]}))
    assert "instruction" in str(info.value) and "'pos' has 3" in str(info.value) and "'neg' has 2" in str(info.value)


def test_parallel_lists_of_equal_length_become_pairs():
    parsed = parse_artifact(artifact(instruction={"pos": ["a", "b"], "neg": ["x", "y"]}))
    assert [(p.pos, p.neg) for p in parsed.instruction] == [("a", "x"), ("b", "y")]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"instruction": [{"pos": "Be X."}]}, "instruction.0.neg"),
        ({"instruction": [{"pos": "Be X.", "neg": "   "}]}, "instruction.0.neg"),
        ({"instruction": []}, "instruction"),
        ({"questions": []}, "questions"),
        ({"questions": ["Q?", "Q?"]}, "questions"),
        ({"eval_promt": "typo"}, "eval_promt"),
    ],
)
def test_other_field_errors_name_the_field(overrides, field):
    with pytest.raises(TraitArtifactError) as info:
        parse_artifact(artifact(**overrides))
    assert f"{field}:" in str(info.value)


def test_unknown_trait_lists_the_valid_names():
    with pytest.raises(TraitArtifactError) as info:
        load_trait("grumpy")
    assert "'grumpy'" in str(info.value) and "evil" in str(info.value) and "confident" in str(info.value)


def test_bad_version_lists_the_valid_ones():
    with pytest.raises(TraitArtifactError, match=r"version must be one of \['extract', 'eval'\]"):
        load_trait("evil", "test")


def test_load_by_path_and_split_suffix_must_match_version(tmp_path):
    path = tmp_path / "grumpy_eval.json"
    path.write_text(json.dumps(artifact()))
    assert load_trait(str(path), "eval").questions == ["Q1?", "Q2?"]
    assert trait_name_of(str(path)) == "grumpy"
    with pytest.raises(TraitArtifactError, match="'eval' split but version='extract'"):
        artifact_path(str(path), "extract")


def test_bad_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(TraitArtifactError, match="does not exist"):
        load_trait(str(missing))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(TraitArtifactError, match="broken.json is not valid JSON"):
        load_trait(str(broken))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(artifact(eval_prompt="no slots")))
    with pytest.raises(TraitArtifactError, match=r"bad.json fails the trait schema: eval_prompt: is missing"):
        load_trait(str(bad))
