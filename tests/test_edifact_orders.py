"""Typed ORDERS messages (17102, 17113, 17115, 17117): shared samples, messages built in code, malformed input."""

from __future__ import annotations

import json
import re
import warnings
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from pydifact.exceptions import MissingImplementationWarning
from pydifact.segmentcollection import Interchange as PydifactInterchange

from edifact.envelope import Party, parse_interchange, serialize_interchange, serialize_message, wrap_messages
from edifact.errors import EdifactContentError
from edifact.inspect import inspect_interchange
from edifact.orders import (
    OrdersAddress,
    OrdersCommunication,
    OrdersMessage,
    OrdersPosition,
    build_orders,
    orders_interchange,
    parse_orders,
)
from edifact.registry import parse_message
from tests.conftest import SAMPLES, samples_dir

BERLIN = ZoneInfo("Europe/Berlin")
LF = Party(id="9900000000003", qualifier="500")
MSB = Party(id="9900000000029", qualifier="500")
NB = Party(id="9900123456787", qualifier="500")
MALO = "41373559241"  # BDEW worked example, valid check digit
MELO = "DE0001234567890000000000004711081"
PIDS = ("17102", "17113", "17115", "17117")
REASON_NAMES = {"Z04": "WERTE_ZU_HOCH", "Z05": "WERTE_ZU_NIEDRIG", "Z06": "WERTE_FEHLEN"}
PRODUCT_NAMES = {
    "Z11": "LASTGANGDATEN",
    "Z35": "ENERGIEMENGE_EINZELWERT",
    "Z53": "INNERHALB_DER_ARBEITSZEIT",
    "Z54": "AUCH_AUSSERHALB_DER_ARBEITSZEIT",
}

# ---------------------------------------------------------------- helpers


def sample_params(pattern: str) -> list[Any]:
    """One parameter per shared sample; a single placeholder that skips when the folder is absent."""
    if not SAMPLES.is_dir():
        return [pytest.param(None, id="samples-missing")]
    return [pytest.param(path, id=path.stem) for path in sorted(SAMPLES.glob(pattern))]


def sample_bytes(path: Path) -> bytes:
    return path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


def load_lenient_json(path: Path) -> Any:
    """The paired JSON (some miss commas between members, some are wrapped in a list); numbers stay Decimal."""
    text = re.sub(r'([}\]"\w])(\s*\n\s*)(["{])', r"\1,\2\3", path.read_text(encoding="utf-8"))
    data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return data[0] if isinstance(data, list) else data


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def strom_day(day: date) -> datetime:
    """00:00 German time of ``day`` (a Strom day boundary) in UTC."""
    return datetime.combine(day, time(0), BERLIN).astimezone(UTC)


def parse_one(data: bytes) -> OrdersMessage:
    interchange = parse_interchange(data)
    assert len(interchange.messages) == 1
    return parse_orders(interchange.messages[0])


def serialize(*messages: OrdersMessage) -> bytes:
    interchange = orders_interchange(
        list(messages), sender=LF, receiver=NB, reference="OR0001", prepared_at=datetime(2025, 10, 2, 8, 15, tzinfo=UTC)
    )
    return serialize_interchange(interchange)


def roundtrip(message: OrdersMessage) -> OrdersMessage:
    return parse_one(serialize(message))


def line_of(data: bytes | str, prefix: str) -> int:
    """1-based line number of the first line starting with ``prefix`` (one segment per line, UNA is line 1)."""
    text = data.decode() if isinstance(data, bytes) else data
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(prefix))


def without(text: str, prefix: str) -> str:
    """The interchange without the segment line starting with ``prefix``; the UNT count follows."""
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith(prefix)]
    assert len(lines) == len(text.splitlines()) - 1
    return re.sub(r"UNT\+(\d+)\+", lambda match: f"UNT+{int(match[1]) - 1}+", "".join(lines))


# ---------------------------------------------------------------- messages built in code


def orders(pid: str, **fields: Any) -> OrdersMessage:
    base: dict[str, Any] = {
        "pruefidentifikator": pid,
        "message_reference": f"M{pid}",
        "document_number": f"OR-{pid}-000123",
        "document_date": datetime(2025, 10, 2, 10, 15, tzinfo=BERLIN),
        "sender": LF.id,
        "receiver": NB.id if pid in ("17115", "17117") else MSB.id,
        "location_id": MALO,
    }
    return OrdersMessage(**(base | fields))


CONTACT: dict[str, Any] = {
    "contact_name": "Erika Mustermann",
    "communications": [
        OrdersCommunication(number="erika.mustermann@lieferant.example", channel="EM"),
        OrdersCommunication(number="+4930123456", channel="TE"),
    ],
}
SEPTEMBER = OrdersPosition(period_start=strom_day(date(2025, 9, 1)), period_end=strom_day(date(2025, 10, 1)))


def anfrage_werte() -> OrdersMessage:
    """17102: Energiemenge of a MaLo for September (summer time: day boundaries at 22:00 UTC)."""
    return orders("17102", category="Z28", positions=[SEPTEMBER])


def anfrage_zaehlerstand() -> OrdersMessage:
    """17102 with BGM+7 and IMD++Z12: Zählerstände of a MeLo across the end of summer time."""
    period = OrdersPosition(period_start=strom_day(date(2025, 10, 25)), period_end=strom_day(date(2025, 10, 27)))
    return orders("17102", category="7", product="Z12", location_id=MELO, positions=[period])


def reklamation() -> OrdersMessage:
    """17113: a Zählerstand too low (DTM+7) and missing values of a second register (DTM+163/164)."""
    return orders(
        "17113",
        category="Z34",
        product="Z12",
        location_id=MELO,
        previous_message="MS-2025-004711",
        **CONTACT,
        positions=[
            OrdersPosition(
                obis="1-1:1.8.0",
                point_in_time=strom_day(date(2025, 10, 1)),
                reason="Z05",
                reason_text="Stand 4711,2 kWh: Kunde meldet 4.800 kWh (Foto liegt vor) + Ablesung 'vor Ort'?",
            ),
            OrdersPosition(
                number="2",
                obis="1-1:2.8.0",
                period_start=SEPTEMBER.period_start,
                period_end=SEPTEMBER.period_end,
                reason="Z06",
            ),
        ],
    )


def reklamation_missing_values() -> OrdersMessage:
    """17113 for a Lastgang with a Konfigurations-ID instead of LOC; missing values need no RFF+ACW."""
    period = SEPTEMBER.model_copy(update={"obis": "1-1:1.29.0", "reason": "Z06"})
    return orders(
        "17113",
        category="Z34",
        product="Z11",
        location_id=None,
        configuration_id="KONF-0815",
        **CONTACT,
        positions=[period],
    )


def sperrauftrag() -> OrdersMessage:
    """17115 Sperrung zum nächstmöglichen Termin (DTM+469) with a Treffpunkt and a long Hinweis."""
    return orders(
        "17115",
        category="Z51",
        earliest_date=strom_day(date(2025, 11, 3)),
        **CONTACT,
        meeting_point=OrdersAddress(
            name="Hausverwaltung Müller & Söhne GmbH + Co. KG: Objekt Süd",
            street="Erfurter Straße 46a",
            city="Weimar",
            postcode="99423",
            country="DE",
        ),
        positions=[OrdersPosition(note="Zähler im Keller, Schlüssel beim Hausmeister (Tel. +49 3643 1234?). " * 12)],
    )


def sperrauftrag_gerichtsvollzieher() -> OrdersMessage:
    """17115 with the date fixed by a Gerichtsvollzieher (DTM+203), no Treffpunkt, no position."""
    return orders("17115", category="Z51", execution_date=strom_day(date(2025, 11, 12)), **CONTACT)


def entsperrauftrag() -> OrdersMessage:
    """17117 also outside working hours (IMD++Z54) with a Treffpunkt without name."""
    return orders(
        "17117",
        category="Z52",
        product="Z54",
        **CONTACT,
        meeting_point=OrdersAddress(street="Haydnstr. 24", city="Oer-Erkenschwick", postcode="45739", country="DE"),
    )


OWN = [anfrage_werte, anfrage_zaehlerstand, reklamation, reklamation_missing_values, sperrauftrag]
OWN += [sperrauftrag_gerichtsvollzieher, entsperrauftrag]


# ---------------------------------------------------------------- shared samples


@pytest.mark.parametrize("path", sample_params("17*_ORDERS_*.edi"))
def test_every_orders_sample_parses_rebuilds_and_roundtrips(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    interchange = parse_interchange(sample_bytes(path))
    [raw] = interchange.messages
    message = parse_orders(raw)
    assert message.pruefidentifikator == path.name[:5]
    assert message.association == raw.association == "1.4b"
    # The sample ids are dummies (two of the three MaLo-IDs fail their check digit), so replay them unchecked.
    rebuilt = build_orders(message, validate_ids=False)
    assert rebuilt.segments == raw.segments
    assert rebuilt == raw
    text = wrap_messages(interchange, [serialize_message(rebuilt)])
    assert parse_orders(parse_interchange(text).messages[0]) == message
    assert isinstance(parse_message(raw, interchange), OrdersMessage)


def test_shared_orders_samples_are_present() -> None:
    names = [path.name for path in samples_dir().glob("17*_ORDERS_*.edi")]
    assert {name[:5] for name in names} >= set(PIDS)


def _compare_header(m: OrdersMessage, header: dict[str, Any]) -> None:
    assert m.document_number == header["dokumentennummer"]
    assert m.pruefidentifikator == header["pruefidentifikator"]
    assert m.message_reference == header["nachrichtenreferenznummer"]
    assert m.document_date == iso(header["nachrichtendatum"])
    assert m.category == header.get("kategorie", m.category)
    assert (m.sender, m.receiver) == (header["absender"]["rollencodenummer"], header["empfaenger"]["rollencodenummer"])
    contact = header["absender"].get("ansprechpartner", {})
    assert m.contact_name == contact.get("nachname")
    assert [c.number for c in m.communications if c.channel == "EM"] == [
        contact[k] for k in ("eMailAdresse",) if k in contact
    ]
    assert m.previous_message == header.get("angebotsreferenz")


def _compare_positions(m: OrdersMessage, master: dict[str, Any]) -> None:
    order = master.get("AUFTRAG", [{}])[0]
    assert m.execution_date == (iso(order["ausfuehrungsdatum"]) if "ausfuehrungsdatum" in order else None)
    positions = order.get("positionsdaten", [])
    assert [p.number for p in m.positions] == [str(p["positionsnummer"]) for p in positions]
    for ours, theirs in zip(m.positions, positions, strict=True):
        assert ours.period_start == (iso(theirs["startdatum"]) if "startdatum" in theirs else ours.period_start)
        assert ours.period_end == (iso(theirs["enddatum"]) if "enddatum" in theirs else ours.period_end)
        assert ours.note == theirs.get("allgemeineInformationen", {}).get("info1")
    for ours, complaint in zip(m.positions, master.get("REKLAMATION", []), strict=False):
        period = complaint["zeitraumMesswertanfrage"]
        assert (ours.period_start, ours.period_end) == (iso(period["startdatum"]), iso(period["enddatum"]))
        assert (ours.obis, REASON_NAMES[ours.reason or ""]) == (
            complaint["obiskennzahl"],
            complaint["reklamationsgrund"],
        )


@pytest.mark.parametrize("path", sample_params("17*_ORDERS_*.edi"))
def test_orders_sample_fields_match_paired_json(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        pytest.skip(f"no paired JSON for {path.name}")
    data = load_lenient_json(json_path)["data"]
    master = data["stammdaten"]
    m = parse_one(sample_bytes(path))
    _compare_header(m, data["transaktionsdaten"])
    _compare_positions(m, master)
    locations = {item["lokationsId"] for items in master.values() for item in items if "lokationsId" in item}
    assert locations == {m.location_id} and m.malo_id == m.location_id
    request = master["ANFRAGE"][0]
    if m.product:
        assert PRODUCT_NAMES[m.product] == request["anfragetyp"]
    for blocking in master.get("SPERRAUFTRAG", []):
        place = blocking["treffpunkt"]
        assert m.meeting_point == OrdersAddress(
            name=place.get("zusatzInformation", {}).get("zusatz1"),
            street=place["strasse"],
            city=place["ort"],
            postcode=place["postleitzahl"],
            country=place["landescode"],
        )


def test_sample_specifics() -> None:
    folder = samples_dir()
    complaint = parse_one(sample_bytes(folder / "17113_ORDERS_reklamation-werte.edi"))
    assert (complaint.reason, complaint.product, complaint.previous_message) == ("Z04", "Z11", "12345")
    assert complaint.positions[0].obis == "1:1.1.9.0" and complaint.positions[0].reason_text is None
    request = parse_one(sample_bytes(folder / "17102_ORDERS_anfrage-werte.edi"))
    assert (request.period_start, request.period_end) == (strom_day(date(2025, 1, 1)), strom_day(date(2025, 2, 1)))
    blocking = parse_one(sample_bytes(folder / "17115_ORDERS_sperrauftrag.edi"))
    assert blocking.execution_date == strom_day(date(2025, 8, 30)) and blocking.earliest_date is None
    assert blocking.positions[0].note == "Nachricht für Olli"


def test_sample_malo_with_a_wrong_check_digit_is_not_built() -> None:
    """Parsing stays lenient; our own output must carry valid ids."""
    blocking = parse_one(sample_bytes(samples_dir() / "17115_ORDERS_sperrauftrag.edi"))
    assert blocking.location_id == "44897654121"
    with pytest.raises(EdifactContentError, match="44897654121: check digit should be 5") as info:
        build_orders(blocking)
    assert info.value.segment == "LOC"


# ---------------------------------------------------------------- own messages


@pytest.mark.parametrize("make", OWN, ids=lambda make: make.__name__)
def test_messages_built_in_code_roundtrip(make: Any) -> None:
    message = make()
    assert roundtrip(message) == message


@pytest.mark.parametrize("make", OWN, ids=lambda make: make.__name__)
def test_build_output_parses_with_pydifact(make: Any) -> None:
    message = make()
    data = serialize(message, message.model_copy(update={"message_reference": "SECOND"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingImplementationWarning)
        interchange = PydifactInterchange.from_str(data.decode())
        interchange.validate()
        parsed = list(interchange.get_messages())
    assert interchange.control_reference == "OR0001"
    assert [(m.type, m.version) for m in parsed] == [("ORDERS", "D.09B")] * 2
    assert parsed[0].segments == build_orders(message).segments


def test_sperrauftrag_layout() -> None:
    text = serialize(sperrauftrag()).decode()
    assert text.startswith("UNA:+.? '\nUNB+UNOC:3+9900000000003:500+9900123456787:500+251002:0815+OR0001'\n")
    assert (
        "UNH+M17115+ORDERS:D:09B:UN:1.4b'\nBGM+Z51+OR-17115-000123'\nDTM+137:202510020815?+00:303'\n"
        "DTM+469:202511022300?+00:303'\nRFF+Z13:17115'\nNAD+MS+9900000000003::293'\nCTA+IC+:Erika Mustermann'\n"
        "COM+erika.mustermann@lieferant.example:EM'\nCOM+?+4930123456:TE'\nNAD+MR+9900123456787::293'\n"
        "NAD+DP'\nLOC+172+41373559241'\n"
        "NAD+Z24++Hausverwaltung Müller & Söhne GmbH:?+ Co. KG?: Objekt Süd++Erfurter Straße 46a+Weimar++99423+DE'\n"
        "LIN+1'\nFTX+ACB+++Zähler im Keller"
    ) in text
    assert "(Tel. ?+49 3643 1234??). " in text
    assert text.endswith("'\nUNS+S'\nUNT+17+M17115'\nUNZ+1+OR0001'\n")


def test_reklamation_layout() -> None:
    text = serialize(reklamation()).decode()
    assert "BGM+Z34+OR-17113-000123'\nDTM+137:202510020815?+00:303'\nIMD++Z12'\nRFF+ACW:MS-2025-004711'\n" in text
    assert (
        f"NAD+DP'\nLOC+172+{MELO}'\nLIN+1'\nPIA+5+1-1?:1.8.0:SRW'\nDTM+7:202509302200?+00:303'\nFTX+Z05+++Stand" in text
    )
    assert (
        "LIN+2'\nPIA+5+1-1?:2.8.0:SRW'\nDTM+163:202508312200?+00:303'\nDTM+164:202509302200?+00:303'\nFTX+Z06'\nUNS+S'"
        in text
    )


def test_wrap_messages_gives_the_same_interchange() -> None:
    messages = [anfrage_werte(), entsperrauftrag()]
    interchange = orders_interchange(
        messages, sender=LF, receiver=NB, reference="OR0001", prepared_at=datetime(2025, 10, 2, 8, 15, tzinfo=UTC)
    )
    wrapped = wrap_messages(interchange, [serialize_message(build_orders(m)) for m in messages])
    assert wrapped == serialize(*messages)
    assert [parse_orders(raw) for raw in parse_interchange(wrapped).messages] == messages


def test_convenience_properties() -> None:
    request, complaint = anfrage_zaehlerstand(), reklamation()
    assert (request.melo_id, request.malo_id) == (MELO, None)
    assert (anfrage_werte().malo_id, anfrage_werte().melo_id) == (MALO, None)
    assert request.period_start == datetime(2025, 10, 24, 22, 0, tzinfo=UTC)
    assert request.period_end == datetime(2025, 10, 26, 23, 0, tzinfo=UTC)  # winter time again
    assert complaint.reason == "Z05" and complaint.period_start is None
    assert entsperrauftrag().reason is None and entsperrauftrag().period_end is None


def test_registry_and_inspect_use_the_model() -> None:
    data = serialize(reklamation())
    interchange = parse_interchange(data)
    assert parse_message(interchange.messages[0], interchange) == reklamation()
    [view] = inspect_interchange(data)["messages"]
    assert (view["type"], view["pruefidentifikator"], view["format_version"]) == ("ORDERS", "17113", "FV2510")
    assert view["location_id"] == MELO and view["positions"][0]["reason"] == "Z05"


# ---------------------------------------------------------------- model validation


def test_model_refuses_naive_datetimes_and_foreign_pids() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        OrdersPosition(period_start=datetime(2025, 9, 1))
    with pytest.raises(ValidationError, match="not an ORDERS Prüfidentifikator"):
        orders("13017", category="Z28")


# ---------------------------------------------------------------- malformed input

GOOD = """UNA:+.? '
UNB+UNOC:3+9900000000003:500+9900000000029:500+251002:0815+OR17102A'
UNH+1+ORDERS:D:09B:UN:1.4b'
BGM+Z28+AW-2025-000123'
DTM+137:202510020815?+00:303'
RFF+Z13:17102'
NAD+MS+9900000000003::293'
NAD+MR+9900000000029::293'
NAD+DP'
LOC+172+41373559241'
LIN+1'
DTM+163:202508312200?+00:303'
DTM+164:202509302200?+00:303'
UNS+S'
UNT+13+1'
UNZ+1+OR17102A'
"""


def _error(text: str) -> EdifactContentError:
    interchange = parse_interchange(text)
    with pytest.raises(EdifactContentError) as info:
        parse_orders(interchange.messages[0])
    return info.value


def test_good_file_of_the_malformed_tests_is_good() -> None:
    m = parse_one(GOOD.encode())
    assert m == anfrage_werte().model_copy(
        update={"message_reference": "1", "document_number": "AW-2025-000123", "receiver": MSB.id}
    )
    assert build_orders(m).segments == parse_interchange(GOOD).messages[0].segments


def test_missing_bgm() -> None:
    error = _error(without(GOOD, "BGM+"))
    assert (error.segment, error.position) == ("UNH", line_of(GOOD, "UNH"))
    assert "mandatory data missing: BGM" in error.detail


def test_missing_pruefidentifikator_and_parties() -> None:
    error = _error(without(without(GOOD, "RFF+Z13"), "NAD+MR"))
    assert "mandatory data missing: NAD+MR, RFF+Z13" in error.detail


@pytest.mark.parametrize(
    ("pid", "words"),
    [("17999", "not a published ORDERS Prüfidentifikator"), ("13017", "not a ORDERS Prüfidentifikator (17xxx)")],
)
def test_unknown_pruefidentifikator_points_at_the_rff(pid: str, words: str) -> None:
    error = _error(GOOD.replace("RFF+Z13:17102'", f"RFF+Z13:{pid}'"))
    assert (error.segment, error.position) == ("RFF", line_of(GOOD, "RFF+Z13"))
    assert words in error.detail and pid in error.detail


def test_registry_refuses_an_unpublished_pid() -> None:
    interchange = parse_interchange(GOOD.replace("RFF+Z13:17102'", "RFF+Z13:17999'"))
    with pytest.raises(EdifactContentError, match="17999"):
        parse_message(interchange.messages[0], interchange)


def test_structural_errors_point_at_the_segment() -> None:
    error = _error(GOOD.replace("DTM+163:202508312200?+00:303'", "DTM+163:2025-08-31:303'"))
    assert (error.segment, error.position) == ("DTM", line_of(GOOD, "DTM+163"))
    assert "does not match format 303" in error.detail
    error = _error(GOOD.replace("DTM+137:202510020815?+00:303'", "DTM+137:202510020815?+00:999'"))
    assert (error.segment, error.position) == ("DTM", line_of(GOOD, "DTM+137"))
    error = _error(GOOD.replace("LIN+1'", "LIN++1'"))
    assert (error.segment, error.position) == ("LIN", line_of(GOOD, "LIN"))
    assert "position number" in error.detail


def test_not_an_orders_message() -> None:
    error = _error(GOOD.replace("ORDERS:D:09B:UN:1.4b", "ORDRSP:D:10A:UN:1.4a"))
    assert (error.segment, error.position) == ("UNH", line_of(GOOD, "UNH"))
    assert "is a ORDRSP message, not ORDERS" in error.detail


# ---------------------------------------------------------------- refused when building


def _build_error(message: OrdersMessage) -> EdifactContentError:
    with pytest.raises(EdifactContentError) as info:
        build_orders(message)
    assert info.value.position is None
    return info.value


@pytest.mark.parametrize(
    ("message", "segment", "words"),
    [
        pytest.param(orders("17001", category="Z28"), "RFF", "only Prüfidentifikatoren 17102", id="unsupported-pid"),
        pytest.param(orders("17102", category="Z51", positions=[SEPTEMBER]), "BGM", "'Z51'", id="wrong-category"),
        pytest.param(orders("17102", category="Z28"), "LIN", "exactly one position", id="17102-no-position"),
        pytest.param(
            orders("17102", category="Z28", positions=[OrdersPosition(period_start=SEPTEMBER.period_start)]),
            "DTM",
            "DTM+163/164",
            id="17102-no-period-end",
        ),
        pytest.param(
            orders("17102", category="7", positions=[SEPTEMBER]), "IMD", "BGM+7 needs IMD", id="17102-7-without-imd"
        ),
        pytest.param(
            orders(
                "17102",
                category="Z28",
                positions=[OrdersPosition(period_start=SEPTEMBER.period_end, period_end=SEPTEMBER.period_start)],
            ),
            "DTM",
            "not before its end",
            id="reversed-period",
        ),
        pytest.param(
            reklamation().model_copy(update={"contact_name": None}), "CTA", "contact", id="17113-without-contact"
        ),
        pytest.param(
            reklamation().model_copy(update={"previous_message": None}), "RFF", "RFF+ACW", id="17113-without-acw"
        ),
        pytest.param(
            reklamation().model_copy(update={"positions": [SEPTEMBER.model_copy(update={"obis": "1-1:1.8.0"})]}),
            "FTX",
            "Z04, Z05 or Z06",
            id="17113-without-reason",
        ),
        pytest.param(
            reklamation().model_copy(update={"positions": [SEPTEMBER.model_copy(update={"reason": "Z06"})]}),
            "PIA",
            "OBIS",
            id="17113-without-obis",
        ),
        pytest.param(
            sperrauftrag().model_copy(update={"execution_date": strom_day(date(2025, 11, 12))}),
            "DTM",
            "exactly one of DTM+203",
            id="17115-two-dates",
        ),
        pytest.param(
            sperrauftrag().model_copy(update={"location_id": None}), "LOC", "LOC+172", id="17115-without-malo"
        ),
        pytest.param(sperrauftrag().model_copy(update={"location_id": MELO}), "LOC", "11 digits", id="17115-melo"),
        pytest.param(
            entsperrauftrag().model_copy(update={"product": None}), "IMD", "Arbeitszeit", id="17117-without-imd"
        ),
        pytest.param(
            anfrage_werte().model_copy(update={"location_id": "41373559242"}),
            "LOC",
            "41373559242: check digit should be 1",
            id="bad-malo-check-digit",
        ),
        pytest.param(
            anfrage_werte().model_copy(update={"location_id": "DE00012345"}), "LOC", "neither", id="bad-location"
        ),
        pytest.param(
            anfrage_werte().model_copy(update={"receiver": "9900000000010"}), "NAD", "receiver", id="bad-mp-id"
        ),
    ],
)
def test_build_refuses_what_the_ahb_forbids(message: OrdersMessage, segment: str, words: str) -> None:
    error = _build_error(message)
    assert error.segment == segment, error
    assert words in error.detail and f"cannot build ORDERS {message.pruefidentifikator}" in error.detail


def test_ids_can_be_left_unchecked_for_replays() -> None:
    message = anfrage_werte().model_copy(update={"location_id": "41373559242"})
    assert roundtrip(message.model_copy(update={"location_id": MALO})).location_id == MALO
    [loc] = [segment for segment in build_orders(message, validate_ids=False).segments if segment.tag == "LOC"]
    assert loc.elements == ["172", "41373559242"]
