"""The 0-100 judge aggregation, against distributions whose scores are computed by hand."""

import math

import pytest

from persona_evals.scorers.logprob_judge import aggregate_top_logprobs, normalise_token, parse_score_text, score_of_token

ln = math.log


def test_weighted_mean_renormalised_over_numeric_mass():
    # numeric: 80 (.6), 90 (.2); REFUSAL .1; "The" .1 -> mass .8, score (48 + 18) / .8 = 82.5
    verdict = aggregate_top_logprobs({"80": ln(0.6), "90": ln(0.2), "REFUSAL": ln(0.1), "The": ln(0.1)})
    assert verdict.score == pytest.approx(82.5)
    assert verdict.numeric_mass == pytest.approx(0.8)
    assert verdict.refusal_mass == pytest.approx(0.1)
    assert verdict.method == "top_logprobs"


def test_marked_tokens_of_the_same_number_add_up():
    # "Ġ7" and "7" are both 7 (.3 + .2), "▁100" is 100 (.5) -> (7*.5 + 100*.5) / 1 = 53.5
    verdict = aggregate_top_logprobs([("Ġ7", ln(0.3)), ("7", ln(0.2)), ("▁100", ln(0.5))])
    assert verdict.score == pytest.approx(53.5)
    assert verdict.numeric_mass == pytest.approx(1.0)


def test_out_of_range_and_non_integer_tokens_are_ignored():
    # 101, -5, 7.5 and "eighty" are not integers 0-100; only 0 (.3) and 40 (.1) count -> 10.0
    verdict = aggregate_top_logprobs(
        {"101": ln(0.2), "-5": ln(0.1), "7.5": ln(0.1), "eighty": ln(0.2), "0": ln(0.3), "40": ln(0.1)}
    )
    assert verdict.score == pytest.approx(10.0)
    assert verdict.numeric_mass == pytest.approx(0.4)


def test_below_threshold_is_unscored_not_zero():
    # numeric mass .2 < .25 -> unscored, although the numbers themselves are 0
    verdict = aggregate_top_logprobs({"0": ln(0.2), "Sure": ln(0.8)})
    assert verdict.score is None
    assert verdict.numeric_mass == pytest.approx(0.2)
    assert "0.200 < 0.25" in verdict.explanation


def test_just_above_threshold_is_scored():
    verdict = aggregate_top_logprobs({"60": ln(0.26), "Sure": ln(0.74)})
    assert verdict.score == pytest.approx(60.0)


def test_refusal_shaped_distribution_reports_the_refusal_mass():
    # REF + REFUSAL + Ref take .9, numbers .1 -> unscored, refusal .9 reported
    verdict = aggregate_top_logprobs(
        {"REFUSAL": ln(0.6), "REF": ln(0.2), "Ref": ln(0.1), "50": ln(0.05), "100": ln(0.05)}
    )
    assert verdict.score is None
    assert verdict.refusal_mass == pytest.approx(0.9)
    assert verdict.numeric_mass == pytest.approx(0.1)
    assert "REFUSAL" in verdict.explanation


def test_empty_logprobs_are_unscored():
    verdict = aggregate_top_logprobs({})
    assert verdict.score is None and verdict.numeric_mass == 0.0
    assert "no logprobs" in verdict.explanation


def test_custom_threshold():
    assert aggregate_top_logprobs({"30": ln(0.4)}, min_mass=0.5).score is None
    assert aggregate_top_logprobs({"30": ln(0.4)}, min_mass=0.3).score == pytest.approx(30.0)


@pytest.mark.parametrize(
    "token, expected",
    [("85", 85), ("Ġ85", 85), ("▁0", 0), (" 100 ", 100), ("Ċ42", 42), ("101", None), ("8a", None), ("", None)],
)
def test_score_of_token(token, expected):
    assert score_of_token(token) == expected


def test_normalise_token_strips_markers_only_at_the_ends():
    assert normalise_token("Ġ▁ 12\n") == "12"


def test_text_fallback_parses_first_integer_and_says_so():
    verdict = parse_score_text(" 73\n")
    assert verdict.score == 73.0 and verdict.method == "text"
    assert "no logprobs" in verdict.explanation
    assert parse_score_text("Score: 250 then 40").score == 40.0  # 250 is out of range, skipped


def test_text_fallback_refusal_and_garbage_are_unscored():
    refused = parse_score_text("REFUSAL")
    assert refused.score is None and refused.refusal_mass == 1.0
    assert parse_score_text("no idea").score is None


def test_judge_sees_only_the_text_after_the_last_think_block():
    from persona_evals.scorers.logprob_judge import final_answer

    assert final_answer("<think>plan</think>\n Hello") == "Hello"
    assert final_answer("<think>a</think>b</think> c") == "c"
    assert final_answer("plain answer ") == "plain answer "
