"""Generates a large MSCONS interchange of 15-minute load profiles (13025), as a metering operator sends them."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rules.calendar import day_start

QUARTER = timedelta(minutes=15)


def _segments(sender: str, receiver: str, malo: str, day: date, number: int, seed: int) -> Iterator[str]:
    reference = f"M{number:09d}"
    start = day_start(day, "strom")
    end = day_start(day + timedelta(days=1), "strom")
    yield f"UNH+{reference}+MSCONS:D:04B:UN:2.4c"
    yield f"BGM+7+D{number:09d}+9"
    yield f"DTM+137:{datetime.now(UTC):%Y%m%d%H%M}?+00:303"
    yield "RFF+Z13:13025"
    yield f"NAD+MS+{sender}::293"
    yield f"NAD+MR+{receiver}::293"
    yield "UNS+D"
    yield "NAD+DP"
    yield f"LOC+172+{malo}"
    yield f"DTM+163:{start:%Y%m%d%H%M}?+00:303"
    yield f"DTM+164:{end:%Y%m%d%H%M}?+00:303"
    yield "LIN+1"
    yield "PIA+5+1-1?:1.29.0:SRW"
    moment, index = start, 0
    while moment < end:
        following = moment + QUARTER
        value = ((seed * 7919 + index * 104729) % 250000) / 1000
        yield f"QTY+220:{value:.3f}"
        yield f"DTM+163:{moment:%Y%m%d%H%M}?+00:303"
        yield f"DTM+164:{following:%Y%m%d%H%M}?+00:303"
        moment, index = following, index + 1


def write_profile_file(path: Path, *, sender: str, receiver: str, malos: list[str], days: list[date]) -> int:
    """One message per MaLo and day; returns the number of values written."""
    values = 0
    number = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("UNA:+.? '\n")
        out.write(f"UNB+UNOC:3+{sender}:500+{receiver}:500+{datetime.now(UTC):%y%m%d:%H%M}+BENCH{len(days):06d}'\n")
        for day in days:
            for malo in malos:
                number += 1
                segments = list(_segments(sender, receiver, malo, day, number, number))
                values += sum(1 for s in segments if s.startswith("QTY"))
                out.write("'\n".join(segments))
                out.write(f"'\nUNT+{len(segments) + 1}+M{number:09d}'\n")
        out.write(f"UNZ+{number}+BENCH{len(days):06d}'\n")
    return values
