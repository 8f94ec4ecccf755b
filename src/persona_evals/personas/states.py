"""US state postal codes and names (50 states + DC), and the check every state argument goes through."""

from __future__ import annotations

STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip


def normalize_states(
    states: str | list[str] | tuple[str, ...], valid: list[str], arg: str = "states"
) -> list[str]:
    """Upper-cased postal codes, checked against `valid`; ``all`` means every valid state.

    Accepts a comma-separated string or a list (``-T states=[NY,WY]`` arrives as a list).

    Raises:
        ValueError: naming the argument, the unknown codes and the valid ones.
    """
    items = states.split(",") if isinstance(states, str) else [str(s) for s in states]
    codes = [s.strip().upper() for s in items if s.strip()]
    if codes == ["ALL"]:
        return list(valid)
    if not codes:
        raise ValueError(f"{arg}: no state given; expected postal codes from {', '.join(valid)} or 'all'")
    unknown = [c for c in codes if c not in valid]
    if unknown:
        raise ValueError(
            f"{arg}: unknown state code(s) {', '.join(unknown)}; expected postal codes from "
            f"{', '.join(valid)} (or 'all')"
        )
    return list(dict.fromkeys(codes))
