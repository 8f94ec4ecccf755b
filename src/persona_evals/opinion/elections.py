"""Ground truth for election items: state presidential results 2016, 2020 and 2024 (shipped CSV).

``data/us_president_by_state.csv`` is derived from ``shared/data/elections`` (MEDSL returns,
CC0; see that README for derivation and checks): per year and state (50 + DC) the Democratic
and Republican nominees' votes summed over all their ballot lines, the valid total, the
statewide winner, and the state's electoral votes (2010 apportionment for 2016 and 2020, 2020
apportionment for 2024; statewide winner-take-all, so Maine's and Nebraska's district votes
are not split).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from persona_evals.opinion.questions import ELECTION_YEARS


@dataclass(frozen=True)
class StateResult:
    year: int
    state: str
    name: str
    dem_candidate: str
    rep_candidate: str
    dem_votes: int
    rep_votes: int
    total_votes: int
    winner: str  # "DEM" | "REP"
    electoral_votes: int

    @property
    def rep_two_party_share(self) -> float:
        """R / (R + D): the quantity the two-party error compares."""
        return self.rep_votes / (self.rep_votes + self.dem_votes)


@cache
def _all() -> dict[int, dict[str, StateResult]]:
    path = resources.files("persona_evals.opinion") / "data" / "us_president_by_state.csv"
    out: dict[int, dict[str, StateResult]] = {}
    for r in csv.DictReader(path.read_text().splitlines()):
        res = StateResult(
            year=int(r["year"]), state=r["state_po"], name=r["state"], dem_candidate=r["dem_candidate"],
            rep_candidate=r["rep_candidate"], dem_votes=int(r["dem_votes"]), rep_votes=int(r["rep_votes"]),
            total_votes=int(r["total_votes"]), winner=r["winner"], electoral_votes=int(r["electoral_votes"]),
        )  # fmt: skip
        out.setdefault(res.year, {})[res.state] = res
    return out


def election_results(year: int) -> dict[str, StateResult]:
    """State results of `year` keyed by postal code; an unknown year raises with the valid ones."""
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValueError(f"year: expected one of {ELECTION_YEARS}, got {year!r}") from None
    if year not in ELECTION_YEARS:
        raise ValueError(f"year: no election results for {year}; expected one of {ELECTION_YEARS}")
    return _all()[year]
