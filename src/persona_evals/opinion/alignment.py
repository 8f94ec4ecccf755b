"""Alignment of simulated answer distributions with ground truth.

- Elections: per state the Republican two-party share ``R / (R + D)`` of valid answers against
  the real one; its error, the signed bias (negative = too Democratic), whether the winner agrees,
  states won and electoral votes, and national two-party shares weighted by adult population
  (ACS 18+) or by turnout (valid votes) against the real national share of the same states.
- Survey items: ``1 - W1(p_sim, p_real) / (max ordinal - min ordinal)`` for ordinal items (refusal
  options dropped, shares renormalised; with two options it is ``1 - |p_sim(A) - p_real(A)|``),
  and ``1 - total variation distance`` for nominal items (our choice; the paper used W1 only).

Invalid answers never enter a share. A question whose
answers in one scope are all refusals has no alignment there: `AlignmentError` says so, and the
report records it for that question and scope instead of stopping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from persona_evals.opinion.elections import election_results
from persona_evals.stats.intervals import wilson_interval


class AlignmentError(ValueError):
    """Alignment is undefined for one question in one scope (no mass left after dropping refusals)."""


@dataclass
class Tally:
    """Answers of one state to one question: original option key -> count, plus invalid ones."""

    counts: Counter = field(default_factory=Counter)
    invalid: int = 0

    @property
    def n_valid(self) -> int:
        return sum(self.counts.values())

    def shares(self, keys: list[str] | None = None) -> dict[str, float]:
        keys = keys or sorted(self.counts)
        total = sum(self.counts[k] for k in keys)
        return {k: (self.counts[k] / total if total else 0.0) for k in keys}


def _renormalise(p: Mapping[str, float], keys: list[str]) -> dict[str, float]:
    total = sum(p.get(k, 0.0) for k in keys)
    if total <= 0:
        raise AlignmentError(f"distribution has no mass on options {keys}")
    return {k: p.get(k, 0.0) / total for k in keys}


def ordinal_alignment(
    p_sim: Mapping[str, float], p_real: Mapping[str, float], ordinals: Mapping[str, float]
) -> float:
    """``1 - W1 / range`` over the options in `ordinals` (others, e.g. refusals, are dropped).

    Example:
        >>> ordinal_alignment({"A": 1.0}, {"B": 1.0}, {"A": 1, "B": 2, "C": 3})
        0.5
    """
    keys = sorted(ordinals, key=lambda k: ordinals[k])
    span = ordinals[keys[-1]] - ordinals[keys[0]]
    if span <= 0:
        raise ValueError("ordinal values must span a positive range")
    ps, pr = _renormalise(p_sim, keys), _renormalise(p_real, keys)
    w1, cdf_s, cdf_r = 0.0, 0.0, 0.0
    for k, nxt in zip(keys, keys[1:]):
        cdf_s += ps[k]
        cdf_r += pr[k]
        w1 += abs(cdf_s - cdf_r) * (ordinals[nxt] - ordinals[k])
    return 1.0 - w1 / span


def nominal_alignment(p_sim: Mapping[str, float], p_real: Mapping[str, float], keys: list[str]) -> float:
    """``1 - TV(p_sim, p_real)`` over `keys`, both renormalised."""
    ps, pr = _renormalise(p_sim, keys), _renormalise(p_real, keys)
    return 1.0 - 0.5 * sum(abs(ps[k] - pr[k]) for k in keys)


def question_alignment(
    options: Mapping[str, Mapping[str, Any]],
    scale: str,
    p_sim: Mapping[str, float],
    p_real: Mapping[str, float],
) -> float:
    """Alignment for one question, from its options' metadata (``ordinal``, ``refusal``).

    Raises:
        AlignmentError: when either side puts no mass on the non-refusal options.
    """
    keys = [k for k, o in options.items() if not o.get("refusal")]
    refusals = [k for k in options if k not in keys]
    for side, p in (("simulated answers", p_sim), ("ground truth", p_real)):
        mass = sum(p.get(k, 0.0) for k in keys)
        if mass != mass:  # nan: no valid answer at all
            raise AlignmentError(f"no valid {side}")
        if mass <= 0:
            raise AlignmentError(f"{side}: every valid answer is a refusal option ({', '.join(refusals) or '-'})")
    if scale == "ordinal":
        return ordinal_alignment(p_sim, p_real, {k: float(options[k]["ordinal"]) for k in keys})
    return nominal_alignment(p_sim, p_real, keys)


def weighted_mean(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights[s] for s in values)
    return sum(values[s] * weights[s] for s in values) / total


def election_alignment(
    tallies: Mapping[str, Tally], parties: Mapping[str, str | None], year: int, adults: Mapping[str, float]
) -> dict[str, Any]:
    """Per-state rows and a summary for one election item.

    Args:
        tallies: state -> answers (original option keys).
        parties: option key -> ``"DEM"`` / ``"REP"`` / other.
        year: election year (2016, 2020 or 2024).
        adults: state -> 18+ population (weights for the national figure).
    """
    truth = election_results(year)
    rep = [k for k, p in parties.items() if p == "REP"]
    dem = [k for k, p in parties.items() if p == "DEM"]
    rows, skipped = [], []
    for state, tally in sorted(tallies.items()):
        r, d = sum(tally.counts[k] for k in rep), sum(tally.counts[k] for k in dem)
        if state not in truth:
            raise ValueError(f"no {year} result for state {state!r}")
        real = truth[state]
        if r + d == 0:
            skipped.append(state)
            continue
        sim_share = r / (r + d)
        sim_winner = "REP" if sim_share > 0.5 else "DEM" if sim_share < 0.5 else "TIE"
        rows.append(
            {
                "state": state, "n_valid": tally.n_valid, "n_invalid": tally.invalid, "n_two_party": r + d,
                "sim_rep_share": sim_share, "sim_rep_share_ci95": wilson_interval(r, r + d),
                "real_rep_share": real.rep_two_party_share,
                "error": sim_share - real.rep_two_party_share,
                "sim_margin": 2 * sim_share - 1, "real_margin": 2 * real.rep_two_party_share - 1,
                "sim_winner": sim_winner, "real_winner": real.winner, "agree": sim_winner == real.winner,
                "electoral_votes": real.electoral_votes,
            }
        )  # fmt: skip
    summary: dict[str, Any] = {"year": year, "n_states": len(rows), "states_without_answers": skipped}
    n_valid = sum(t.n_valid for t in tallies.values())
    n_all = n_valid + sum(t.invalid for t in tallies.values())
    summary["invalid_rate"] = (n_all - n_valid) / n_all if n_all else float("nan")
    if not rows:
        return {"summary": summary, "states": rows}
    covered = [row["state"] for row in rows]
    sim = {row["state"]: row["sim_rep_share"] for row in rows}
    turnout = {s: float(truth[s].total_votes) for s in covered}
    real_r = sum(truth[s].rep_votes for s in covered)
    real_national = real_r / (real_r + sum(truth[s].dem_votes for s in covered))
    summary.update(
        {
            "mean_abs_error": sum(abs(row["error"]) for row in rows) / len(rows),
            "signed_bias": sum(row["error"] for row in rows) / len(rows),
            "winners_agree": sum(row["agree"] for row in rows),
            "sim_states_won": dict(Counter(row["sim_winner"] for row in rows)),
            "real_states_won": dict(Counter(row["real_winner"] for row in rows)),
            "sim_electoral_votes": _ev(rows, "sim_winner"),
            "real_electoral_votes": _ev(rows, "real_winner"),
            "national_real_rep_share": real_national,
            "national_sim_rep_share_population": weighted_mean(sim, {s: float(adults[s]) for s in covered}),
            "national_sim_rep_share_turnout": weighted_mean(sim, turnout),
        }
    )
    summary["national_error_population"] = summary["national_sim_rep_share_population"] - real_national
    summary["national_error_turnout"] = summary["national_sim_rep_share_turnout"] - real_national
    return {"summary": summary, "states": rows}


def _ev(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    """Electoral votes of the covered states by winner (winner-take-all; ties kept apart)."""
    out = {"REP": 0, "DEM": 0}
    for row in rows:
        out[row[key]] = out.get(row[key], 0) + row["electoral_votes"]
    return out
