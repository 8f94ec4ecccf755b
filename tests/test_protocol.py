"""The provider-scorer-viz protocol (`persona_evals.protocol`): torch-free, validated, and what
the `steer` provider actually sends."""

import subprocess
import sys

import pytest

from persona_evals.protocol import (
    CANDIDATE_LOGPROBS,
    MONITOR,
    can_score_candidates,
    candidate_logprobs,
    candidate_request,
    monitor_name,
    monitor_readings,
    requested_candidates,
)


def test_the_protocol_imports_neither_torch_nor_inspect():
    code = "import sys, persona_evals.protocol; print(sorted(m for m in ('torch', 'inspect_ai') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_candidate_request_round_trips_and_bad_ones_are_refused():
    body = candidate_request(("85", "8", "REFUSAL"))
    assert requested_candidates(body) == ("85", "8", "REFUSAL")
    assert requested_candidates(None) is None and requested_candidates({"other": 1}) is None
    for bad in ([], ["8", ""], "85", ["8", 8]):
        with pytest.raises(ValueError, match="non-empty list of non-empty strings"):
            requested_candidates({"candidates": bad})
    with pytest.raises(ValueError, match="lists a candidate twice"):
        requested_candidates(candidate_request(["8", "8"]))


def test_only_a_provider_that_declares_it_scores_candidates():
    from persona_evals.steering.provider import SteerAPI

    class Declares:
        scores_candidates = True

    assert can_score_candidates(SteerAPI) and can_score_candidates(Declares())
    assert not can_score_candidates(object())


def test_readers_of_output_metadata():
    assert candidate_logprobs({CANDIDATE_LOGPROBS: {"8": -0.5, "9": None}}) == {"8": -0.5, "9": None}
    assert candidate_logprobs({}) is None and candidate_logprobs(None) is None
    reading = {"v@2": {"proj": 1.5, "prompt_last_proj": -0.25}}
    assert monitor_readings({MONITOR: reading}) == reading
    assert monitor_readings({"steering": "abc"}) == {} and monitor_readings(None) == {}


def test_monitor_names_name_the_key_unless_it_is_the_default():
    assert monitor_name("evil", "vector", 3) == "evil@3"
    assert monitor_name("evil", None, 3) == "evil@3"
    assert monitor_name("v", "response_avg", 2) == "v#response_avg@2"
