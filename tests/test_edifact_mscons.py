"""Typed MSCONS messages: shared samples, own fixtures, load profiles, malformed input, flat reading rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from pydifact import Segment

from edifact.envelope import Party, RawMessage, parse_interchange, serialize_interchange
from edifact.errors import EdifactContentError
from edifact.mscons import (
    MsconsLocation,
    MsconsMessage,
    MsconsPosition,
    MsconsStatus,
    MsconsValue,
    ReadingRow,
    build_mscons,
    iter_readings,
    mscons_interchange,
    parse_mscons,
)
from tests.conftest import SAMPLES, samples_dir

FIXTURES = Path(__file__).parent / "fixtures" / "edifact" / "mscons"
BERLIN = ZoneInfo("Europe/Berlin")
QUARTER = timedelta(minutes=15)
MSB = Party(id="9900000000029", qualifier="500")
LF = Party(id="9900000000003", qualifier="500")
MELO = "DE0001234567890000000000004711081"
MALO = "51234567895"

#: Sample JSON (BO4E) names -> EDIFACT codes, as the shared sample pairs use them.
QUALITY = {
    "ABGELESEN": "220",
    "ERSATZWERT": "67",
    "VOLAEUFIGERWERT": "Z18",
    "ANGABE_FUER_LIEFERSCHEIN": "Z31",
    "ENERGIEMENGESUMMIERT": "79",
    "PROGNOSEWERT": "187",
}
STATUS_CATEGORY = {
    "PLAUSIBILISIERUNGSHINWEIS": "Z33",
    "ERSATZWERTBILDUNGSVERFAHREN": "Z32",
    "GRUND_ERSATZWERTBILDUNGSVERFAHREN": "Z40",
    "KORREKTURGRUND": "Z34",
}
STATUS_CODE = {
    "KUNDENSELBSTABLESUNG": "Z83",
    "PLAUSIBEL_WG_KONTROLLABLESUNG": "Z86",
    "RECHENWERT": "ZR5",
    "INTERPOLATION": "Z92",
    "HISTORISCHE_MESSWERTE": "Z95",
    "KEIN_ZUGANG": "Z74",
    "AENDERUNG_DER_BERECHNUNG": "ZA5",
    "UNSICHERHEIT_MESSUNG": "Z82",
    "KALIBRIERUNG": "Z79",
}
CODE_LIST = {"BDEW": "293", "DVGW": "332", "GLN": "9"}


# ---------------------------------------------------------------- helpers


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def strom_day(day: date) -> datetime:
    """Start of a Strom delivery day (00:00 German time) in UTC."""
    return datetime.combine(day, clock(0), BERLIN).astimezone(UTC)


def read_sample(path: Path) -> bytes:
    return path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


def single_message(data: bytes | str) -> RawMessage:
    interchange = parse_interchange(data)
    assert len(interchange.messages) == 1
    return interchange.messages[0]


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def line_of(text: str, prefix: str) -> int:
    """1-based line number of the first line starting with ``prefix`` (one segment per line)."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(prefix))


def without_line(text: str, prefix: str) -> str:
    """Drop the first segment starting with ``prefix`` and correct the UNT segment count."""
    lines = text.splitlines(keepends=True)
    del lines[line_of(text, prefix) - 1]
    return re.sub(r"UNT\+(\d+)\+", lambda m: f"UNT+{int(m[1]) - 1}+", "".join(lines))


def roundtrip(message: MsconsMessage) -> tuple[bytes, MsconsMessage]:
    interchange = mscons_interchange(
        [message], sender=MSB, receiver=LF, reference="ICMS1", prepared_at=datetime(2025, 10, 1, 12, tzinfo=UTC)
    )
    data = serialize_interchange(interchange)
    return data, parse_mscons(single_message(data))


def assert_rebuilds(raw: RawMessage) -> MsconsMessage:
    """Parsing keeps everything but contact details: the rebuilt segments equal the originals."""
    message = parse_mscons(raw)
    kept = [segment for segment in raw.segments if segment.tag not in ("CTA", "COM")]
    assert build_mscons(message).segments == kept
    assert roundtrip(message)[1] == message
    return message


def flat_values(message: MsconsMessage) -> list[dict[str, Any]]:
    """Every value with its position and, for values without own dates, the location's period."""
    flat = []
    for location in message.locations:
        for position in location.positions:
            for value in position.values:
                own_period = value.period_start is not None or value.period_end is not None
                flat.append(
                    {
                        "position": int(position.line),
                        "obis": position.obis,
                        "value": value,
                        "start": value.period_start if own_period else location.period_start,
                        "end": value.period_end if own_period else location.period_end,
                    }
                )
    return flat


def profile_message(day: date, *, pid: str = "13025") -> MsconsMessage:
    """A 15-minute Lastgang of one German delivery day; every 10th value is an Ersatzwert."""
    start, end = strom_day(day), strom_day(day + timedelta(days=1))
    values = []
    for i in range((end - start) // QUARTER):
        substitute = i % 10 == 9
        values.append(
            MsconsValue(
                quantity=Decimal(i) / 4 + Decimal("0.125"),
                quality="67" if substitute else "220",
                period_start=start + i * QUARTER,
                period_end=start + (i + 1) * QUARTER,
                statuses=[MsconsStatus(category="Z32", code="Z88"), MsconsStatus(category="Z40", code="Z75")]
                if substitute
                else [],
            )
        )
    return MsconsMessage(
        association="2.4c",
        pruefidentifikator=pid,
        message_reference="LG1",
        category="7",
        document_number="LG-DOC-1",
        document_date=datetime(2025, 10, 28, 6, 30, tzinfo=UTC),
        sender=MSB.id,
        receiver=LF.id,
        locations=[
            MsconsLocation(
                location_id=MALO,
                period_start=start,
                period_end=end,
                positions=[MsconsPosition(line="1", obis="1-1:1.29.0", values=values)],
            )
        ],
    )


# ---------------------------------------------------------------- shared samples

SAMPLE_NAMES = sorted(path.name for path in SAMPLES.glob("13*_MSCONS_*.edi")) or ["(shared samples missing)"]


def check_against_json(message: MsconsMessage, document: dict[str, Any]) -> None:
    stammdaten, transaction = document["data"]["stammdaten"], document["data"]["transaktionsdaten"]
    assert message.pruefidentifikator == transaction["pruefidentifikator"]
    assert message.document_number == transaction["dokumentennummer"]
    assert message.category == transaction["kategorie"]
    assert message.message_function == transaction["nachrichtenfunktion"]
    assert message.message_reference == transaction["nachrichtenreferenznummer"]
    assert message.document_date == utc(transaction["nachrichtendatum"])
    assert message.sender == transaction["absender"]["rollencodenummer"]
    assert message.receiver == transaction["empfaenger"]["rollencodenummer"]
    assert message.sender_code_list == CODE_LIST[transaction["absender"]["rollencodetyp"]]
    assert message.receiver_code_list == CODE_LIST[transaction["empfaenger"]["rollencodetyp"]]
    assert message.request_reference == transaction.get("anfrageReferenz")
    assert message.previous_message_reference == transaction.get("vorgangsreferenznummer")

    by_id = {location.location_id: location for location in message.locations}
    meters = {location.meter_number for location in message.locations if location.meter_number}
    if meters:
        assert meters == {meter["zaehlernummer"] for meter in stammdaten.get("ZAEHLER", [])}
    for balancing in stammdaten.get("BILANZIERUNG", []):
        group = by_id[balancing["bilanzkreisAn"]]
        assert (group.qualifier, group.related_location_id) == ("237", balancing["bilanzkreisVon"])
        assert any(loc.time_series_type == balancing["zeitreihentyp"] for loc in message.locations)
    for malo in stammdaten.get("MARKTLOKATION", []):
        assert by_id[malo["bilanzierungsgebiet"]].qualifier == "107"

    expected: list[dict[str, Any]] = []
    for quantities in stammdaten.get("ENERGIEMENGE", []):
        if "lokationsId" in quantities:
            assert quantities["lokationsId"] in by_id
        if "konfiguration" in quantities:
            assert quantities["konfiguration"] in {loc.configuration_id for loc in message.locations}
        if "startdatum" in quantities:
            periods = {(loc.period_start, loc.period_end) for loc in message.locations}
            assert (utc(quantities["startdatum"]), utc(quantities["enddatum"])) in periods
        if "fertigstellungsdatum" in quantities:
            completed = {loc.completed_at for loc in message.locations}
            assert utc(quantities["fertigstellungsdatum"]) in completed
        expected += quantities["energieverbrauch"]

    actual = flat_values(message)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        value: MsconsValue = got["value"]
        assert got["position"] == want["position"]
        assert got["obis"] == want["obiskennzahl"]
        assert value.quantity == want["wert"]
        if want["messwertstatus"] in QUALITY:
            assert value.quality == QUALITY[want["messwertstatus"]]
        if "startdatum" in want:
            assert (got["start"], got["end"]) == (utc(want["startdatum"]), utc(want["enddatum"]))
        if "nutzungszeitpunkt" in want:
            assert value.used_at == utc(want["nutzungszeitpunkt"])
        if "ablesedatum" in want:
            assert value.reading_date == utc(want["ablesedatum"])
        if "leistungsperiode" in want:
            assert value.power_period == want["leistungsperiode"]
        statuses = want.get("statuszusatzinformationen", [])
        assert [s.category for s in value.statuses] == [STATUS_CATEGORY[s["art"]] for s in statuses]
        for got_status, want_status in zip(value.statuses, statuses, strict=True):
            if want_status["status"] in STATUS_CODE:
                assert got_status.code == STATUS_CODE[want_status["status"]]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_shared_sample_parses_matches_json_and_round_trips(name: str) -> None:
    path = samples_dir() / name
    message = assert_rebuilds(single_message(read_sample(path)))
    assert message.association == "2.4c"
    paired = path.with_suffix(".json")
    if paired.exists():
        document = json.loads(paired.read_text(encoding="utf-8"), parse_float=Decimal)
        check_against_json(message, document[0] if isinstance(document, list) else document)
    rows = list(iter_readings(message))
    assert len(rows) == len(flat_values(message))


def test_shared_load_profile_has_consecutive_quarter_hours() -> None:
    (path,) = samples_dir().glob("13025_MSCONS_*.edi")
    message = parse_mscons(single_message(read_sample(path)))
    (location,) = message.locations
    assert location.location_id == "51580175011"
    assert [p.obis for p in location.positions] == ["1-1:3.29.0", "1-1:1.29.0"]
    for position in location.positions:
        assert len(position.values) == 96
        periods = [(v.period_start, v.period_end) for v in position.values]
        assert all(end - start == QUARTER for start, end in periods if start and end)
        assert all(start and end for start, end in periods)
    assert (message.period_start, message.period_end) == (utc("2023-10-05T22:00Z"), utc("2023-10-06T22:00Z"))


# ---------------------------------------------------------------- own fixtures


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.edi")))
def test_fixture_rebuilds_segment_for_segment(name: str) -> None:
    assert_rebuilds(single_message(fixture(name)))


def test_strom_reading_with_kundenselbstablesung() -> None:
    message = parse_mscons(single_message(fixture("13017_zaehlerstand_kundenselbstablesung.edi")))
    assert (message.pruefidentifikator, message.category, message.message_function) == ("13017", "7", "9")
    assert (message.sender, message.receiver) == (MSB.id, LF.id)
    assert message.document_date == datetime(2025, 10, 2, 8, 15, tzinfo=UTC)
    (location,) = message.locations
    assert (location.location_id, location.meter_number) == (MELO, "1ESY1160123456")
    assert [p.obis for p in location.positions] == ["1-1:1.8.1", "1-1:1.8.2"]
    high = location.positions[0].values[0]
    assert high.quantity == Decimal("4711.2") and high.quality == "220"
    assert high.reading_date == datetime(2025, 9, 30, tzinfo=UTC)  # DTM+9 format 102: a day without time
    assert high.used_at == strom_day(date(2025, 10, 1))
    assert high.statuses == [MsconsStatus(category="Z33", code="Z83")]
    rows = list(iter_readings(message))
    assert rows == [
        ReadingRow(MELO, "1ESY1160123456", "1-1:1.8.1", Decimal("4711.2"), "220", None, high.used_at, None, "Z33:Z83"),
        ReadingRow(MELO, "1ESY1160123456", "1-1:1.8.2", Decimal("1022.85"), "220", None, high.used_at, None, "Z33:Z83"),
    ]


def test_dates_with_a_utc_offset_are_converted_to_utc() -> None:
    text = fixture(READING).replace("DTM+7:202509302200?+00:303'", "DTM+7:202510010000?+02:303'")
    message = parse_mscons(single_message(text))
    assert {v.used_at for p in message.locations[0].positions for v in p.values} == {strom_day(date(2025, 10, 1))}
    assert b"DTM+7:202509302200?+00:303'" in roundtrip(message)[0]


def test_gas_reading() -> None:
    message = parse_mscons(single_message(fixture("13002_zaehlerstand_gas.edi")))
    assert message.pruefidentifikator == "13002"
    assert (message.sender_code_list, message.receiver_code_list) == ("332", "332")
    assert message.request_reference == "ANF-2025-0815"
    (row,) = iter_readings(message)
    gas_day = datetime.combine(date(2025, 10, 1), clock(6), BERLIN).astimezone(UTC)
    assert row == ReadingRow(
        "DE0009870000000000000000000512345", "7GMT0012345678", "7-0:3.0.0", Decimal("8123.456"), "220", None,
        gas_day, None, "",
    )  # fmt: skip
    assert message.locations[0].positions[0].values[0].reading_date == gas_day


def test_ersatzwert_with_procedure_and_reason() -> None:
    message = parse_mscons(single_message(fixture("13017_ersatzwert.edi")))
    value = message.locations[0].positions[0].values[0]
    assert (value.quantity, value.quality, value.reading_date) == (Decimal(5920), "67", None)
    assert value.used_at == strom_day(date(2025, 11, 1))
    assert [(s.category, s.code) for s in value.statuses] == [("Z32", "Z88"), ("Z40", "Z74")]
    (row,) = iter_readings(message)
    assert row.statuses == "Z32:Z88,Z40:Z74"


def test_storno_references_the_cancelled_message() -> None:
    message = parse_mscons(single_message(fixture("13006_storno.edi")))
    assert (message.pruefidentifikator, message.message_function) == ("13006", "1")
    assert message.previous_message_reference == "MS17KSA01D"
    assert [(loc.location_id, loc.positions) for loc in message.locations] == [(MELO, [])]
    assert list(iter_readings(message)) == []


# ---------------------------------------------------------------- load profiles


@pytest.mark.parametrize(("day", "count"), [(date(2025, 3, 30), 92), (date(2025, 10, 26), 100)])
def test_dst_day_profile_round_trips(day: date, count: int) -> None:
    message = profile_message(day)
    data, parsed = roundtrip(message)
    assert parsed == message
    assert data.count(b"\nQTY+") == count
    assert b"PIA+5+1-1?:1.29.0:SRW'" in data
    assert (parsed.period_start, parsed.period_end) == (strom_day(day), strom_day(day + timedelta(days=1)))
    (position,) = parsed.locations[0].positions
    assert len(position.values) == count


@pytest.mark.parametrize(("day", "count"), [(date(2025, 3, 30), 92), (date(2025, 10, 26), 100)])
def test_iter_readings_yields_one_row_per_quarter_hour(day: date, count: int) -> None:
    _, parsed = roundtrip(profile_message(day))
    rows = list(iter_readings(parsed))
    start = strom_day(day)
    assert len(rows) == count
    assert [row.period_start for row in rows] == [start + i * QUARTER for i in range(count)]
    assert [row.at for row in rows] == [start + (i + 1) * QUARTER for i in range(count)]
    assert rows[-1].at == strom_day(day + timedelta(days=1))
    assert {row.location_id for row in rows} == {MALO} and {row.obis for row in rows} == {"1-1:1.29.0"}
    assert [row.quantity for row in rows[:2]] == [Decimal("0.125"), Decimal("0.375")]
    assert rows[9].quality == "67" and rows[9].statuses == "Z32:Z88,Z40:Z75"
    assert rows[8].quality == "220" and rows[8].statuses == ""


def test_values_without_own_dates_take_the_location_period() -> None:
    gas_day = datetime(2025, 10, 1, 4, tzinfo=UTC), datetime(2025, 10, 2, 4, tzinfo=UTC)
    message = profile_message(date(2025, 10, 1), pid="13008")
    calorific = MsconsValue(quantity=Decimal("0.9512"), quality="187")
    message.locations = [
        MsconsLocation(
            location_id=MALO,
            period_start=gas_day[0],
            period_end=gas_day[1],
            positions=[MsconsPosition(line="2", obis="7-0:52.0.22", values=[calorific])],
        )
    ]
    _, parsed = roundtrip(message)
    (row,) = iter_readings(parsed)
    assert (row.obis, row.quality, row.period_start, row.at) == ("7-0:52.0.22", "187", *gas_day)


def test_message_period_spans_all_locations() -> None:
    first, second = profile_message(date(2025, 10, 25)), profile_message(date(2025, 10, 26))
    both = first.model_copy(update={"locations": [*second.locations, *first.locations]})
    _, parsed = roundtrip(both)
    assert (parsed.period_start, parsed.period_end) == (strom_day(date(2025, 10, 25)), strom_day(date(2025, 10, 27)))
    assert len(list(iter_readings(parsed))) == 96 + 100


def test_unit_and_negative_quantity_round_trip() -> None:
    message = profile_message(date(2025, 6, 1))
    value = MsconsValue(quantity=Decimal("-12.5"), quality="220", unit="KWH", used_at=strom_day(date(2025, 6, 2)))
    message.locations[0].positions = [MsconsPosition(line="1", obis="1-1:2.8.0", values=[value])]
    data, parsed = roundtrip(message)
    assert b"QTY+220:-12.5:KWH'" in data
    assert parsed == message
    (row,) = iter_readings(parsed)
    assert (row.quantity, row.unit) == (Decimal("-12.5"), "KWH")


# ---------------------------------------------------------------- model rules


def test_naive_datetimes_and_unknown_pids_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        MsconsValue(quantity=Decimal(1), quality="220", used_at=datetime(2025, 1, 1))
    message = profile_message(date(2025, 1, 1))
    with pytest.raises(ValidationError, match="not an MSCONS"):
        MsconsMessage(**{**message.model_dump(), "pruefidentifikator": "55001"})


# ---------------------------------------------------------------- malformed input

READING = "13017_zaehlerstand_kundenselbstablesung.edi"


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        ("QTY+220:4711.2'", "QTY+220:47x11.2'", "is not a number"),
        ("QTY+220:4711.2'", "QTY+220:1E5'", "is not a number"),
        ("QTY+220:4711.2'", "QTY+220'", "is not a number"),
        ("DTM+7:202509302200?+00:303'", "DTM+7:2025093022?+00:303'", "does not match format 303"),
        ("DTM+7:202509302200?+00:303'", "DTM+7:202513302200?+00:303'", "is not a valid date"),
        ("DTM+7:202509302200?+00:303'", "DTM+7:202509302200?+00:999'", "format '999' is not supported"),
        ("DTM+9:20250930:102'", "DTM+9:2025-09-30:102'", "does not match format 102"),
        ("DTM+137:202510020815?+00:303'", "DTM+137:20251002081?+00:303'", "does not match format 303"),
        ("DTM+7:202509302200?+00:303'", "DTM+8:202509302200?+00:303'", "DTM+8 is not supported"),
        ("STS+Z33++Z83'", "STS+Z33'", "status category or code is missing"),
        ("PIA+5+1-1?:1.8.1:SRW'", "PIA+5+4711:Z01'", "only PIA+5 with an OBIS code"),
        ("RFF+MG:1ESY1160123456'", "RFF+ZZZ:1ESY1160123456'", "RFF+ZZZ is not supported"),
        ("RFF+Z13:13017'", "RFF+Z13:55001'", "is not an MSCONS Prüfidentifikator"),
        ("UNS+D'", "UNS+S'", "UNS+S is not supported"),
        ("NAD+DP'", "IMD+DP'", "IMD is not expected in the detail section"),
    ],
)
def test_bad_content_names_segment_and_position(old: str, new: str, detail: str) -> None:
    text = fixture(READING)
    assert old in text
    broken = text.replace(old, new, 1)
    with pytest.raises(EdifactContentError) as info:
        parse_mscons(single_message(broken))
    assert (info.value.segment, info.value.position) == (new[:3], line_of(text, old))
    assert detail in info.value.detail


@pytest.mark.parametrize(
    ("move", "after", "detail"),
    [
        ("QTY+220:4711.2'", "LOC+172+", "QTY before any LIN"),
        ("STS+Z33++Z83'", "PIA+5+1-1?:1.8.1", "STS is only expected after a QTY"),
        ("DTM+7:202509302200?+00:303'", "PIA+5+1-1?:1.8.1", "between LIN and QTY"),
        ("RFF+MG:1ESY1160123456'", "QTY+220:4711.2", "RFF+MG is not expected after a LIN"),
        ("LIN+1'", "NAD+DP", "LIN before any LOC"),
        ("DTM+9:20250930:102'", "RFF+Z13", "DTM+9 is not expected in the message header"),
    ],
)
def test_misplaced_segments_are_rejected(move: str, after: str, detail: str) -> None:
    lines = fixture(READING).splitlines(keepends=True)
    segment = lines.pop(next(i for i, line in enumerate(lines) if line.startswith(move)))
    target = next(i for i, line in enumerate(lines) if line.startswith(after))
    lines.insert(target + 1, segment)
    broken = "".join(lines)
    with pytest.raises(EdifactContentError) as info:
        parse_mscons(single_message(broken))
    assert (info.value.segment, info.value.position) == (move[:3], target + 2)
    assert detail in info.value.detail


@pytest.mark.parametrize(("prefix", "named"), [("RFF+Z13", "RFF+Z13"), ("NAD+MS", "NAD+MS"), ("BGM", "BGM")])
def test_missing_mandatory_segment_is_reported_at_unh(prefix: str, named: str) -> None:
    text = without_line(fixture(READING), prefix)
    with pytest.raises(EdifactContentError) as info:
        parse_mscons(single_message(text))
    assert (info.value.segment, info.value.position) == ("UNH", line_of(text, "UNH"))
    assert f"mandatory data missing: {named}" in info.value.detail


def test_repeated_value_date_is_rejected() -> None:
    text = fixture(READING)
    extra = "DTM+7:202509302300?+00:303'\n"
    lines = text.splitlines(keepends=True)
    lines.insert(line_of(text, "DTM+7:"), extra)
    broken = re.sub(r"UNT\+(\d+)\+", lambda m: f"UNT+{int(m[1]) + 1}+", "".join(lines))
    with pytest.raises(EdifactContentError, match=r"DTM\+7 is repeated") as info:
        parse_mscons(single_message(broken))
    assert (info.value.segment, info.value.position) == ("DTM", line_of(text, "DTM+7:") + 1)


def test_period_ending_before_its_start_is_rejected() -> None:
    raw = build_mscons(profile_message(date(2025, 1, 1)))
    end = next(i for i, segment in enumerate(raw.segments) if segment.tag == "QTY") + 2
    assert raw.segments[end] == Segment("DTM", ["164", "202412312315+00", "303"])
    raw.segments[end] = Segment("DTM", ["164", "202412312300+00", "303"])
    with pytest.raises(EdifactContentError, match="is not after its start") as info:
        parse_mscons(raw)
    assert (info.value.segment, info.value.position) == ("DTM", end + 2)


def test_other_message_types_are_refused() -> None:
    raw = build_mscons(profile_message(date(2025, 1, 1)))
    with pytest.raises(EdifactContentError, match="not MSCONS"):
        parse_mscons(raw.model_copy(update={"type": "UTILMD"}))
