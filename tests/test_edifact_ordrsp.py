"""Typed ORDRSP messages (answers to ORDERS): shared samples, answers built in code, malformed input."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
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
from edifact.orders import OrdersCommunication, OrdersMessage
from edifact.ordrsp import (
    OUTCOMES,
    OrdrspMessage,
    OrdrspOutcome,
    OrdrspPosition,
    build_ordrsp,
    ordrsp_interchange,
    parse_ordrsp,
)
from edifact.pruefidentifikatoren import PRUEFIDENTIFIKATOREN
from edifact.registry import parse_message
from tests.conftest import samples_dir
from tests.test_edifact_orders import (
    line_of,
    load_lenient_json,
    reklamation,
    sample_bytes,
    sample_params,
    sperrauftrag,
    without,
)

BERLIN = ZoneInfo("Europe/Berlin")
LF = Party(id="9900000000003", qualifier="500")
NB = Party(id="9900123456787", qualifier="500")
MSB = Party(id="9900000000029", qualifier="500")

# ---------------------------------------------------------------- helpers


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_one(data: bytes | str) -> OrdrspMessage:
    interchange = parse_interchange(data)
    assert len(interchange.messages) == 1
    return parse_ordrsp(interchange.messages[0])


def serialize(*messages: OrdrspMessage) -> bytes:
    interchange = ordrsp_interchange(
        list(messages), sender=NB, receiver=LF, reference="RS0001", prepared_at=datetime(2025, 10, 3, 9, 0, tzinfo=UTC)
    )
    return serialize_interchange(interchange)


def answer(order: OrdersMessage, pid: str, **fields: Any) -> OrdrspMessage:
    """An ORDRSP to ``order`` from its receiver."""
    base: dict[str, Any] = {
        "pruefidentifikator": pid,
        "message_reference": f"A{pid}",
        "category": order.category,
        "document_number": f"RS-{pid}-000042",
        "document_date": datetime(2025, 10, 3, 11, 0, tzinfo=BERLIN),
        "order_reference": order.document_number,
        "sender": order.receiver,
        "receiver": order.sender,
    }
    return OrdrspMessage(**(base | fields))


def confirmation() -> OrdrspMessage:
    """19116 with contact, an unverbindliche Preisinformation and a deviation note."""
    return answer(
        sperrauftrag(),
        "19116",
        answer_code="A09",
        answer_code_list="E_0470",
        contact_name="Max Netz",
        communications=[OrdersCommunication(number="+4936431234", channel="TE")],
        currency="EUR",
        positions=[OrdrspPosition(texts={"ABO": "Preis: Anfahrt zusätzlich 25?+ EUR (Sonderfall: 2. Zähler)"})],
        minimum_price=Decimal("59.50"),
        maximum_price=Decimal("120"),
    )


def rejection() -> OrdrspMessage:
    """19117 with an answer text that needs escaping."""
    return answer(
        sperrauftrag(),
        "19117",
        answer_code="A05",
        answer_code_list="E_0470",
        answer_text="MaLo nicht 'gesperrt'?: Nein",
    )


def complaint_rejection() -> OrdrspMessage:
    """19114: the MSB refuses a Reklamation von Werten."""
    return answer(reklamation(), "19114", answer_code="A02", answer_code_list="E_0520", product="Z12")


def information() -> OrdrspMessage:
    """A generic 19120 Mitteilung with its own date, a reference of another kind and no AJT."""
    return answer(
        reklamation(),
        "19120",
        order_reference=None,
        references={"ACW": "OR-17111-000007"},
        dates={"203": datetime(2025, 11, 1, 0, 0, tzinfo=BERLIN)},
        notes={"ACB": "Umstellung erfolgt zum Monatsbeginn"},
    )


OWN = [confirmation, rejection, complaint_rejection, information]

# ---------------------------------------------------------------- shared samples


@pytest.mark.parametrize("path", sample_params("19*_ORDRSP_*.edi"))
def test_every_ordrsp_sample_parses_rebuilds_and_roundtrips(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    interchange = parse_interchange(sample_bytes(path))
    [raw] = interchange.messages
    message = parse_ordrsp(raw)
    assert message.pruefidentifikator == path.name[:5]
    rebuilt = build_ordrsp(message)
    assert rebuilt == raw
    text = wrap_messages(interchange, [serialize_message(rebuilt)])
    assert parse_one(text) == message
    assert parse_message(raw, interchange) == message


def test_shared_ordrsp_samples_are_present() -> None:
    assert {path.name[:5] for path in samples_dir().glob("19*_ORDRSP_*.edi")} >= {"19116", "19117"}


@pytest.mark.parametrize("path", sample_params("19*_ORDRSP_*.edi"))
def test_ordrsp_sample_fields_match_paired_json(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        pytest.skip(f"no paired JSON for {path.name}")
    data = load_lenient_json(json_path)["data"]
    header = data["transaktionsdaten"]
    m = parse_one(sample_bytes(path))
    assert (m.document_number, m.category) == (header["dokumentennummer"], header["kategorie"])
    assert (m.pruefidentifikator, m.message_reference) == (
        header["pruefidentifikator"],
        header["nachrichtenreferenznummer"],
    )
    assert m.document_date == iso(header["nachrichtendatum"])
    assert (m.sender, m.receiver) == (header["absender"]["rollencodenummer"], header["empfaenger"]["rollencodenummer"])
    assert m.order_reference == header["auftragsReferenz"]
    assert (m.answer_code, m.answer_code_list) == (header["antwortstatus"], header["antwortstatusCodeliste"])
    assert m.answer_text == header.get("freitext")
    contact = header["absender"]["ansprechpartner"]
    assert m.contact_name == contact["nachname"]
    assert [c.number for c in m.communications] == [phone["rufnummer"] for phone in contact["rufnummern"]]
    order = data["stammdaten"].get("AUFTRAG", [{}])[0]
    for name, key in (("minimum_price", "mindestpreis"), ("maximum_price", "hoechstpreis")):
        assert getattr(m, name) == (order[key]["wert"] if key in order else None)
        assert key not in order or order[key]["einheit"] == m.currency
    positions = order.get("positionsdaten", [])
    assert [p.number for p in m.positions] == [str(p["positionsnummer"]) for p in positions]
    for ours, theirs in zip(m.positions, positions, strict=True):
        assert ours.texts.get("ABO") == theirs.get("infoAbweichung", {}).get("abweichung1")


def test_sample_outcomes() -> None:
    folder = samples_dir()
    accepted = parse_one(sample_bytes(folder / "19116_ORDRSP_bestaetigung-sperrauftrag.edi"))
    rejected = parse_one(sample_bytes(folder / "19117_ORDRSP_ablehnung-sperrauftrag.edi"))
    assert (accepted.outcome, accepted.accepted) == (OrdrspOutcome.ACCEPTED, True)
    assert (rejected.outcome, rejected.accepted, rejected.answer_text) == (OrdrspOutcome.REJECTED, False, "Nein")
    assert accepted.order_reference == rejected.order_reference == "AFN9523"
    assert (accepted.minimum_price, accepted.maximum_price, accepted.currency) == (Decimal(9), Decimal(18), "EUR")


# ---------------------------------------------------------------- own messages


@pytest.mark.parametrize("make", OWN, ids=lambda make: make.__name__)
def test_answers_built_in_code_roundtrip(make: Any) -> None:
    message = make()
    assert parse_one(serialize(message)) == message


@pytest.mark.parametrize("make", OWN, ids=lambda make: make.__name__)
def test_build_output_parses_with_pydifact(make: Any) -> None:
    message = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingImplementationWarning)
        interchange = PydifactInterchange.from_str(serialize(message).decode())
        interchange.validate()
        [parsed] = interchange.get_messages()
    assert (parsed.type, parsed.version) == ("ORDRSP", "D.10A")
    assert parsed.segments == build_ordrsp(message).segments


def test_confirmation_layout() -> None:
    text = serialize(confirmation()).decode()
    assert (
        "UNH+A19116+ORDRSP:D:10A:UN:1.4a'\nBGM+Z51+RS-19116-000042'\nDTM+137:202510030900?+00:303'\n"
        "RFF+ON:OR-17115-000123'\nRFF+Z13:19116'\nAJT+A09+E_0470'\nNAD+MS+9900123456787::293'\nCTA+IC+:Max Netz'\n"
        "COM+?+4936431234:TE'\nNAD+MR+9900000000003::293'\nCUX+2:EUR:9'\nLIN+1'\n"
        "FTX+ABO+++Preis?: Anfahrt zusätzlich 25???+ EUR (Sonderfall?: 2. Zähler)'\n"
        "UNS+S'\nMOA+Z02:59.50'\nMOA+Z03:120'\nUNT+17+A19116'\n"
    ) in text


def test_outcomes_and_answers() -> None:
    assert set(OUTCOMES) == PRUEFIDENTIFIKATOREN["ORDRSP"]
    assert (confirmation().accepted, rejection().accepted, complaint_rejection().accepted) == (True, False, False)
    assert (information().outcome, information().accepted) == (OrdrspOutcome.INFORMATION, None)
    order = sperrauftrag()
    assert confirmation().answers(order) and rejection().answers(order)
    assert not complaint_rejection().answers(order)  # 19114 answers a 17113
    assert complaint_rejection().answers(reklamation())
    assert not rejection().model_copy(update={"order_reference": "OTHER"}).answers(order)
    assert not rejection().model_copy(update={"sender": MSB.id}).answers(order)


def test_registry_and_inspect_use_the_model() -> None:
    data = serialize(rejection(), confirmation().model_copy(update={"message_reference": "SECOND"}))
    interchange = parse_interchange(data)
    assert [parse_message(raw, interchange) for raw in interchange.messages] == [
        rejection(),
        confirmation().model_copy(update={"message_reference": "SECOND"}),
    ]
    first, second = inspect_interchange(data)["messages"]
    assert (first["type"], first["pruefidentifikator"], first["order_reference"]) == (
        "ORDRSP",
        "19117",
        "OR-17115-000123",
    )
    assert (first["answer_code"], second["minimum_price"]) == ("A05", "59.50")


def test_model_refuses_foreign_pids_and_float_amounts() -> None:
    with pytest.raises(ValidationError, match="not an ORDRSP Prüfidentifikator"):
        answer(sperrauftrag(), "17115")
    with pytest.raises(ValidationError, match="not float"):
        answer(sperrauftrag(), "19116", minimum_price=59.5)


# ---------------------------------------------------------------- malformed input

GOOD = """UNA:+.? '
UNB+UNOC:3+9900123456787:500+9900000000003:500+251003:0900+RS19117A'
UNH+1+ORDRSP:D:10A:UN:1.4a'
BGM+Z51+RS-19117-000042'
DTM+137:202510030900?+00:303'
RFF+ON:OR-17115-000123'
RFF+Z13:19117'
AJT+A05+E_0470'
FTX+AAP+++Kundenanlage bereits gesperrt'
NAD+MS+9900123456787::293'
NAD+MR+9900000000003::293'
UNS+S'
UNT+11+1'
UNZ+1+RS19117A'
"""


def _error(text: str) -> EdifactContentError:
    interchange = parse_interchange(text)
    with pytest.raises(EdifactContentError) as info:
        parse_ordrsp(interchange.messages[0])
    return info.value


def test_good_file_of_the_malformed_tests_is_good() -> None:
    m = parse_one(GOOD)
    assert m.answers(sperrauftrag()) and m.accepted is False
    assert (m.answer_code, m.answer_text) == ("A05", "Kundenanlage bereits gesperrt")


def test_missing_bgm() -> None:
    error = _error(without(GOOD, "BGM+"))
    assert (error.segment, error.position) == ("UNH", line_of(GOOD, "UNH"))
    assert "mandatory data missing: BGM" in error.detail


@pytest.mark.parametrize(("prefix", "words"), [("RFF+ON", "RFF+ON"), ("AJT", "AJT")])
def test_answer_without_reference_or_code(prefix: str, words: str) -> None:
    error = _error(without(GOOD, prefix))
    assert (error.segment, error.position) == ("UNH", line_of(GOOD, "UNH"))
    assert f"mandatory data missing: {words}" in error.detail


def test_generic_answers_need_no_reference() -> None:
    text = without(without(GOOD, "AJT"), "RFF+ON").replace("RFF+Z13:19117'", "RFF+Z13:19121'")
    m = parse_one(text)
    assert (m.pruefidentifikator, m.order_reference, m.answer_code, m.outcome) == (
        "19121",
        None,
        None,
        OrdrspOutcome.INFORMATION,
    )


@pytest.mark.parametrize(
    ("pid", "words"),
    [("19999", "not a published ORDRSP Prüfidentifikator"), ("17115", "not a ORDRSP Prüfidentifikator (19xxx)")],
)
def test_unknown_pruefidentifikator_points_at_the_rff(pid: str, words: str) -> None:
    error = _error(GOOD.replace("RFF+Z13:19117'", f"RFF+Z13:{pid}'"))
    assert (error.segment, error.position) == ("RFF", line_of(GOOD, "RFF+Z13"))
    assert words in error.detail


def test_structural_errors_point_at_the_segment() -> None:
    error = _error(GOOD.replace("AJT+A05+E_0470'", "AJT++E_0470'"))
    assert (error.segment, error.position) == ("AJT", line_of(GOOD, "AJT"))
    twice = GOOD.replace("AJT+A05+E_0470'\n", "AJT+A05+E_0470'\nAJT+A06+E_0470'\n").replace("UNT+11+", "UNT+12+")
    error = _error(twice)
    assert (error.segment, error.position) == ("AJT", line_of(GOOD, "AJT") + 1)
    assert "more than one answer" in error.detail
    price = GOOD.replace("UNS+S'\n", "UNS+S'\nMOA+Z02:neun'\n").replace("UNT+11+", "UNT+12+")
    error = _error(price)
    assert (error.segment, error.position) == ("MOA", line_of(GOOD, "UNS") + 1)
    assert "'neun' is not a number" in error.detail
    error = _error(GOOD.replace("DTM+137:202510030900?+00:303'", "DTM+137:20251003:303'"))
    assert (error.segment, error.position) == ("DTM", line_of(GOOD, "DTM+137"))


def test_not_an_ordrsp_message() -> None:
    error = _error(GOOD.replace("ORDRSP:D:10A:UN:1.4a", "ORDERS:D:09B:UN:1.4b"))
    assert "is a ORDERS message, not ORDRSP" in error.detail


@pytest.mark.parametrize(
    ("message", "segment", "words"),
    [
        pytest.param(confirmation().model_copy(update={"order_reference": None}), "RFF", "RFF+ON", id="no-reference"),
        pytest.param(rejection().model_copy(update={"answer_code": None}), "AJT", "AJT", id="no-answer-code"),
        pytest.param(rejection().model_copy(update={"pruefidentifikator": "19999"}), "RFF", "published", id="pid"),
        pytest.param(rejection().model_copy(update={"sender": "9900000000010"}), "NAD", "sender", id="bad-mp-id"),
    ],
)
def test_build_refuses_incomplete_answers(message: OrdrspMessage, segment: str, words: str) -> None:
    with pytest.raises(EdifactContentError) as info:
        build_ordrsp(message)
    assert info.value.segment == segment and words in info.value.detail
