"""Candidate scoring (`steering/candidates.py`) and the candidates judge built on it.

The judge tests use hand-built bigram models (`persona_evals.testing.bigram`) whose reply
distribution is known exactly; the tree forward is checked against one plain forward per
candidate on a tiny random Llama (real attention, left padding, steering).
"""

import asyncio
import math

import pytest
import torch
from inspect_ai import eval
from inspect_ai.model import GenerateConfig, get_model

from persona_evals.scorers.logprob_judge import judge
from persona_evals.steering.candidates import CandidateRequest, boundary_mask, candidate_ids, score_candidates
from persona_evals.steering.chat import render_prompt
from persona_evals.steering.hooks import PositionMask, steer_residual
from persona_evals.steering.loading import load_shared
from persona_evals.steering.rows import RowSteering
from persona_evals.testing import scripted_model
from persona_evals.testing.bigram import END, build_bigram_model

DIGITS = [str(i) for i in range(10)]
# first reply token: 8 (.4), 1 (.3), REFUSAL (.2), Hi (.1); "8" ends (.5) or takes a 5; "1" always
# takes a 0, then each "0" ends with "." (.5) or takes another 0 (.5). Whole replies:
#   8: .2, 85: .2, 10: .15, 100: .075, 1000...: .075 (not 0-100), REFUSAL: .2, Hi...: .1
SPLIT_TABLE = {
    "\n": {"8": 0.4, "1": 0.3, "REFUSAL": 0.2, "Hi": 0.1},
    "8": {"5": 0.5, END: 0.5},
    "5": {END: 1.0},
    "1": {"0": 1.0},
    "0": {"0": 0.5, ".": 0.5},
    "REFUSAL": {END: 1.0},
}
SPLIT_MASS = 0.2 + 0.2 + 0.15 + 0.075
SPLIT_SCORE = (8 * 0.2 + 85 * 0.2 + 10 * 0.15 + 100 * 0.075) / SPLIT_MASS  # 44.16


@pytest.fixture(scope="module")
def split_judge(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("bigram-split")
    return str(build_bigram_model(path, [*DIGITS, "REFUSAL", "Hi", "."], SPLIT_TABLE, split_digits=True))


@pytest.fixture(scope="module")
def whole_judge(tmp_path_factory) -> str:
    """One token per number 0-100; every number is followed by the end of the reply."""
    numbers = [str(k) for k in range(101)]
    table = {"\n": {"85": 0.5, "7": 0.2, "100": 0.1, "REFUSAL": 0.1, "Hi": 0.1}}
    table.update({k: {END: 1.0} for k in ("85", "7", "100", "REFUSAL")})
    path = tmp_path_factory.mktemp("bigram-whole")
    return str(build_bigram_model(path, [*numbers, "REFUSAL", "Hi"], table, split_digits=False))


def test_split_digit_judge_gives_the_exact_expected_value(split_judge):
    grader = get_model(f"steer/{split_judge}", memoize=False, dtype="float32")
    verdict = asyncio.run(judge(grader, "Rate the answer."))
    assert verdict.method == "candidates"
    assert verdict.score == pytest.approx(SPLIT_SCORE, abs=1e-4)
    assert verdict.numeric_mass == pytest.approx(SPLIT_MASS, abs=1e-5)
    assert verdict.refusal_mass == pytest.approx(0.2, abs=1e-5)
    # the first-token method reads 8 for every 8x reply and 1 for 10 and 100 on this tokenizer
    first_token = asyncio.run(judge(grader, "Rate the answer.", method="top_logprobs"))
    assert first_token.score == pytest.approx((8 * 0.4 + 1 * 0.3) / 0.7, abs=1e-4)


def test_candidates_match_top_logprobs_on_a_one_token_per_number_judge(whole_judge):
    grader = get_model(f"steer/{whole_judge}", memoize=False, dtype="float32")
    exact = asyncio.run(judge(grader, "Rate the answer."))
    first_token = asyncio.run(judge(grader, "Rate the answer.", method="top_logprobs"))
    assert (exact.method, first_token.method) == ("candidates", "top_logprobs")
    expected = (85 * 0.5 + 7 * 0.2 + 100 * 0.1) / 0.8
    assert exact.score == pytest.approx(expected, abs=1e-4)
    assert first_token.score == pytest.approx(exact.score, abs=1e-4)
    assert first_token.numeric_mass == pytest.approx(exact.numeric_mass, abs=1e-5)
    assert exact.refusal_mass == pytest.approx(first_token.refusal_mass, abs=1e-5)


def test_the_mass_rule_applies_to_the_sequence_probabilities(split_judge):
    grader = get_model(f"steer/{split_judge}", memoize=False, dtype="float32")
    assert asyncio.run(judge(grader, "Rate.", min_mass=0.6)).score is not None  # .625
    verdict = asyncio.run(judge(grader, "Rate.", min_mass=0.65))
    assert verdict.score is None and "numeric mass 0.625 < 0.65 (candidates)" in verdict.explanation


def test_the_provider_answers_a_candidates_request_in_metadata(split_judge):
    grader = get_model(f"steer/{split_judge}", memoize=False, dtype="float32")
    output = asyncio.run(grader.generate("Rate.", config=GenerateConfig(extra_body={"candidates": ["85", "8", "1000", "Hi"]})))
    got = {k: (math.exp(v) if v is not None else 0.0) for k, v in output.metadata["candidate_logprobs"].items()}
    assert got["85"] == pytest.approx(0.2, abs=1e-5) and got["8"] == pytest.approx(0.2, abs=1e-5)
    assert got["1000"] == pytest.approx(0.3 * 0.5**3, abs=1e-5)  # 1, 0, 0 (.5), 0 (.5), then "." (.5)
    # after "Hi" the row is uniform over 20 tokens, 8 of which end a word (5 specials, "\n", " ", ".")
    assert got["Hi"] == pytest.approx(0.1 * 8 / 20, abs=1e-5)
    assert output.completion in ("85", "8")  # the likeliest candidate
    with pytest.raises(ValueError, match="non-empty list of non-empty strings"):
        asyncio.run(grader.generate("Rate.", config=GenerateConfig(extra_body={"candidates": []})))


def _brute_force(shared, ids, cand, steer_delta=None):
    """log P(cand, then a boundary token) from one plain forward over prompt + candidate."""
    full = torch.tensor([list(ids) + list(cand)], device=shared.device)
    mask = torch.zeros(full.shape)
    mask[0, len(ids) - 1 :] = 1.0  # "response" positions: the last prompt token and the reply
    with torch.inference_mode():
        if steer_delta is None:
            logits = shared.model(full).logits[0]
        else:
            with steer_residual(shared.model, steer_delta, PositionMask(mask)):
                logits = shared.model(full).logits[0]
    lp = torch.log_softmax(logits.float(), -1)
    total = sum(lp[len(ids) - 1 + j, t].item() for j, t in enumerate(cand))
    boundary = boundary_mask(shared.tokenizer, lp.shape[-1]).to(lp.device)
    return total + torch.logsumexp(lp[-1][boundary], -1).item()


def test_tree_forward_equals_one_forward_per_candidate(tiny_llama):
    from inspect_ai.model import ChatMessageUser

    shared = load_shared(tiny_llama, dtype="float32")  # not bf16 (auto on a GPU): other shapes round differently
    tok = shared.tokenizer
    delta = {2: torch.randn(shared.hidden_size, generator=torch.Generator().manual_seed(0))}
    words = ["1", "10", "100", "25", "50", "REFUSAL", "The capital", "7"]
    requests, expected = [], []
    for text, steer in [("Score this answer.", None), ("What is the capital of France? Give a score.", delta)]:
        prompt = render_prompt(tok, [ChatMessageUser(content=text)])
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        cands = candidate_ids(tok, prompt, ids, words)
        requests.append(CandidateRequest(tuple(ids), cands, RowSteering(steer) if steer else RowSteering()))
        expected.append([_brute_force(shared, ids, c, steer) for c in cands])
    assert len(requests[0].input_ids) != len(requests[1].input_ids)  # left padding is exercised
    got = score_candidates(shared, requests)
    for row_got, row_expected in zip(got, expected):
        assert row_got == pytest.approx(row_expected, abs=1e-4)
    unsteered = score_candidates(shared, [CandidateRequest(requests[1].input_ids, requests[1].candidates)])[0]
    assert max(abs(a - b) for a, b in zip(got[1], unsteered)) > 1e-2  # the steering reached the tree


def test_a_trait_eval_with_a_steer_grader_records_the_method_and_the_call(split_judge):
    from persona_evals.traits.task import trait_expression

    log = eval(
        trait_expression(trait="evil", instruction="none"),
        model=scripted_model(lambda m, c: "An answer."),
        model_roles={"grader": get_model(f"steer/{split_judge}", memoize=False, dtype="float32")},
        limit=2,
        display="none",
    )[0]
    assert log.status == "success", log.error
    for sample in log.samples:
        score = sample.scores["trait_score"]
        assert score.value["trait"] == pytest.approx(SPLIT_SCORE, abs=1e-3)
        assert score.metadata["method"] == "candidates" and "(candidates)" in score.explanation
        assert sample.scores["coherence_score"].metadata["method"] == "candidates"
        calls = [e for e in sample.events if e.event == "model" and e.role == "grader"]
        assert len(calls) == 2
        assert all(e.config.extra_body["candidates"][:3] == ["0", "1", "2"] for e in calls)
        assert all("candidate_logprobs" in e.output.metadata for e in calls)


def test_the_word_boundary_mask_is_kept_per_live_tokenizer_only():
    """Keyed by the tokenizer itself (weakly): a freed tokenizer's mask is never handed to another."""
    import gc

    from persona_evals.steering import candidates

    class Tok:
        def __init__(self, words):
            self.words = words

        def __len__(self):
            return len(self.words)

        def batch_decode(self, ids):
            return [self.words[i[0]] for i in ids]

    first = Tok(["a", " b", ".", "1"])
    assert candidates.boundary_mask(first, 4).tolist() == [False, True, True, False]
    assert first in candidates._BOUNDARY
    del first
    gc.collect()
    second = Tok([".", "a", "b", " "])
    assert candidates.boundary_mask(second, 5).tolist() == [True, False, False, True, True]
