"""Comparing the master data a grid operator sends for a MaLo (UTILMD 556xx) with ours. Pure."""

from dataclasses import dataclass

GRID_MASTER_DATA = frozenset({"55615", "55616", "55617", "55618", "55619", "55620"})
"""Stammdaten NB → LF (REFERENCE 2.1): changes of the MaLo, MeLo and their data."""


@dataclass(frozen=True)
class LocationData:
    grid_operator: str
    street: str
    house_number: str
    postcode: str
    city: str
    melo_ids: frozenset[str]


def _norm(value: str) -> str:
    return " ".join(value.lower().replace("straße", "str.").replace("strasse", "str.").split())


def differences(theirs: LocationData, ours: LocationData) -> list[dict[str, str]]:
    """What differs in a way that matters for billing: the grid operator, the address printed on bills, and the
    MeLos readings arrive for. Fields the grid operator leaves empty are not compared; spelling variants of
    "Straße" are the same."""
    found = []
    for name in ("grid_operator", "street", "house_number", "postcode", "city"):
        their, our = getattr(theirs, name), getattr(ours, name)
        if their and _norm(their) != _norm(our):
            found.append({"field": name, "theirs": their, "ours": our})
    if theirs.melo_ids and theirs.melo_ids != ours.melo_ids:
        found.append(
            {
                "field": "melo_ids",
                "theirs": ", ".join(sorted(theirs.melo_ids)),
                "ours": ", ".join(sorted(ours.melo_ids)),
            }
        )
    return found
