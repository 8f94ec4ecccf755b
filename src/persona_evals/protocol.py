"""What travels between the `steer` provider, the scorers and viz: each name written once, here.

Two exchanges cross layers inside inspect's own objects, as plain dicts:

- **The candidate judge.** A scorer asks a model whose API `scores_candidates` to score fixed
  replies: ``GenerateConfig(extra_body=candidate_request([...]))``. The model answers with
  ``output.metadata[CANDIDATE_LOGPROBS]``: each reply's log probability (None for probability
  0). `persona_evals.steering.candidates` defines the probability; `scorers.logprob_judge` reads it.
- **The live monitor.** A model run with ``-M monitor=...`` records, per monitored vector,
  ``output.metadata[MONITOR][name]`` = a `MonitorReading` (`PROJ`, `PROMPT_LAST_PROJ`); the
  `projection` scorer reports the same two keys as its score, and viz reads them as columns.

This module is torch-free and inspect-free, so either side (and another engine) can import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict

CANDIDATES: Final = "candidates"
"""``extra_body`` key of a candidate-judge request: the replies to score."""

CANDIDATE_LOGPROBS: Final = "candidate_logprobs"
"""``output.metadata`` key of the answer: {reply: log P(reply) or None}."""

SCORES_CANDIDATES: Final = "scores_candidates"
"""The `ModelAPI` attribute (True) of a provider that answers candidate requests."""

MONITOR: Final = "monitor"
"""``output.metadata`` key of the live monitor's readings: {monitor name: `MonitorReading`}."""

PROJ: Final = "proj"
"""Mean projection of the response activations on the unit vector (a·v/‖v‖)."""

PROMPT_LAST_PROJ: Final = "prompt_last_proj"
"""Projection of the last prompt token's activation on the unit vector."""

CandidateLogprobs = dict[str, float | None]


class MonitorReading(TypedDict):
    """One monitor's reading of one reply (`PROJ` is None when the reply has no tokens)."""

    proj: float | None
    prompt_last_proj: float


MonitorReadings = dict[str, MonitorReading]


def candidate_request(candidates: Sequence[str]) -> dict[str, Any]:
    """The ``extra_body`` that asks a candidate-scoring model for log P(reply) of each candidate."""
    return {CANDIDATES: list(candidates)}


def requested_candidates(extra_body: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The candidates a generate call's ``extra_body`` asks to score, or None for an ordinary one.

    Raises ValueError for a request that is not a non-empty list of distinct non-empty strings.
    """
    body = extra_body or {}
    if CANDIDATES not in body:
        return None
    value = body[CANDIDATES]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(s, str) and s for s in value):
        raise ValueError(f"extra_body[{CANDIDATES!r}] must be a non-empty list of non-empty strings, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"extra_body[{CANDIDATES!r}] lists a candidate twice")
    return tuple(value)


def can_score_candidates(api: object) -> bool:
    """Whether a model API answers candidate requests (its `SCORES_CANDIDATES` attribute is True)."""
    return getattr(api, SCORES_CANDIDATES, False) is True


def candidate_logprobs(metadata: Mapping[str, Any] | None) -> CandidateLogprobs | None:
    """The scored candidates of an output's metadata, or None when the model sent none."""
    scored = (metadata or {}).get(CANDIDATE_LOGPROBS)
    return scored if isinstance(scored, dict) else None


def monitor_name(stem: str, key: str | None, layer: int) -> str:
    """A monitor's name in the readings: ``<file stem>[#<key>]@<layer>`` (no key for ``vector``)."""
    return f"{stem}{'' if key in (None, 'vector') else '#' + key}@{layer}"


def monitor_readings(metadata: Mapping[str, Any] | None) -> MonitorReadings:
    """The monitor readings of an output's metadata ({} when the model ran without a monitor)."""
    return dict((metadata or {}).get(MONITOR) or {})
