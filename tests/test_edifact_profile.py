"""Load profiles read fast: the same segments, and the same values as parse_mscons + iter_readings."""

import io
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydifact import Parser, Segment
from pydifact.exceptions import MissingImplementationWarning

from edifact import EdifactContentError, Party, RawMessage, serialize_interchange
from edifact.mscons import (
    MsconsLocation,
    MsconsMessage,
    MsconsPosition,
    MsconsValue,
    iter_readings,
    mscons_interchange,
    parse_mscons,
)
from edifact.profile import CompactMessage, ProfileSeries, QuantityRun, leading_segments, read_profile
from edifact.stream import iter_interchange
from rules.calendar import day_start
from tests.conftest import samples_dir

SENDER, RECEIVER = "9900000000010", "9900000000003"
QUARTER, HOUR = timedelta(minutes=15), timedelta(hours=1)
DAY = date(2026, 1, 14)
CHUNK_SIZES = [1, 7, 1 << 20]
FIRST = 10
"""Index of the first QTY in a profile: the header has 10 segments."""
START = DAY_START = day_start(DAY, "strom")


# ---------------------------------------------------------------- writing profiles


def dtm(qualifier: str, moment: datetime, offset: int = 0) -> str:
    """DTM in format 303 with the local time of a UTC offset of ``offset`` hours."""
    sign = "?+" if offset >= 0 else "-"
    return f"DTM+{qualifier}:{moment + timedelta(hours=offset):%Y%m%d%H%M}{sign}{abs(offset):02d}:303"


def groups(
    start: datetime, count: int, *, step: timedelta = QUARTER, unit: str = "", quality: str = "220", offset: int = 0
) -> list[str]:
    """QTY + DTM+163 + DTM+164 for ``count`` consecutive periods; some values negative, some without decimals."""
    segments = []
    for i in range(count):
        value = f"{(i * 7919) % 100_000 / 1000:.3f}" if i % 5 else f"-{i}"
        segments += [
            f"QTY+{quality}:{value}" + (f":{unit}" if unit else ""),
            dtm("163", start + i * step, offset),
            dtm("164", start + (i + 1) * step, offset),
        ]
    return segments


def header(location: str = "51238696781", *, pid: str = "13025", after_loc: tuple[str, ...] = ()) -> list[str]:
    return [
        "BGM+7+DOC1+9",
        "DTM+137:202601150600?+00:303",
        f"RFF+Z13:{pid}",
        f"NAD+MS+{SENDER}::293",
        f"NAD+MR+{RECEIVER}::293",
        "UNS+D",
        "NAD+DP",
        f"LOC+172+{location}",
        *after_loc,
        "LIN+1",
        "PIA+5+1-1?:1.29.0:SRW",
    ]


def day_profile(day: date = DAY, **options: Any) -> list[str]:
    """A Strom day of quarter hours (92 or 100 on DST days)."""
    start, end = day_start(day, "strom"), day_start(day + timedelta(days=1), "strom")
    return header() + groups(start, (end - start) // QUARTER, **options)


def interchange(bodies: list[list[str]], separator: str = "'\n") -> bytes:
    """UNA, UNB, one UNH..UNT message per body, UNZ."""
    segments = [f"UNB+UNOC:3+{SENDER}:500+{RECEIVER}:500+260115:0600+IC1"]
    for number, body in enumerate(bodies, 1):
        segments += [f"UNH+M{number}+MSCONS:D:04B:UN:2.4c", *body, f"UNT+{len(body) + 2}+M{number}"]
    segments.append(f"UNZ+{len(bodies)}+IC1")
    return ("UNA:+.? '\n" + separator.join(segments) + separator).encode()


def built_by_mscons() -> bytes:
    """A profile as ``build_mscons`` writes it: unit, the location's Messperiode, one line per segment."""
    start = day_start(DAY, "strom")
    values = [
        MsconsValue(
            quantity=Decimal(f"{i}.125"),
            quality="220",
            unit="KWH",
            period_start=start + i * QUARTER,
            period_end=start + (i + 1) * QUARTER,
        )
        for i in range(96)
    ]
    message = MsconsMessage(
        association="2.4c",
        pruefidentifikator="13025",
        message_reference="P1",
        category="7",
        document_number="DOC-P1",
        document_date=datetime(2026, 1, 15, 6, tzinfo=UTC),
        sender=SENDER,
        receiver=RECEIVER,
        locations=[
            MsconsLocation(
                location_id="51238696781",
                period_start=start,
                period_end=start + 96 * QUARTER,
                positions=[MsconsPosition(line="1", obis="1-1:1.29.0", values=values)],
            )
        ],
    )
    party = Party(id=SENDER, qualifier="500")
    return serialize_interchange(
        mscons_interchange(
            [message], sender=party, receiver=party, reference="IC2", prepared_at=datetime(2026, 1, 15, tzinfo=UTC)
        )
    )


# ---------------------------------------------------------------- checks


def messages(data: bytes, chunk_size: int = 1 << 20, *, compact: bool = True) -> list[RawMessage]:
    return [
        item for item in iter_interchange(io.BytesIO(data), chunk_size, compact=compact) if isinstance(item, RawMessage)
    ]


def fast_and_slow(data: bytes, chunk_size: int = 1 << 20) -> list[tuple[RawMessage, RawMessage]]:
    """Each message read with runs and segment by segment; their segments and positions are the same."""
    fast, slow = messages(data, chunk_size), messages(data, chunk_size, compact=False)
    assert not any(isinstance(message, CompactMessage) for message in slow)
    pairs = list(zip(fast, slow, strict=True))
    for compact, plain in pairs:
        assert compact.segments == plain.segments
        assert compact == plain and compact.position == plain.position
        assert compact.model_dump() == plain.model_dump()
    return list(zip(messages(data, chunk_size), slow, strict=True))  # fresh ones: segments not built yet


def assert_same_series(series: ProfileSeries, slow: RawMessage) -> None:
    """The series holds what parse_mscons + iter_readings read from the message, value by value."""
    message = parse_mscons(slow)
    readings = list(iter_readings(message))
    interval = timedelta(minutes=series.interval_minutes)
    assert [Decimal(value) for value in series.values] == [reading.quantity for reading in readings]
    assert series.qualities == [reading.quality for reading in readings]
    periods = [(series.start + i * interval, series.start + (i + 1) * interval) for i in range(len(readings))]
    assert periods == [(reading.period_start, reading.at) for reading in readings]
    assert series.end == readings[-1].at
    assert {(r.location_id, r.meter_number, r.obis, r.unit, r.statuses) for r in readings} == {
        (series.location_id, None, series.obis, series.unit, "")
    }
    assert series.model_dump(include=set(HEADER_FIELDS)) == message.model_dump(include=set(HEADER_FIELDS))


HEADER_FIELDS = (
    "pruefidentifikator",
    "message_reference",
    "document_number",
    "sender",
    "receiver",
    "sender_code_list",
    "receiver_code_list",
)


def outcome(message: RawMessage) -> MsconsMessage | str:
    try:
        return parse_mscons(message)
    except EdifactContentError as error:
        return str(error)


# ---------------------------------------------------------------- regular profiles: the fast path


REGULAR: dict[str, Callable[[], bytes]] = {
    "quarter-hours": lambda: interchange([day_profile(), day_profile(DAY + timedelta(days=1))]),
    "with-unit": lambda: interchange([day_profile(unit="KWH")]),
    "substitute-values-without-statuses": lambda: interchange([day_profile(quality="67")]),
    "dst-spring-92": lambda: interchange([day_profile(date(2026, 3, 29))]),
    "dst-autumn-100": lambda: interchange([day_profile(date(2026, 10, 25))]),
    "local-offset": lambda: interchange([day_profile(offset=1)]),
    "negative-offset": lambda: interchange([day_profile(offset=-1)]),
    "gas-hours": lambda: interchange([header(pid="13008") + groups(day_start(DAY, "gas"), 24, step=HOUR, unit="MTQ")]),
    "one-value": lambda: interchange([header(pid="13019") + groups(datetime(2025, 12, 31, 23, tzinfo=UTC), 1)]),
    "one-line": lambda: interchange([day_profile()], separator="'"),
    "crlf": lambda: interchange([day_profile()], separator="'\r\n"),
    "whitespace": lambda: interchange([day_profile()], separator="' \t\r\n\n"),
    "messperiode": lambda: interchange(
        [header(after_loc=(dtm("163", day_start(DAY, "strom")),)) + day_profile()[FIRST:]]
    ),
    "built-by-mscons": built_by_mscons,
}


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", REGULAR)
def test_regular_profile_gives_the_series_of_parse_mscons(name: str, chunk_size: int) -> None:
    for fast, slow in fast_and_slow(REGULAR[name](), chunk_size):
        series = read_profile(fast)
        assert series is not None
        assert "segments" not in fast.__dict__  # read without building the segments
        assert_same_series(series, slow)


def test_many_profiles_across_windows() -> None:
    """Some 3 MB: runs cross every window edge of the reader at some point of a group."""
    bodies = [header(location=f"5123869{i:04d}") + day_profile(DAY + timedelta(days=i))[FIRST:] for i in range(400)]
    pairs = fast_and_slow(interchange(bodies))
    for fast, slow in pairs:
        assert isinstance(fast, CompactMessage) and sum(isinstance(item, QuantityRun) for item in fast.body) == 1
        series = read_profile(fast)
        assert series is not None
        assert_same_series(series, slow)


def test_series_values() -> None:
    [(fast, _)] = fast_and_slow(interchange([day_profile(unit="KWH")]))
    series = read_profile(fast)
    assert series is not None
    assert (series.location_id, series.obis, series.unit, series.pruefidentifikator) == (
        "51238696781",
        "1-1:1.29.0",
        "KWH",
        "13025",
    )
    assert (series.start, series.end, series.interval_minutes) == (
        datetime(2026, 1, 13, 23, tzinfo=UTC),
        datetime(2026, 1, 14, 23, tzinfo=UTC),
        15,
    )
    assert series.values[:3] == ["-0", "7.919", "15.838"] and series.qualities == ["220"] * 96


# ---------------------------------------------------------------- other forms: parse_mscons reads them


def replace(body: list[str], index: int, segment: str) -> list[str]:
    return [*body[:index], segment, *body[index + 1 :]]


PROFILE = day_profile()

IRREGULAR: dict[str, list[str]] = {
    "gap": PROFILE[: FIRST + 30] + PROFILE[FIRST + 33 :],
    "longer-period": replace(PROFILE, FIRST + 2, dtm("164", START + 2 * QUARTER))[: FIRST + 3]
    + groups(START + 2 * QUARTER, 94),
    "invalid-date": replace(
        replace(PROFILE, FIRST + 5, "DTM+164:202601140099?+00:303"), FIRST + 7, "DTM+163:202601140099?+00:303"
    ),
    "offset-changes": PROFILE[: FIRST + 150] + groups(START + 50 * QUARTER, 46, offset=1),
    "mixed-units": PROFILE[: FIRST + 3] + groups(START + QUARTER, 95, unit="KWH"),
    "status": [*PROFILE[: FIRST + 3], "STS+Z32++Z88", *PROFILE[FIRST + 3 :]],
    "meter-number": header(after_loc=("RFF+MG:1ESY1234567",)) + PROFILE[FIRST:],
    "two-positions": [*PROFILE, "LIN+2", "PIA+5+1-1?:2.29.0:SRW", *groups(START, 96)],
    "two-locations": [*PROFILE, "LOC+172+51238696782", "LIN+1", "PIA+5+1-1?:1.29.0:SRW", *groups(START, 96)],
    "header-not-mscons": [*PROFILE[:5], "FTX+ACB+++x", *PROFILE[5:]],
    "no-position": header()[:8] + PROFILE[FIRST:],
    "decimal-comma": replace(PROFILE, FIRST, "QTY+220:1,5"),
    "four-decimals": replace(PROFILE, FIRST + 3, "QTY+220:1.2345"),
    "period-ends-before-start": replace(PROFILE, FIRST + 2, dtm("164", START - QUARTER)),
    "date-format-203": replace(PROFILE, FIRST + 1, f"DTM+163:{START:%Y%m%d%H%M}:203"),
    "released-terminator-before-run": [*PROFILE[:FIRST], "FTX+ACB+++x?'" + PROFILE[FIRST], *PROFILE[FIRST + 1 :]],
}


@pytest.mark.parametrize("chunk_size", [7, 1 << 20])
@pytest.mark.parametrize("name", IRREGULAR)
def test_other_forms_are_left_to_parse_mscons(name: str, chunk_size: int) -> None:
    [(fast, slow)] = fast_and_slow(interchange([IRREGULAR[name]]), chunk_size)
    assert read_profile(fast) is None
    assert outcome(fast) == outcome(slow)


def test_messages_built_in_code_are_left_to_parse_mscons() -> None:
    [(_, slow)] = fast_and_slow(interchange([day_profile()]))
    assert read_profile(slow) is None


# ---------------------------------------------------------------- shared samples


def mscons_samples() -> list[Any]:
    try:
        folder = samples_dir()
    except pytest.skip.Exception as missing:
        return [pytest.param(None, marks=pytest.mark.skip(reason=str(missing)))]
    return [pytest.param(path, id=path.stem) for path in sorted(folder.glob("13*_MSCONS_*.edi"))]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("path", mscons_samples())
def test_every_shared_sample_reads_the_same(path: Path, chunk_size: int) -> None:
    data = path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")
    for fast, slow in fast_and_slow(data, chunk_size):
        series = read_profile(fast)
        if series is not None:
            assert_same_series(series, slow)
        assert outcome(fast) == outcome(slow)


def test_shared_energy_quantities_are_read_as_series() -> None:
    """13009/13019 hold one value with its own period: a series of one; the profiles of 13025 have two positions."""
    read = {
        path.name.split("_")[0]
        for path in samples_dir().glob("13*_MSCONS_*.edi")
        for fast, _ in fast_and_slow(path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200"))
        if read_profile(fast) is not None
    }
    assert read == {"13009", "13019"}


# ---------------------------------------------------------------- segments


def test_segments_are_those_of_pydifact() -> None:
    data = interchange([day_profile(unit="KWH", offset=-1), IRREGULAR["status"]], separator="'\r\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingImplementationWarning)
        segments = [segment for segment in Parser().parse(data.decode()) if segment.tag not in ("UNA", "UNB", "UNZ")]
    bodies: list[list[Segment]] = []
    body: list[Segment] = []
    for segment in segments:
        if segment.tag == "UNT":
            bodies.append(body[1:])
            body = []
        else:
            body.append(segment)
    assert [message.segments for message in messages(data)] == bodies


def test_run_starts_only_at_a_segment_start() -> None:
    """After a released terminator the segment goes on, even where the text looks like the start of a group."""
    body = [*PROFILE[:FIRST], "FTX+ACB+++x?'" + PROFILE[FIRST], *PROFILE[FIRST + 1 :]]
    [(fast, _)] = fast_and_slow(interchange([body]))
    assert fast.segments[FIRST].elements == ["ACB", "", "", "x'QTY", ["220", "-0"]]
    assert [segment.tag for segment in fast.segments[FIRST + 1 : FIRST + 4]] == ["DTM", "DTM", "QTY"]


def test_leading_segments_do_not_build_the_rest() -> None:
    [(fast, slow)] = fast_and_slow(interchange([day_profile()]))
    assert leading_segments(fast, 14) == slow.segments[:14]
    assert "segments" not in fast.__dict__
    assert leading_segments(slow, 3) == slow.segments[:3]


def test_other_service_characters_are_read_segment_by_segment() -> None:
    data = interchange([day_profile()]).replace(b"UNA:+.? '", b"UNA:+,? '")
    [(fast, _)] = fast_and_slow(data)
    assert not isinstance(fast, CompactMessage) and read_profile(fast) is None
