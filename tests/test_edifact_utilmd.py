"""EDIFACT envelope and typed UTILMD messages: round trips, shared samples, malformed input."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from edifact.envelope import Party, RawMessage, parse_interchange, serialize_interchange
from edifact.errors import EdifactContentError, EdifactSyntaxError
from edifact.utilmd import (
    Division,
    UtilmdMessage,
    UtilmdParty,
    build_utilmd,
    parse_utilmd,
    utilmd_interchange,
)

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "domain" / "edifact-samples"
SAMPLES_MISSING = f"shared EDIFACT samples not found at {SAMPLES} (they are read in place, never copied)"
BERLIN = ZoneInfo("Europe/Berlin")
LF = Party(id="9900000000003", qualifier="500")
NB = Party(id="9900000000010", qualifier="500")
GAS_LF = Party(id="9800000000006", qualifier="502")
GAS_NB = Party(id="9870000000002", qualifier="502")


# ---------------------------------------------------------------- helpers


def strom_day(day: date) -> datetime:
    """Start of a Strom delivery day (00:00 German time) in UTC."""
    return datetime.combine(day, time(0), BERLIN).astimezone(UTC)


def gas_day(day: date) -> datetime:
    """Start of a gas day (06:00 German time) in UTC."""
    return datetime.combine(day, time(6), BERLIN).astimezone(UTC)


def serialize(*messages: UtilmdMessage, reference: str = "ICREF1") -> bytes:
    gas = messages[0].division is Division.GAS
    interchange = utilmd_interchange(
        list(messages),
        sender=GAS_LF if gas else LF,
        receiver=GAS_NB if gas else NB,
        reference=reference,
        prepared_at=datetime(2025, 10, 1, 12, 0, tzinfo=UTC),
    )
    return serialize_interchange(interchange)


def roundtrip(message: UtilmdMessage) -> UtilmdMessage:
    parsed = parse_interchange(serialize(message))
    assert len(parsed.messages) == 1
    return parse_utilmd(parsed.messages[0])


def line_of(data: bytes, prefix: str) -> int:
    """1-based line number of the first line starting with ``prefix`` (one segment per line)."""
    lines = data.decode().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


def sample_params(pattern: str) -> list[Any]:
    if not SAMPLES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=SAMPLES_MISSING))]
    return [pytest.param(path, id=path.stem) for path in sorted(SAMPLES.glob(pattern))]


def read_sample(path: Path) -> bytes:
    """Sample bytes with the UNB template placeholder replaced by a real date/time."""
    return path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


# ---------------------------------------------------------------- messages built in code


@dataclass(frozen=True)
class Variant:
    """Ids and dates that differ between parametrised round trips."""

    name: str
    day: date
    sent: datetime
    transaction_id: str
    malo: str


VARIANTS = [
    Variant(
        "winter",
        date(2024, 12, 2),
        datetime(2024, 10, 14, 9, 45, tzinfo=UTC),
        "KBG2709421000000",
        "50363198100",
    ),
    # Summer time starts on 30.03.2025: midnight is 23:00 UTC the day before, the gas day starts at 04:00 UTC.
    Variant("dst-start", date(2025, 3, 30), datetime(2025, 3, 27, 16, 5, tzinfo=UTC), "A-1+2:3'4?5", "10017211334"),
    # Summer time ends on 26.10.2025: midnight is 22:00 UTC the day before, the gas day starts at 05:00 UTC.
    Variant(
        "dst-end",
        date(2025, 10, 26),
        datetime(2025, 10, 24, 8, 0, tzinfo=BERLIN),
        "ECOUNT_2079",
        "50226146170",
    ),
]

PERSON = UtilmdParty(last_name="Mustermann", first_name="Erika")
ADDRESS = UtilmdParty(
    last_name="Mustermann",
    first_name="Erika",
    street="Erfurter Straße",
    house_number="46a",
    postcode="99423",
    city="Weimar",
    country="DE",
)
LOCATION = UtilmdParty(street="Haydnstr.", house_number="24", postcode="45739", city="Oer-Erkenschwick", country="DE")


def utilmd(pid: str, v: Variant, category: str, **fields: Any) -> UtilmdMessage:
    gas = pid.startswith("44")
    return UtilmdMessage(
        division=Division.GAS if gas else Division.STROM,
        association="G1.1" if gas else "S2.1",
        pruefidentifikator=pid,
        message_reference=f"M{pid}{v.name[:3].upper()}",
        category=category,
        document_number=f"DOC-{pid}-{v.name}",
        document_date=v.sent,
        sender=(GAS_LF if gas else LF).id,
        receiver=(GAS_NB if gas else NB).id,
        sender_code_list="332" if gas else "293",
        receiver_code_list="332" if gas else "293",
        transaction_id=v.transaction_id,
        **fields,
    )


def strom_melo(v: Variant) -> str:
    return f"DE00321067657120000000000{v.malo[:8]}"


BUILDERS: dict[str, Callable[[Variant], UtilmdMessage]] = {
    "55001": lambda v: utilmd(
        "55001",
        v,
        "E01",
        transaction_reason="E01",
        transaction_reason_details=["ZW4", "E01"],
        start=strom_day(v.day),
        end=strom_day(date(v.day.year + 1, 1, 1)),
        malo_id=v.malo,
        balancing_group="11XEONBAYERN---I",
        customer=PERSON,
        customer_address=ADDRESS,
    ),
    "55002": lambda v: utilmd(
        "55002",
        v,
        "E01",
        transaction_reason="E01",
        transaction_reason_details=["ZAP", "E01"],
        answer_code="A51",
        answer_code_list="E_0623",
        start=strom_day(v.day),
        malo_id=v.malo,
        melo_ids=[strom_melo(v)],
        reference_transaction="NNV1230",
    ),
    "55003": lambda v: utilmd(
        "55003",
        v,
        "E01",
        transaction_reason="E01",
        transaction_reason_details=["ZW4"],
        answer_code="A06",
        answer_code_list="E_0622",
        reference_transaction="NNV1230",
        processing_date=strom_day(v.day),
        next_processing_date=strom_day(date(v.day.year + 1, 4, 3)),
    ),
    "55016": lambda v: utilmd(
        "55016",
        v,
        "E35",
        transaction_reason="E03",
        transaction_reason_details=["ZW4"],
        end=strom_day(v.day),
        malo_id=v.malo,
        customer=UtilmdParty(company="Bäckerei Müller & Söhne GmbH + Co. KG: Filiale Süd"),
    ),
    "55017": lambda v: utilmd(
        "55017",
        v,
        "E35",
        transaction_reason="E03",
        transaction_reason_details=["ZW4"],
        answer_code="A09",
        answer_code_list="E_0614",
        reference_transaction="PCL09023100613515599116940000022246",
        end_at=strom_day(v.day),
        annual_consumption_kwh=Decimal("6460.5"),
    ),
    "55018": lambda v: utilmd(
        "55018",
        v,
        "E35",
        transaction_reason="E03",
        answer_code="A14",
        answer_code_list="E_0614",
        reference_transaction="KDG123456",
        next_possible_date=strom_day(v.day),
        valid_from=strom_day(date(2025, 10, 1)),
        notice_period="03MQ",
        free_text="Vertragsbindung bis 31.12.? Kunde's Frist: 3 Monate + 14 Tage",
    ),
    "55036": lambda v: utilmd(
        "55036",
        v,
        "E01",
        transaction_reason="Z26",
        malo_id=v.malo,
        reference_transaction="PCL53523092914504899116940000022575",
        previous_supplier="4041409000006",
    ),
    "44001": lambda v: utilmd(
        "44001",
        v,
        "E01",
        transaction_reason="E03",
        start=gas_day(v.day),
        free_text="Anmeldung zum Gastag",
        malo_id=v.malo,
        annual_consumption_kwh=Decimal("50000"),
        balancing_group="11Y0-0000-0076-N",
        customer=PERSON,
        customer_address=ADDRESS,
    ),
    "44002": lambda v: utilmd(
        "44002",
        v,
        "E01",
        transaction_reason="E03",
        answer_code="E15",
        answer_code_list="G_0012",
        start=gas_day(v.day),
        malo_id=v.malo,
        melo_ids=["DE70016045739G0000000000000042897"],
        reference_transaction="DA019723120221315598000803000039307",
        annual_consumption_kwh=Decimal("44000.25"),
    ),
    "44003": lambda v: utilmd(
        "44003",
        v,
        "E01",
        transaction_reason="E01",
        answer_code="Z09",
        answer_code_list="G_0011",
        free_text="Einzug unplausibel, da Kunde bereits zu früherem Zeitpunkt bekannt.",
        malo_id=v.malo,
        reference_transaction="DA701723120422385298000803000039373",
    ),
    "44016": lambda v: utilmd(
        "44016",
        v,
        "E35",
        transaction_reason="E03",
        end_at=gas_day(v.day),
        free_text="Kündigung zum nächstmöglichen Termin",
        malo_id=v.malo,
        customer=PERSON,
        customer_address=LOCATION,
    ),
    "44017": lambda v: utilmd(
        "44017",
        v,
        "E35",
        transaction_reason="E03",
        answer_code="E15",
        answer_code_list="G_0006",
        end=gas_day(v.day),
        malo_id=v.malo,
        reference_transaction="ABC123456",
        annual_consumption_kwh=Decimal("50000"),
        customer=PERSON,
        customer_address=LOCATION,
    ),
    "44018": lambda v: utilmd(
        "44018",
        v,
        "E35",
        transaction_reason="E03",
        answer_code="Z34",
        answer_code_list="G_0005",
        next_possible_date=gas_day(v.day),
        free_text="Vertragsbindung",
        malo_id=v.malo,
        reference_transaction="ABC123456",
    ),
    "44036": lambda v: utilmd(
        "44036",
        v,
        "E44",
        transaction_reason="Z26",
        malo_id=v.malo,
        reference_transaction="Vorgangrff",
        previous_supplier="9800044300007",
    ),
}

#: Segments the serialised message must contain (beyond the round trip itself).
EXPECTED_SEGMENTS = {
    "55001": ["STS+7++E01+ZW4+E01'", "CAV+ZV4:::11XEONBAYERN---I'", "NAD+Z04+++Mustermann:Erika::::Z01+"],
    "55002": ["STS+E01++A51:E_0623'", "LOC+Z17+DE0032106765712", "RFF+TN:NNV1230'"],
    "55003": ["DTM+Z07:", "DTM+Z08:"],
    "55016": ["NAD+Z09+++Bäckerei Müller & Söhne GmbH ?+ Co.:KG?: Filiale Süd::::Z02'"],
    "55017": ["DTM+471:", "QTY+Z09:6460.5:KWH'"],
    "55018": [
        "DTM+Z06:",
        "DTM+Z01:03MQ:Z01'",
        "FTX+ACB+++Vertragsbindung bis 31.12.?? Kunde?'s Frist?: 3 Monate ?+",
    ],
    "55036": ["NAD+VY+4041409000006::293'"],
    "44001": ["LOC+172+", "QTY+31:50000:KWH'", "CCI+Z19++11Y0-0000-0076-N'", "NAD+Z04+++"],
    "44002": ["LOC+172+DE70016045739G0000000000000042897'", "QTY+31:44000.25:KWH'"],
    "44003": ["STS+E01++Z09:G_0011'"],
    "44016": ["DTM+471:", "NAD+DP++++Haydnstr.::24+Oer-Erkenschwick++45739+DE'"],
    "44017": ["QTY+Z09:50000:KWH'", "NAD+DP+"],
    "44018": ["DTM+Z05:"],
    "44036": ["NAD+VY+9800044300007::332'"],
}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
@pytest.mark.parametrize("pid", list(BUILDERS))
def test_build_serialize_parse_roundtrip(pid: str, variant: Variant) -> None:
    message = BUILDERS[pid](variant)
    data = serialize(message)
    text = data.decode()
    assert roundtrip(message) == message
    association = "G1.1" if pid.startswith("44") else "S2.1"
    assert data.startswith(b"UNA:+.? '")
    assert f"UNH+{message.message_reference}+UTILMD:D:11A:UN:{association}'" in text
    assert f"RFF+Z13:{pid}'" in text
    for expected in EXPECTED_SEGMENTS[pid]:
        assert expected in text


def test_dates_are_written_in_utc_with_escaped_offset() -> None:
    message = BUILDERS["55001"](VARIANTS[1])
    text = serialize(message).decode()
    assert "DTM+92:202503292300?+00:303'" in text
    assert "DTM+137:202503271605?+00:303'" in text
    gas = BUILDERS["44001"](VARIANTS[2])
    assert "DTM+92:202510260500?+00:303'" in serialize(gas).decode()
    assert roundtrip(gas).document_date == datetime(2025, 10, 24, 6, 0, tzinfo=UTC)


def test_serialized_envelope_for_strom() -> None:
    message = BUILDERS["55002"](VARIANTS[0])
    lines = serialize(message, reference="IC42").decode().splitlines()
    assert lines[0] == "UNA:+.? '"
    assert lines[1] == "UNB+UNOC:3+9900000000003:500+9900000000010:500+251001:1200+IC42'"
    assert lines[2] == f"UNH+{message.message_reference}+UTILMD:D:11A:UN:S2.1'"
    assert lines[-2] == f"UNT+{len(lines) - 3}+{message.message_reference}'"
    assert lines[-1] == "UNZ+1+IC42'"


def test_interchange_with_several_messages() -> None:
    messages = [
        BUILDERS["55003"](v).model_copy(update={"message_reference": f"MSG{i}"}) for i, v in enumerate(VARIANTS)
    ]
    parsed = parse_interchange(serialize(*messages))
    assert parsed.reference == "ICREF1"
    assert parsed.sender == LF and parsed.receiver == NB
    assert parsed.prepared_at == datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
    assert [parse_utilmd(m) for m in parsed.messages] == messages
    assert parsed.messages == [build_utilmd(m) for m in messages]


names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=35)
words = st.text(string.ascii_letters + "äöüßÄÖÜ&.-+:'?", min_size=1, max_size=20)
minutes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)


@settings(max_examples=60, deadline=None)
@given(
    transaction_id=st.text(string.ascii_letters + string.digits + "_-+:'? ", min_size=1, max_size=35),
    free_text=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=1200),
    last_name=names,
    first_name=names,
    company=st.lists(words, min_size=1, max_size=5).map(" ".join),
    sent=minutes,
    start=minutes,
    consumption=st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False),
    gas=st.booleans(),
)
def test_roundtrip_with_arbitrary_values(
    transaction_id: str,
    free_text: str,
    last_name: str,
    first_name: str,
    company: str,
    sent: datetime,
    start: datetime,
    consumption: Decimal,
    gas: bool,
) -> None:
    message = UtilmdMessage(
        division=Division.GAS if gas else Division.STROM,
        association="G1.1" if gas else "S2.1",
        pruefidentifikator="44016" if gas else "55016",
        message_reference="1",
        category="E35",
        document_number=transaction_id,
        document_date=sent,
        sender="9900000000003",
        receiver="9900000000010",
        transaction_id=transaction_id,
        transaction_reason="E03",
        start=start,
        annual_consumption_kwh=consumption,
        free_text=free_text,
        customer=UtilmdParty(last_name=last_name, first_name=first_name),
        customer_address=UtilmdParty(company=company, street=last_name, city=first_name)
        if not gas
        else UtilmdParty(street=last_name, city=first_name),
    )
    assert roundtrip(message) == message


def test_datetimes_must_be_timezone_aware_and_are_stored_in_utc() -> None:
    berlin = BUILDERS["55016"](VARIANTS[2])
    assert berlin.document_date.tzinfo is UTC
    assert berlin.document_date == datetime(2025, 10, 24, 6, 0, tzinfo=UTC)
    fields = berlin.model_dump()
    with pytest.raises(ValidationError, match="timezone-aware"):
        UtilmdMessage.model_validate({**fields, "document_date": datetime(2025, 1, 1)})


def test_association_must_match_division() -> None:
    fields = BUILDERS["55036"](VARIANTS[0]).model_dump()
    with pytest.raises(ValidationError, match="does not belong"):
        UtilmdMessage.model_validate({**fields, "association": "G1.1"})


# ---------------------------------------------------------------- shared samples


@pytest.mark.parametrize("path", sample_params("[45][45][0-9][0-9][0-9]_UTILMD_*.edi"))
def test_every_utilmd_sample_parses_and_roundtrips(path: Path) -> None:
    interchange = parse_interchange(read_sample(path))
    assert len(interchange.messages) == 1
    message = parse_utilmd(interchange.messages[0])
    assert message.pruefidentifikator == path.name[:5]
    assert message.division is (Division.GAS if path.name.startswith("44") else Division.STROM)
    rebuilt = serialize_interchange(
        utilmd_interchange(
            [message],
            sender=interchange.sender,
            receiver=interchange.receiver,
            reference=interchange.reference,
            prepared_at=interchange.prepared_at,
        )
    )
    assert parse_utilmd(parse_interchange(rebuilt).messages[0]) == message


#: paired JSON (transaktionsdaten) key -> UtilmdMessage field
JSON_FIELDS = {
    "pruefidentifikator": "pruefidentifikator",
    "vorgangsnummer": "transaction_id",
    "anfragereferenznummer": "reference_transaction",
    "antwortstatus": "answer_code",
    "antwortstatusCodeliste": "answer_code_list",
    "nachrichtenreferenznummer": "message_reference",
    "dokumentennummer": "document_number",
    "kategorie": "category",
    "transaktionsgrund": "transaction_reason",
    "freitext": "free_text",
    "nachrichtendatum": "document_date",
    "vertragsbeginn": "start",
    "vertragsende": "end",
    "endezumtermin": "end_at",
    "datumKuendigungLf": "next_possible_date",
    "datumKuendigungKd": "next_possible_date",
    "gueltigAb": "valid_from",
    "lieferbeginndatuminbearbeitung": "processing_date",
    "naechsteBearbeitung": "next_processing_date",
}
DATE_FIELDS = {name for name, info in UtilmdMessage.model_fields.items() if "datetime" in str(info.annotation)}
NAMED_PIDS = [*(f"5500{i}" for i in (1, 2, 3)), "55016", "55017", "55018", "55036"]
NAMED_PIDS += [*(f"4400{i}" for i in (1, 2, 3)), "44016", "44017", "44018", "44036"]


def expected_from_json(path: Path) -> dict[str, Any]:
    content = json.loads(path.read_text(encoding="utf-8"))[0]["data"]
    transaction, master = content["transaktionsdaten"], content["stammdaten"]
    expected: dict[str, Any] = {
        "sender": transaction["absender"]["rollencodenummer"],
        "receiver": transaction["empfaenger"]["rollencodenummer"],
        "division": Division(transaction["sparte"].lower()),
    }
    for key, field in JSON_FIELDS.items():
        if key in transaction:
            value = transaction[key]
            expected[field] = datetime.fromisoformat(value) if field in DATE_FIELDS else value
    malos = [m["marktlokationsId"] for m in master.get("MARKTLOKATION", []) if m.get("marktlokationsId")]
    if malos:
        expected["malo_id"] = malos[0]
    melos = [m["messlokationsId"] for m in master.get("MESSLOKATION", []) if m.get("messlokationsId")]
    if melos:
        expected["melo_ids"] = melos
    for balancing in master.get("BILANZIERUNG", []):
        amount = balancing.get("vorjahresverbrauch") or balancing.get("jahresverbrauchsprognose")
        if amount:
            expected["annual_consumption_kwh"] = Decimal(str(amount["wert"]))
        if balancing.get("bilanzkreise"):
            expected["balancing_group"] = balancing["bilanzkreise"][0]["bezeichnung"]
    return expected


@pytest.mark.parametrize("pid", NAMED_PIDS)
def test_sample_key_fields_match_paired_json(pid: str) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(SAMPLES_MISSING)
    (edi,) = SAMPLES.glob(f"{pid}_UTILMD_*.edi")
    interchange = parse_interchange(read_sample(edi))
    message = parse_utilmd(interchange.messages[0])
    expected = expected_from_json(edi.with_suffix(".json"))
    assert {"pruefidentifikator", "transaction_id", "sender", "receiver", "document_date"} <= expected.keys()
    actual = {field: getattr(message, field) for field in expected}
    assert actual == expected


def parse_sample(pid: str) -> UtilmdMessage:
    if not SAMPLES.is_dir():
        pytest.skip(SAMPLES_MISSING)
    (edi,) = SAMPLES.glob(f"{pid}_UTILMD_*.edi")
    return parse_utilmd(parse_interchange(read_sample(edi)).messages[0])


def test_sample_specific_dates_and_values() -> None:
    m55017 = parse_sample("55017")
    assert m55017.end_at == datetime(2025, 11, 30, 23, 0, tzinfo=UTC)
    assert m55017.annual_consumption_kwh == Decimal("6460")
    m55018 = parse_sample("55018")
    assert m55018.next_possible_date == datetime(2025, 10, 31, 23, 0, tzinfo=UTC)
    assert (m55018.notice_period, m55018.valid_from) == ("03MQ", datetime(2025, 9, 30, 22, 0, tzinfo=UTC))
    m55003 = parse_sample("55003")
    assert m55003.next_processing_date == datetime(2025, 4, 2, 22, 0, tzinfo=UTC)
    assert (m55003.answer_code, m55003.answer_code_list) == ("A06", "E_0622")
    m55001 = parse_sample("55001")
    assert m55001.transaction_reason_details == ["ZW4", "E01"]
    assert m55001.balancing_group == "11XEONBAYERN---I"
    assert m55001.customer_address is not None and m55001.customer_address.postcode == "99423"
    assert parse_sample("55036").previous_supplier == "4041409000006"
    assert parse_sample("44018").next_possible_date == datetime(2024, 6, 1, 4, 0, tzinfo=UTC)
    m44016 = parse_sample("44016")
    assert m44016.customer_address == UtilmdParty(
        street="Str.", house_number="1", postcode="12345", city="Ort", country="DE"
    )
    assert m44016.sender_code_list == "332"


def test_sample_placeholder_is_rejected() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(SAMPLES_MISSING)
    (edi,) = SAMPLES.glob("55001_UTILMD_*.edi")
    with pytest.raises(EdifactSyntaxError, match="placeholder") as info:
        parse_interchange(edi.read_bytes())
    assert (info.value.segment, info.value.position) == ("UNB", 2)


# ---------------------------------------------------------------- malformed input


@pytest.fixture
def good() -> bytes:
    return serialize(BUILDERS["55003"](VARIANTS[0]))


def test_truncated_file(good: bytes) -> None:
    cut = good.index(b"RFF+TN") + 8
    with pytest.raises(EdifactSyntaxError, match="truncated") as info:
        parse_interchange(good[:cut])
    assert (info.value.segment, info.value.position) == ("RFF", line_of(good, "RFF+TN"))


def test_truncated_at_segment_boundary_misses_unt(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match="without UNT") as info:
        parse_interchange(good[: good.index(b"UNT")])
    assert (info.value.segment, info.value.position) == ("UNT", line_of(good, "UNT"))


def test_wrong_unt_count(good: bytes) -> None:
    unt = line_of(good, "UNT")
    count = unt - 2
    data = good.replace(f"UNT+{count}+".encode(), f"UNT+{count - 1}+".encode())
    with pytest.raises(EdifactSyntaxError) as info:
        parse_interchange(data)
    assert (info.value.segment, info.value.position) == ("UNT", unt)
    detail = f"segment count {count - 1} does not match {count} segments of message M55003WIN"
    assert str(info.value) == f"UNT at segment {unt}: {detail}"


def test_unt_reference_mismatch(good: bytes) -> None:
    data = good.replace(b"+M55003WIN'\nUNZ", b"+OTHER'\nUNZ")
    with pytest.raises(EdifactSyntaxError, match="'OTHER' does not match 'M55003WIN'") as info:
        parse_interchange(data)
    assert (info.value.segment, info.value.position) == ("UNT", line_of(good, "UNT"))


def test_missing_unz(good: bytes) -> None:
    data = good[: good.index(b"UNZ")]
    with pytest.raises(EdifactSyntaxError, match="without UNZ") as info:
        parse_interchange(data)
    assert (info.value.segment, info.value.position) == ("UNZ", line_of(good, "UNZ"))


def test_wrong_unz_count(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match="message count 2 does not match") as info:
        parse_interchange(good.replace(b"UNZ+1+", b"UNZ+2+"))
    assert (info.value.segment, info.value.position) == ("UNZ", line_of(good, "UNZ"))


def test_unz_reference_mismatch(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match="interchange reference") as info:
        parse_interchange(good.replace(b"UNZ+1+ICREF1", b"UNZ+1+ICREF2"))
    assert (info.value.segment, info.value.position) == ("UNZ", line_of(good, "UNZ"))


def test_release_character_before_terminator(good: bytes) -> None:
    data = good.replace(b"RFF+TN:NNV1230'", b"RFF+TN:NNV1230?'")
    with pytest.raises(EdifactSyntaxError, match="release character") as info:
        parse_interchange(data)
    assert (info.value.segment, info.value.position) == ("RFF", line_of(good, "RFF+TN"))


def test_release_character_before_final_terminator(good: bytes) -> None:
    data = good.rstrip()[:-1] + b"?'"
    with pytest.raises(EdifactSyntaxError, match="release character") as info:
        parse_interchange(data)
    assert (info.value.segment, info.value.position) == ("UNZ", line_of(good, "UNZ"))


def test_release_character_before_ordinary_character(good: bytes) -> None:
    data = good.replace(b"NNV1230", b"NNV?1230")
    with pytest.raises(EdifactSyntaxError, match="invalid release character") as info:
        parse_interchange(data)
    assert (info.value.segment, info.value.position) == ("RFF", line_of(good, "RFF+TN"))


def test_template_placeholder_in_unb(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match=r"\{\{date\}\}:\{\{time\}\}.*placeholder") as info:
        parse_interchange(good.replace(b"251001:1200", b"{{date}}:{{time}}"))
    assert (info.value.segment, info.value.position) == ("UNB", 2)


@pytest.mark.parametrize("data", [b"", "", b"  \r\n"], ids=["bytes", "str", "whitespace"])
def test_empty_input(data: bytes | str) -> None:
    with pytest.raises(EdifactSyntaxError, match="empty"):
        parse_interchange(data)


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe\x00U\x00N\x00A", "Hallo Welt"],
    ids=["all-bytes", "png", "utf16", "text"],
)
def test_binary_garbage(data: bytes | str) -> None:
    with pytest.raises(EdifactSyntaxError, match="not an EDIFACT interchange") as info:
        parse_interchange(data)
    assert info.value.position == 1


def test_binary_garbage_inside_a_segment(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match="control character") as info:
        parse_interchange(good.replace(b"NNV1230", b"NNV\x00\x01"))
    assert (info.value.segment, info.value.position) == ("RFF", line_of(good, "RFF+TN"))


def test_latin1_input_is_accepted() -> None:
    message = BUILDERS["44003"](VARIANTS[0])
    latin1 = serialize(message).decode().encode("latin-1")
    assert parse_utilmd(parse_interchange(latin1).messages[0]) == message


def test_invalid_segment_tag(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match="valid segment tag") as info:
        parse_interchange(good.replace(b"RFF+TN", b"rf+TN"))
    assert info.value.position == line_of(good, "RFF+TN")


def test_segment_after_unz(good: bytes) -> None:
    with pytest.raises(EdifactSyntaxError, match="after UNZ"):
        parse_interchange(good + b"UNH+2+UTILMD:D:11A:UN:S2.1'\n")


def test_interchange_without_una_uses_default_separators(good: bytes) -> None:
    without_una = good.split(b"\n", 1)[1]
    assert parse_interchange(without_una).messages == parse_interchange(good).messages


# ---------------------------------------------------------------- content errors


def raw_message(good: bytes) -> RawMessage:
    return parse_interchange(good).messages[0]


def test_unknown_pruefidentifikator(good: bytes) -> None:
    data = good.replace(b"RFF+Z13:55003", b"RFF+Z13:44003")
    with pytest.raises(EdifactContentError, match="'44003' is not a UTILMD Strom") as info:
        parse_utilmd(raw_message(data))
    assert (info.value.segment, info.value.position) == ("RFF", line_of(data, "RFF+Z13"))


def test_missing_pruefidentifikator(good: bytes) -> None:
    data = good.replace(b"RFF+Z13:55003", b"RFF+Z99:55003")
    with pytest.raises(EdifactContentError, match="mandatory data missing: RFF\\+Z13") as info:
        parse_utilmd(raw_message(data))
    assert (info.value.segment, info.value.position) == ("UNH", 3)


def test_missing_sender(good: bytes) -> None:
    with pytest.raises(EdifactContentError, match="NAD\\+MS"):
        parse_utilmd(raw_message(good.replace(b"NAD+MS+", b"NAD+ZZ+")))


def test_unreadable_date_points_at_the_segment(good: bytes) -> None:
    data = good.replace(b"DTM+Z07:", b"DTM+Z07:1", 1)
    with pytest.raises(EdifactContentError, match="does not match format 303") as info:
        parse_utilmd(raw_message(data))
    assert (info.value.segment, info.value.position) == ("DTM", line_of(data, "DTM+Z07"))


def test_not_a_utilmd_message(good: bytes) -> None:
    data = good.replace(b"UTILMD:D:11A:UN:S2.1", b"MSCONS:D:04B:UN:2.4c")
    with pytest.raises(EdifactContentError, match="MSCONS message, not UTILMD"):
        parse_utilmd(raw_message(data))


def test_two_transactions_in_one_message_are_rejected() -> None:
    message = build_utilmd(BUILDERS["55036"](VARIANTS[0]))
    ide = next(s for s in message.segments if s.tag == "IDE")
    message.segments.append(ide)
    with pytest.raises(EdifactContentError, match="more than one transaction"):
        parse_utilmd(message)


def test_control_characters_are_not_serialised() -> None:
    message = BUILDERS["55018"](VARIANTS[0]).model_copy(update={"free_text": "Zeile 1\nZeile 2"})
    with pytest.raises(EdifactContentError, match="control character"):
        serialize(message)
