"""APERAK and CONTRL: shared samples, own fixtures, answers to UTILMD and CONTRL for broken interchanges."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydifact import Segment

from edifact.aperak import (
    ERC_CODES,
    AperakError,
    AperakMessage,
    aperak_interchange,
    build_aperak,
    negative_aperak,
    parse_aperak,
    positive_aperak,
)
from edifact.contrl import (
    SYNTAX_ERROR_CODES,
    SYNTAX_ERROR_KINDS,
    ContrlElementError,
    ContrlMessage,
    ContrlMessageReport,
    ContrlSegmentError,
    build_contrl,
    contrl_acknowledgement,
    contrl_for_syntax_error,
    contrl_interchange,
    parse_contrl,
    sender_of_broken,
    syntax_error_code,
)
from edifact.envelope import Interchange, Party, parse_interchange, serialize_interchange
from edifact.errors import EdifactContentError, EdifactSyntaxError
from edifact.segments import make_segment
from edifact.utilmd import Division, UtilmdMessage, parse_utilmd, utilmd_interchange
from tests.conftest import samples_dir

FIXTURES = Path(__file__).parent / "fixtures" / "edifact"
LF = Party(id="9900000000003", qualifier="500")
NB = Party(id="9912345000002", qualifier="500")
SENT = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 11, 3, 9, 40, 27, tzinfo=UTC)

#: ERC in the sample .edi -> error code name in the paired JSON
JSON_ERROR_CODES = {
    "Z10": "ID_UNBEKANNT",
    "Z14": "OBJEKT_NICHT_GEFUNDEN",
    "Z17": "ABSENDER_NICHT_ZUGEORDNET",
    "Z18": "EMPFAENGER_NICHT_ZUGEORDNET",
    "Z20": "OBIS_UNBEKANNT",
    "Z33": "REFERENZIERTES_TUPEL_UNBEKANNT",
    "Z43": "GESCHAEFTSVORFALL_OBJEKT_EIGENSCHAFT_NICHT_ERLAUBT",
    "Z44": "EIGENSCHAFT_OBJEKT_WEICHT_VON_GESCHAEFTSVORFALL_CODIERTEN_EIGENSCHAFT_AB",
}
#: JSON rollencodetyp -> NAD code list
CODE_LISTS = {"BDEW": "293", "DVGW": "332"}
APERAK_SAMPLES = [
    "nopid_APERAK_Z10-id-unbekannt",
    "nopid_APERAK_Z14-objekt-nicht-gefunden",
    "nopid_APERAK_Z17-absender-nicht-zugeordnet",
    "nopid_APERAK_Z18-empfaenger-nicht-zugeordnet",
    "nopid_APERAK_Z20-obis-unbekannt",
    "nopid_APERAK_Z33-referenz-nicht-vorhanden",
    "nopid_APERAK_Z43-objekteigenschaft",
    "nopid_APERAK_Z44-eigenschaft-abweichend",
    "nopid_APERAK_anerkennungsmeldung",
]
CONTRL_SAMPLE = "nopid_CONTRL_syntaxfehlermeldung-generated"


# ---------------------------------------------------------------- helpers


def read_sample(name: str) -> bytes:
    """Sample bytes with the UNB template placeholder replaced by a real date/time."""
    return (samples_dir() / f"{name}.edi").read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def reserialize_aperak(interchange: Interchange) -> Interchange:
    messages = [parse_aperak(m) for m in interchange.messages]
    rebuilt = aperak_interchange(
        messages,
        sender=interchange.sender,
        receiver=interchange.receiver,
        reference=interchange.reference,
        prepared_at=interchange.prepared_at,
    )
    return parse_interchange(serialize_interchange(rebuilt))


def roundtrip_contrl(message: ContrlMessage) -> ContrlMessage:
    data = serialize_interchange(contrl_interchange([message], reference="CTRLREF1", prepared_at=SENT))
    parsed = parse_interchange(data)
    return parse_contrl(parsed.messages[0], parsed)


def supplier_switch(transaction_id: str = "VORGANG-4711") -> UtilmdMessage:
    """A 55001 Anmeldung from the supplier to the grid operator."""
    return UtilmdMessage(
        division=Division.STROM,
        association="S2.1",
        pruefidentifikator="55001",
        message_reference="M55001A",
        category="E01",
        document_number="DOC-55001-1",
        document_date=SENT,
        sender=LF.id,
        receiver=NB.id,
        transaction_id=transaction_id,
        transaction_reason="E01",
        malo_id="51234567890",
        start=datetime(2025, 11, 30, 23, 0, tzinfo=UTC),
    )


@pytest.fixture
def good() -> bytes:
    """A valid UTILMD interchange, one segment per line (positions equal line numbers)."""
    interchange = utilmd_interchange(
        [supplier_switch()], sender=LF, receiver=NB, reference="LF2511030001", prepared_at=SENT
    )
    return serialize_interchange(interchange)


def line_of(data: bytes, prefix: str) -> int:
    lines = data.decode().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


# ---------------------------------------------------------------- APERAK samples


def test_every_shared_aperak_and_contrl_sample_is_covered() -> None:
    assert sorted(path.stem for path in samples_dir().glob("nopid_APERAK_*.edi")) == APERAK_SAMPLES
    assert [path.stem for path in samples_dir().glob("nopid_CONTRL_*.edi")] == [CONTRL_SAMPLE]


@pytest.mark.parametrize("name", APERAK_SAMPLES)
def test_every_aperak_sample_parses_and_roundtrips(name: str) -> None:
    interchange = parse_interchange(read_sample(name))
    assert len(interchange.messages) == 1
    original = interchange.messages[0]
    message = parse_aperak(original)
    assert message.association == "2.1i"
    assert message.pruefidentifikator is None
    assert build_aperak(message) == original  # segment for segment
    rebuilt = reserialize_aperak(interchange)
    assert (rebuilt.sender, rebuilt.receiver) == (interchange.sender, interchange.receiver)
    assert parse_aperak(rebuilt.messages[0]) == message


@pytest.mark.parametrize("name", APERAK_SAMPLES)
def test_aperak_sample_key_fields_match_paired_json(name: str) -> None:
    message = parse_aperak(parse_interchange(read_sample(name)).messages[0])
    data = json.loads((samples_dir() / f"{name}.json").read_text())[0]["data"]
    header, report = data["transaktionsdaten"], data["stammdaten"]["STATUSBERICHT"][0]
    assert message.message_reference == header["nachrichtenreferenznummer"]
    assert message.document_number == header["dokumentennummer"]
    assert message.category == header["kategorie"]
    assert message.document_date == utc(header["nachrichtendatum"])
    assert message.sender == header["absender"]["rollencodenummer"]
    assert message.receiver == header["empfaenger"]["rollencodenummer"]
    assert message.sender_code_list == CODE_LISTS[header["absender"]["rollencodetyp"]]
    assert message.receiver_code_list == CODE_LISTS[header["empfaenger"]["rollencodetyp"]]
    assert message.referenced_interchange == report["pruefgegenstand"]
    assert message.referenced_at == utc(report["datumPruefung"])
    if message.positive:
        assert report["status"] == "ERFOLGREICH"
        assert message.errors == []
        assert message.references == {"AGO": report["absenderreferenz"], "TN": report["transaktionsReferenznummer"]}
        return
    assert report["status"] == "FEHLER"
    details = report["fehler"]["fehlerDetails"]
    assert [JSON_ERROR_CODES[error.code] for error in message.errors] == [detail["code"] for detail in details]
    for error, detail in zip(message.errors, details, strict=True):
        assert error.meaning == ERC_CODES[error.code]
        cause = detail["ursache"]
        expected = {"ACW": cause["dokument"], "AGO": cause["nachricht"]}
        if "transaktion" in cause:
            expected["TN"] = cause["transaktion"]
        assert error.references == expected
        texts = detail.get("beschreibung", {})
        assert error.text == texts.get("beschreibung1")
        assert error.further_text == [texts[key] for key in sorted(texts) if key != "beschreibung1"]


def test_aperak_sample_with_contact() -> None:
    message = parse_aperak(parse_interchange(read_sample("nopid_APERAK_Z20-obis-unbekannt")).messages[0])
    data = json.loads((samples_dir() / "nopid_APERAK_Z20-obis-unbekannt.json").read_text())[0]["data"]
    contact = data["transaktionsdaten"]["absender"]["ansprechpartner"]
    assert message.contact_name == contact["nachname"]
    assert [c.number for c in message.contact] == [n["rufnummer"] for n in contact["rufnummern"]]
    assert [c.channel for c in message.contact] == ["TE"]


# ---------------------------------------------------------------- APERAK fixtures


def test_gas_fixture_with_two_errors_escapes_and_contact() -> None:
    interchange = parse_interchange((FIXTURES / "aperak" / "negative_gas_two_errors.edi").read_bytes())
    message = parse_aperak(interchange.messages[0])
    assert (message.sender_code_list, message.receiver_code_list) == ("332", "332")
    assert message.referenced_interchange == "LFGAS2511001"
    assert message.referenced_at == datetime(2025, 11, 4, 8, 15, tzinfo=UTC)
    assert message.contact_name == "Erika Beispiel"
    assert [(c.number, c.channel) for c in message.contact] == [
        ("erika.beispiel@netz.example", "EM"),
        ("0301234567", "TE"),
    ]
    assert [e.code for e in message.errors] == ["Z29", "Z39"]
    first, second = message.errors
    assert first.text == "Jahresverbrauch fehlt (QTY+31: Pflicht)+ bitte ergänzen"
    assert first.further_text == ["Anmeldung vom 03.11.2025"]
    assert first.references == {"ACW": "LFGAS2511001M1", "AGO": "LFGAS2511001D1", "TN": "VORGANG-4711"}
    assert second.text == "Code 'Z99' in STS+7 nicht zulässig"
    assert second.references["TN"] == "VORGANG-4712"
    assert build_aperak(message) == interchange.messages[0]
    assert parse_aperak(reserialize_aperak(interchange).messages[0]) == message


def test_strom_fixture_with_negative_and_positive_message() -> None:
    interchange = parse_interchange((FIXTURES / "aperak" / "strom_negative_and_positive.edi").read_bytes())
    negative, positive = (parse_aperak(m) for m in interchange.messages)
    assert (negative.category, positive.category) == ("313", "312")
    assert not negative.positive and positive.positive
    assert negative.errors[0].code == "Z10"
    assert positive.references == {"AGO": "DOC-55001-summer", "TN": "A-1+2:3'4?5"}
    rebuilt = reserialize_aperak(interchange)
    assert [parse_aperak(m) for m in rebuilt.messages] == [negative, positive]
    # without explicit parties the UNB parties follow the NAD code list (293 -> 500)
    derived = aperak_interchange([negative], reference="X1", prepared_at=SENT)
    assert (derived.sender, derived.receiver) == (NB, LF)


# ---------------------------------------------------------------- APERAK answers


@dataclass(frozen=True)
class Header:
    """The header of a message without a transaction id (e.g. an INVOIC)."""

    sender: str
    receiver: str
    sender_code_list: str
    receiver_code_list: str
    message_reference: str
    document_number: str


def received_utilmd(good: bytes) -> tuple[Interchange, UtilmdMessage]:
    interchange = parse_interchange(good)
    return interchange, parse_utilmd(interchange.messages[0])


def test_negative_aperak_z10_answering_utilmd_roundtrips(good: bytes) -> None:
    received, request = received_utilmd(good)
    text = "MaLo-ID 51234567890 ist nicht bekannt; Prüfung: 3+4=7?"
    aperak = negative_aperak(
        request,
        [AperakError(code="Z10", text=text)],
        interchange_reference=received.reference,
        interchange_date=received.prepared_at,
        at=NOW,
        reference="NBAPK0001",
    )
    assert (aperak.sender, aperak.receiver) == (request.receiver, request.sender)
    assert (aperak.sender_code_list, aperak.receiver_code_list) == ("293", "293")
    assert aperak.category == "313"
    assert aperak.document_date == NOW.replace(second=0)
    assert aperak.referenced_interchange == "LF2511030001"
    assert aperak.referenced_at == SENT
    assert aperak.errors[0].references == {"ACW": "M55001A", "AGO": "DOC-55001-1", "TN": "VORGANG-4711"}
    assert aperak.errors[0].meaning == ERC_CODES["Z10"]

    data = serialize_interchange(aperak_interchange([aperak], reference="NBIC0001", prepared_at=NOW))
    lines = data.decode().splitlines()
    assert lines[1] == "UNB+UNOC:3+9912345000002:500+9900000000003:500+251103:0940+NBIC0001'"
    for segment in (
        "BGM+313+NBAPK0001'",
        "RFF+ACE:LF2511030001'",
        "DTM+171:202511030900?+00:303'",
        "NAD+MS+9912345000002::293'",
        "NAD+MR+9900000000003::293'",
        "ERC+Z10'",
        "FTX+ABO+++MaLo-ID 51234567890 ist nicht bekannt; Prüfung?: 3?+4=7??'",
        "RFF+ACW:M55001A'",
        "RFF+AGO:DOC-55001-1'",
        "RFF+TN:VORGANG-4711'",
    ):
        assert segment in lines
    parsed = parse_interchange(data)
    assert (parsed.sender, parsed.receiver) == (NB, LF)
    assert parse_aperak(parsed.messages[0]) == aperak


def test_negative_aperak_keeps_explicit_references_and_skips_missing_transaction(good: bytes) -> None:
    received, request = received_utilmd(good)
    header = Header(request.sender, request.receiver, "293", "293", request.message_reference, request.document_number)
    aperak = negative_aperak(
        header,
        [AperakError(code="Z33", references={"TN": "OTHER"}), AperakError(code="Z29")],
        interchange_reference=received.reference,
        interchange_date=received.prepared_at,
        at=NOW,
        reference="NBAPK0002",
        document_number="NBDOC0002",
    )
    assert aperak.document_number == "NBDOC0002"
    assert aperak.errors[0].references == {"ACW": "M55001A", "AGO": "DOC-55001-1", "TN": "OTHER"}
    assert aperak.errors[1].references == {"ACW": "M55001A", "AGO": "DOC-55001-1"}
    with pytest.raises(ValueError, match="at least one error"):
        negative_aperak(request, [], interchange_reference="X", interchange_date=SENT, at=NOW, reference="R")


def test_positive_aperak_answering_utilmd_roundtrips(good: bytes) -> None:
    received, request = received_utilmd(good)
    aperak = positive_aperak(
        request, interchange_reference=received.reference, interchange_date=received.prepared_at, at=NOW, reference="P1"
    )
    assert aperak.positive and aperak.errors == []
    assert aperak.references == {"AGO": "DOC-55001-1", "TN": "VORGANG-4711"}
    raw = build_aperak(aperak)
    assert [s.tag for s in raw.segments] == ["BGM", "DTM", "RFF", "DTM", "RFF", "RFF", "NAD", "NAD"]
    data = serialize_interchange(aperak_interchange([aperak], reference="NBIC0002", prepared_at=NOW))
    assert parse_aperak(parse_interchange(data).messages[0]) == aperak


# ---------------------------------------------------------------- APERAK validation


def aperak_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "message_reference": "M1",
        "category": "313",
        "document_number": "D1",
        "document_date": SENT,
        "sender": NB.id,
        "receiver": LF.id,
        "errors": [AperakError(code="Z10")],
    }
    return fields | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"errors": []}, "at least one error"),
        ({"category": "312"}, "carries no errors"),
        ({"category": "23"}, "neither 313 nor 312"),
        ({"document_date": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"errors": [AperakError(code="Z10")], "referenced_at": datetime(2025, 1, 1)}, "timezone-aware"),
    ],
)
def test_invalid_aperak_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AperakMessage(**aperak_fields(**changes))


def test_empty_erc_code_is_rejected() -> None:
    with pytest.raises(ValidationError, match="ERC code is empty"):
        AperakError(code="")


def edited_aperak(edit: Callable[[list[Segment]], None]) -> bytes:
    """A serialised APERAK whose body segments were changed by ``edit`` (UNT count stays right)."""
    raw = build_aperak(AperakMessage(**aperak_fields()))
    edit(raw.segments)
    interchange = Interchange(sender=NB, receiver=LF, prepared_at=SENT, reference="IC", messages=[raw])
    return serialize_interchange(interchange)


def drop(tag: str, qualifier: str | None = None) -> Callable[[list[Segment]], None]:
    def edit(segments: list[Segment]) -> None:
        index = next(i for i, s in enumerate(segments) if s.tag == tag and qualifier in (None, s.elements[0]))
        del segments[index]

    return edit


def insert_before(tag: str, segment: Segment) -> Callable[[list[Segment]], None]:
    def edit(segments: list[Segment]) -> None:
        segments.insert(next(i for i, s in enumerate(segments) if s.tag == tag), segment)

    return edit


def replace_date(segments: list[Segment]) -> None:
    segments[1] = make_segment("DTM", ["137", "2025-11-03", "303"])


@pytest.mark.parametrize(
    ("edit", "detail", "prefix"),
    [
        (drop("NAD", "MS"), "mandatory data missing: NAD\\+MS", "UNH"),
        (drop("ERC"), "needs at least one error", "UNH"),
        (insert_before("ERC", make_segment("FTX", "ABO", "", "", "lost")), "outside an error group", "FTX"),
        (replace_date, "does not match format 303", "DTM+137"),
    ],
)
def test_unusable_aperak_content_points_at_the_segment(
    edit: Callable[[list[Segment]], None], detail: str, prefix: str
) -> None:
    data = edited_aperak(edit)
    with pytest.raises(EdifactContentError, match=detail) as info:
        parse_aperak(parse_interchange(data).messages[0])
    assert (info.value.segment, info.value.position) == (prefix[:3], line_of(data, prefix))


def test_parse_aperak_rejects_other_message_types(good: bytes) -> None:
    with pytest.raises(EdifactContentError, match="is a UTILMD message, not APERAK"):
        parse_aperak(parse_interchange(good).messages[0])


# ---------------------------------------------------------------- CONTRL sample and fixtures


def test_contrl_sample_parses_and_roundtrips() -> None:
    data = read_sample(CONTRL_SAMPLE)
    interchange = parse_interchange(data)
    message = parse_contrl(interchange.messages[0], interchange)
    assert message.association == "2.0b"
    assert (message.sender, message.receiver) == ("1234567890128", "9876543210987")
    assert message.interchange_reference == "GENERATED00001"
    assert message.rejected and message.action == "4"
    assert (message.interchange_error, message.interchange_error_segment) == ("2", "UNA")
    assert message.interchange_sender == Party(id="X", qualifier="14")
    [report] = message.message_reports
    assert (report.message_type, report.action, report.error, report.error_segment) == ("APERAK", "4", "12", "UNH")
    assert [(s.position, s.error_code) for s in message.segment_errors] == [("X", "13"), ("X", "13")]
    assert message.segment_errors[1].element_errors == [ContrlElementError(error_code="12", element="X", component="X")]
    assert message.error_code == "2"
    assert build_contrl(message) == interchange.messages[0]
    assert roundtrip_contrl(message) == message
    assert sender_of_broken(data) == (
        Party(id="1234567890128", qualifier="500"),
        Party(id="9876543210987", qualifier="500"),
        "GENERATED00001",
    )


def fixture_contrl(name: str) -> tuple[Interchange, ContrlMessage]:
    interchange = parse_interchange((FIXTURES / "contrl" / name).read_bytes())
    return interchange, parse_contrl(interchange.messages[0], interchange)


@pytest.mark.parametrize(
    "name",
    [
        "syntaxfehler_unt_zaehler.edi",
        "syntaxfehler_segmente.edi",
        "syntaxfehler_unz.edi",
        "empfangsbestaetigung_gas.edi",
    ],
)
def test_contrl_fixtures_roundtrip(name: str) -> None:
    interchange, message = fixture_contrl(name)
    assert build_contrl(message) == interchange.messages[0]
    assert roundtrip_contrl(message) == message


def test_contrl_fixture_values() -> None:
    _, unt = fixture_contrl("syntaxfehler_unt_zaehler.edi")
    assert unt.interchange_error is None and unt.error_code == "29"
    assert unt.message_reports[0].model_dump(
        include={"message_reference", "error", "error_segment", "error_element"}
    ) == {
        "message_reference": "M55001WIN",
        "error": "29",
        "error_segment": "UNT",
        "error_element": 1,
    }
    _, segments = fixture_contrl("syntaxfehler_segmente.edi")
    assert [r.action for r in segments.message_reports] == ["4", "7"]
    assert segments.segment_errors == [
        ContrlSegmentError(position=9, error_code="22"),
        ContrlSegmentError(
            position=12,
            element_errors=[
                ContrlElementError(error_code="37", element=2, component=1),
                ContrlElementError(error_code="12", element=3),
            ],
        ),
    ]
    _, unz = fixture_contrl("syntaxfehler_unz.edi")
    assert (unz.interchange_error, unz.interchange_error_segment, unz.interchange_error_element) == ("28", "UNZ", 2)
    _, ack = fixture_contrl("empfangsbestaetigung_gas.edi")
    assert (ack.action, ack.rejected, ack.error_code, ack.message_reports) == ("7", False, None, [])
    assert (ack.sender_code_list, ack.interchange_sender) == ("502", Party(id="9870000000008", qualifier="502"))


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        (b"UCM+M55001WIN+UTILMD:D:11A:UN:S2.1+4'", b"UCS+3+13'", "UCS\\) outside a message response"),
        (b"UCS+9+22'\nUCS+12'", b"UCD+37+2'\nUCS+12'", "without a segment error"),
        (b"UCS+9+22'", b"FTX+AAO+++x'", "FTX is not part of a CONTRL"),
    ],
)
def test_malformed_contrl_is_rejected(old: bytes, new: bytes, detail: str) -> None:
    data = (FIXTURES / "contrl" / "syntaxfehler_segmente.edi").read_bytes()
    interchange = parse_interchange(data.replace(old, new))
    with pytest.raises(EdifactContentError, match=detail):
        parse_contrl(interchange.messages[0], interchange)


def test_parse_contrl_rejects_other_message_types(good: bytes) -> None:
    interchange = parse_interchange(good)
    with pytest.raises(EdifactContentError, match="not CONTRL"):
        parse_contrl(interchange.messages[0], interchange)


# ---------------------------------------------------------------- CONTRL for broken interchanges


def broken(good: bytes, variant: str) -> bytes:
    """Malformed variants of a valid UTILMD interchange."""
    unt = good.decode().splitlines()[line_of(good, "UNT") - 1]
    edits = {
        "truncated": lambda: good[: good.index(b"RFF+Z13") + 8],
        "truncated-before-unt": lambda: good[: good.index(b"UNT")],
        "wrong-unt-count": lambda: good.replace(unt.encode(), unt.replace("UNT+", "UNT+9").encode()),
        "missing-unz": lambda: good[: good.index(b"UNZ")],
        "bad-release-character": lambda: good.replace(b"VORGANG-4711", b"VORG?ANG-4711"),
        "release-before-terminator": lambda: good.replace(b"IDE+24+VORGANG-4711'", b"IDE+24+VORGANG-4711?'"),
        "unt-reference-mismatch": lambda: good.replace(b"+M55001A'\nUNZ", b"+OTHER'\nUNZ"),
        "wrong-unz-count": lambda: good.replace(b"UNZ+1+", b"UNZ+2+"),
        "unz-reference-mismatch": lambda: good.replace(b"UNZ+1+LF2511030001", b"UNZ+1+LF2511030002"),
        "control-character": lambda: good.replace(b"VORGANG-4711", b"VORG\x01"),
        "invalid-tag": lambda: good.replace(b"LOC+Z16", b"loc+Z16"),
        "segment-after-unz": lambda: good + b"UNH+2+UTILMD:D:11A:UN:S2.1'\n",
    }
    return edits[variant]()


#: variant -> (0085 code, where it is reported: "UCI", "UCM" or "UCS", tag the error names)
EXPECTED = {
    "truncated": ("13", "UCS", "RFF"),
    "truncated-before-unt": ("13", "UCM", "UNT"),
    "wrong-unt-count": ("29", "UCM", "UNT"),
    "missing-unz": ("13", "UCI", "UNZ"),
    "bad-release-character": ("22", "UCS", "IDE"),
    "release-before-terminator": ("22", "UCS", "IDE"),
    "unt-reference-mismatch": ("28", "UCM", "UNT"),
    "wrong-unz-count": ("29", "UCI", "UNZ"),
    "unz-reference-mismatch": ("28", "UCI", "UNZ"),
    "control-character": ("21", "UCS", "IDE"),
    "invalid-tag": ("12", "UCS", None),
    "segment-after-unz": ("33", "UCI", "UNH"),
}


def syntax_error(data: bytes) -> EdifactSyntaxError:
    with pytest.raises(EdifactSyntaxError) as info:
        parse_interchange(data)
    return info.value


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_contrl_for_syntax_error(good: bytes, variant: str) -> None:
    data = broken(good, variant)
    error = syntax_error(data)
    code, level, tag = EXPECTED[variant]
    assert error.segment == tag
    assert syntax_error_code(error) == code
    addressed = sender_of_broken(data)
    assert addressed == (LF, NB, "LF2511030001")
    sender, receiver, reference = addressed
    contrl = contrl_for_syntax_error(
        interchange_reference=reference,
        original_sender=sender,
        original_receiver=receiver,
        error=error,
        reference="NBCTRL0001",
        data=data,
    )
    assert contrl.action == "4" and contrl.rejected
    assert (contrl.sender, contrl.receiver) == (NB.id, LF.id)
    assert (contrl.interchange_sender, contrl.interchange_receiver) == (LF, NB)
    assert contrl.error_code == code
    assert error.position is not None
    if level == "UCI":
        assert contrl.interchange_error == code
        assert contrl.interchange_error_segment == (tag if tag in ("UNB", "UNZ") else None)
        assert contrl.message_reports == []
    else:
        assert contrl.interchange_error is None
        [report] = contrl.message_reports
        assert (report.message_reference, report.message_type, report.association) == ("M55001A", "UTILMD", "S2.1")
        assert report.action == "4"
        if level == "UCM":
            assert (report.error, report.error_segment) == (code, "UNT")
            assert report.segment_errors == []
        else:
            [segment] = report.segment_errors
            # UCS counts from UNH = 1; the error named the position in the interchange
            assert segment.position == error.position - line_of(good, "UNH") + 1
            assert segment.error_code == code
    assert roundtrip_contrl(contrl) == contrl


def test_element_position_is_reported(good: bytes) -> None:
    data = broken(good, "wrong-unt-count")
    contrl = contrl_for_syntax_error(
        interchange_reference="LF2511030001",
        original_sender=LF,
        original_receiver=NB,
        error=syntax_error(data),
        reference="C2",
        data=data,
    )
    lines = serialize_interchange(contrl_interchange([contrl], reference="IC2", prepared_at=SENT)).decode().splitlines()
    assert "UCI+LF2511030001+9900000000003:500+9912345000002:500+4'" in lines
    assert "UCM+M55001A+UTILMD:D:11A:UN:S2.1+4+29+UNT+1'" in lines


def test_unclosed_message_reports_the_message_before(good: bytes) -> None:
    second_unh = b"UNH+M55001B+UTILMD:D:11A:UN:S2.1'\n"
    data = good[: good.index(b"UNT")] + second_unh + good[good.index(b"UNT") :]
    error = syntax_error(data)
    assert "not closed by UNT" in error.detail
    contrl = contrl_for_syntax_error(
        interchange_reference="LF2511030001",
        original_sender=LF,
        original_receiver=NB,
        error=error,
        reference="C3",
        data=data,
    )
    [report] = contrl.message_reports
    assert (report.message_reference, report.error, report.error_segment) == ("M55001A", "13", "UNT")


def test_without_data_the_code_goes_into_uci(good: bytes) -> None:
    error = syntax_error(broken(good, "wrong-unt-count"))
    contrl = contrl_for_syntax_error(
        interchange_reference="LF2511030001", original_sender=LF, original_receiver=NB, error=error, reference="C4"
    )
    assert (contrl.interchange_error, contrl.interchange_error_segment, contrl.message_reports) == ("29", None, [])


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "13"),
        (b"Hallo Welt", "13"),
        (b"UNA:+.:? 'UNB+UNOC:3+A:500+B:500+251103:0900+R'", "20"),  # release = component separator
        (b"UNB+UNOC:3+A:500+B:500+{{date}}:{{time}}+R'", "12"),
        (b"UNB+UNOC:3+:500+B:500+251103:0900+R'", "13"),
        (b"UNB+UNOC:3+A:500+B:500+251103:0900+R'UNG+X'", "15"),
        (b"UNB+UNOC:3+A:500+B:500+251103:0900+R'UNZ+x+R'", "37"),
        (b"UNB+UNOC:3+A:500+B:500+251103:0900+R'UNH+1+UTILMD:D'", "13"),
        (b"UNB+UNOC:3+A:500+B:500+251103:0900+R'RFF+Z13:1'UNZ+0+R'", "33"),
    ],
)
def test_every_envelope_error_kind_has_a_code(data: bytes, code: str) -> None:
    error = syntax_error(data)
    assert syntax_error_code(error) == code
    assert code in SYNTAX_ERROR_CODES


def test_unknown_error_kinds_are_unspecified() -> None:
    assert syntax_error_code(EdifactSyntaxError("something odd", "RFF", 4)) == "18"
    assert all(kind.code in SYNTAX_ERROR_CODES for kind in SYNTAX_ERROR_KINDS)


def test_contrl_acknowledgement_for_gas() -> None:
    sender, receiver = Party(id="9870000000008", qualifier="502"), Party(id="9801234000001", qualifier="502")
    ack = contrl_acknowledgement(
        interchange_reference="GASAPK0001", original_sender=sender, original_receiver=receiver, reference="LFC1"
    )
    assert (ack.action, ack.rejected, ack.error_code) == ("7", False, None)
    assert (ack.sender, ack.sender_code_list, ack.receiver) == (receiver.id, "502", sender.id)
    data = serialize_interchange(contrl_interchange([ack], reference="LFIC1", prepared_at=SENT))
    assert "UCI+GASAPK0001+9870000000008:502+9801234000001:502+7'" in data.decode().splitlines()
    assert roundtrip_contrl(ack) == ack


def test_contrl_interchange_needs_one_pair_of_parties() -> None:
    first = contrl_acknowledgement(interchange_reference="A", original_sender=LF, original_receiver=NB, reference="1")
    other = contrl_acknowledgement(interchange_reference="B", original_sender=NB, original_receiver=LF, reference="2")
    with pytest.raises(ValueError, match="share sender and receiver"):
        contrl_interchange([first, other], reference="IC", prepared_at=SENT)
    with pytest.raises(ValueError, match="at least one"):
        contrl_interchange([], reference="IC", prepared_at=SENT)


def test_contrl_built_by_hand_roundtrips() -> None:
    message = ContrlMessage(
        message_reference="C9",
        sender=NB.id,
        receiver=LF.id,
        interchange_reference="LF1",
        interchange_sender=LF,
        interchange_receiver=NB,
        action="4",
        message_reports=[
            ContrlMessageReport(
                message_reference="M1",
                message_type="MSCONS",
                version="D",
                release="04B",
                agency="UN",
                association="2.4c",
                action="4",
                segment_errors=[
                    ContrlSegmentError(position=7, element_errors=[ContrlElementError(error_code="39", element=2)])
                ],
            )
        ],
    )
    assert roundtrip_contrl(message) == message
    assert message.error_code == "39"


# ---------------------------------------------------------------- sender_of_broken


def test_sender_of_broken_on_truncated_interchange(good: bytes) -> None:
    for cut in (good.index(b"UNH") + 5, good.index(b"RFF") + 3, good.index(b"UNZ")):
        assert sender_of_broken(good[:cut]) == (LF, NB, "LF2511030001")


def test_sender_of_broken_honours_una_and_release_characters() -> None:
    data = b"UNA|^.# !UNB^UNOC|3^99#^001|500^9912345000002|500^251103|0900^REF#!1!UNH^1"
    assert sender_of_broken(data) == (Party(id="99^001", qualifier="500"), NB, "REF!1")
    latin1 = "\ufeffUNB+UNOC:3+9900000000003:500+9912345000002:500+251103:0900+RÄF'".encode("latin-1", "ignore")
    assert sender_of_broken(latin1) == (LF, NB, "RÄF")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        bytes(range(256)),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"Hallo Welt",
        b"UNA:+.? 'UNB+UNOC:3+9900000000003:500+9912345000002:500+2511",  # cut inside UNB
        b"UNB+UNOC:3+9900000000003:500'",  # no receiver, no reference
        b"UNB+UNOC:3+9900000000003:500+9912345000002:500+251103:0900+'",  # empty reference
        b"UNB+UNOC:3+99\x01:500+9912345000002:500+251103:0900+R'",  # control character in the id
        b"UNB+UNOC:3+9900000000003:500+9912345000002:500+251103:0900+REFERENCE-TOO-LONG'",
        b"garbage UNB+UNOC:3+9900000000003:500+9912345000002:500+251103:0900+R'",
    ],
)
def test_sender_of_broken_returns_none_for_garbage(data: bytes) -> None:
    assert sender_of_broken(data) is None
