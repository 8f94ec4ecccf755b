import pytest

from persona_evals.accuracy.boxed import last_boxed, normalize_math
from persona_evals.accuracy.extract import extract_choice, extract_last_number, parse_gsm8k_target
from persona_evals.accuracy.scorer import judge


@pytest.mark.parametrize(
    "text, letter, rule",
    [
        ("so the final pick is \\boxed{C} although (A) is correct", "C", 1),  # boxed beats rule 2
        ("After checking, (B) is the correct one. The answer is (D).", "B", 2),
        ("I think D is the answer.", "D", 3),
        ("Weighing both, the answer is (A), not (B).", "A", 4),
        ("The solution is C.", "C", 5),
        ("### Answer: B", "B", 6),  # '#' and ':' are dropped first
        ("  (C). ", "C", 7),
        ("Maybe (B)? Compare (A) with (B).", "B", 8),
        ("Both (A) and (C) look plausible.", "A", 8),  # tie: the first seen wins
        ("A. wrong\nC. wrong\nC) right", "C", 9),
    ],
)
def test_choice_rules_apply_in_the_papers_order(text, letter, rule):
    found, how = extract_choice(text, 4)
    assert found == letter
    assert how.startswith(f"rule {rule} ")


def test_choice_letters_are_limited_to_the_items_options():
    # "E" is not an option of a 4-option item: rule 4 cannot fire, and nothing else matches
    assert extract_choice("The answer is (E).", 4)[0] is None
    assert extract_choice("The answer is (E).", 5)[0] == "E"


def test_unextractable_choice_has_a_reason():
    found, how = extract_choice("I cannot decide.", 3)
    assert found is None and "A-C" in how


def test_last_number_cleans_and_never_raises():
    assert extract_last_number("It costs $1,250.")[0] == 1250.0
    assert extract_last_number("Down by -3 degrees")[0] == -3.0
    assert extract_last_number("first 12 then 7.5 then done")[0] == 7.5
    value, how = extract_last_number("version 1.2.3")
    assert value is None and "1.2.3" in how
    value, how = extract_last_number("it is 4, not 1.2.3")
    assert value == 4.0 and "skipped" in how
    assert extract_last_number("no digits")[0] is None
    assert extract_last_number("pages 5-3")[0] == 3.0  # a hyphen after a digit is not a sign


def test_gsm8k_target_after_the_hashes():
    assert parse_gsm8k_target("1+1=<<1+1=2>>2\n#### 1,245") == 1245.0
    with pytest.raises(ValueError, match="####"):
        parse_gsm8k_target("no marker 5")


def test_last_boxed_balances_braces_and_takes_the_last():
    assert last_boxed(r"first \boxed{1} then \boxed{\frac{a}{b^{2}}}") == r"\frac{a}{b^{2}}"
    assert last_boxed(r"\fbox{7}") == "7"
    assert last_boxed(r"so \boxed 5.") == "5"
    assert last_boxed(r"\boxed{unclosed") is None
    assert last_boxed("plain") is None


@pytest.mark.parametrize(
    "a, b",
    [
        (r"\dfrac12", r"\frac{1}{2}"),
        (r"\frac 3 4", r"\tfrac{3}{4}"),
        ("0.50", "0.5"),
        ("5.0", "5"),
        (r"90^\circ", "90"),
        (r"\left(1, 2\right)", "(1,2)"),
        ("x = 3", "3"),
        (r"12\text{ cm}", "12cm"),
    ],
)
def test_normalize_math_equates_notations(a, b):
    assert normalize_math(a) == normalize_math(b)


def test_normalize_math_keeps_different_values_apart():
    assert normalize_math(r"\frac{1}{2}") != normalize_math(r"\frac{2}{1}")
    assert normalize_math("0.5") != normalize_math("5")


def test_judge_puts_the_extracted_answer_in_the_explanation():
    score = judge("choice", "The answer is (B).", "B", n_options=4)
    assert score.value == "C" and score.answer == "B" and "'B'" in score.explanation
    wrong = judge("number", "so 41", "42")
    assert wrong.value == "I" and wrong.answer == "41" and "does not match" in wrong.explanation
    missing = judge("boxed", "I give up", "7")
    assert missing.value == "I" and missing.answer is None and "no \\boxed{}" in missing.explanation


def test_math_is_strict_unless_normalised():
    assert judge("boxed", r"\boxed{\dfrac12}", r"\frac{1}{2}").value == "I"
    assert judge("boxed", r"\boxed{\dfrac12}", r"\frac{1}{2}", math_normalize=True).value == "C"


def test_judge_rejects_an_unknown_answer_type():
    with pytest.raises(ValueError, match="choice, number or boxed"):
        judge("essay", "x", "y")
