"""Invariants of the shipped trait artifacts."""

import pytest

from persona_evals.traits.artifact import check_rubric
from persona_evals.traits.dataset import load_trait, trait_names
from persona_evals.traits.prompts import COHERENCE_RUBRIC

TRAITS = ["evil", "sycophantic", "hallucinating", "optimistic", "impolite", "apathetic", "humorous", "anxious", "confident"]


def test_all_nine_traits_ship():
    assert set(TRAITS) <= set(trait_names())


@pytest.mark.parametrize("trait", TRAITS)
def test_artifact_invariants(trait):
    extract, evaluate = load_trait(trait, "extract"), load_trait(trait, "eval")
    for split in (extract, evaluate):
        assert len(split.instruction) == 5
        assert len(split.questions) == len(set(split.questions)) == 20
        assert "{question}" in split.eval_prompt and "{answer}" in split.eval_prompt
        assert "REFUSAL" in split.eval_prompt and trait in split.eval_prompt
    # both splits share the instructions and the rubric; their questions are disjoint
    assert extract.instruction == evaluate.instruction
    assert extract.eval_prompt == evaluate.eval_prompt
    assert not set(extract.questions) & set(evaluate.questions)
    assert all(p.pos != p.neg for p in extract.instruction)


def test_questions_are_disjoint_across_all_files():
    questions = [q for t in TRAITS for v in ("extract", "eval") for q in load_trait(t, v).questions]
    assert len(questions) == len(set(questions)) == 9 * 40


def test_coherence_rubric_has_exactly_the_two_slots():
    check_rubric(COHERENCE_RUBRIC)
    assert "0" in COHERENCE_RUBRIC and "50" in COHERENCE_RUBRIC and "100" in COHERENCE_RUBRIC
