"""Typed REMADV messages: shared samples, an own Zahlungsavis, rejections built in code, malformed input."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from edifact.envelope import Party, parse_interchange, serialize_interchange
from edifact.errors import EdifactContentError
from edifact.remadv import (
    RemadvItem,
    RemadvMessage,
    RemadvPositionRejection,
    RemadvRejection,
    build_remadv,
    parse_remadv,
    remadv_interchange,
)
from tests.conftest import SAMPLES, samples_dir

FIXTURES = Path(__file__).parent / "fixtures" / "edifact" / "remadv"
BERLIN = ZoneInfo("Europe/Berlin")
LF = Party(id="9900876543211", qualifier="500")
NB = Party(id="9900123456787", qualifier="500")

# ---------------------------------------------------------------- helpers


def sample_params(pattern: str) -> list[Any]:
    """One parameter per shared sample; a single placeholder that skips when the folder is absent."""
    if not SAMPLES.is_dir():
        return [pytest.param(None, id="samples-missing")]
    return [pytest.param(path, id=path.stem) for path in sorted(SAMPLES.glob(pattern))]


def sample_bytes(path: Path) -> bytes:
    return path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


def load_lenient_json(path: Path) -> Any:
    """The paired JSON: some miss commas between members, some are wrapped in a list; numbers stay Decimal."""
    text = re.sub(r'([}\]"\w])(\s*\n\s*)(["{])', r"\1,\2\3", path.read_text(encoding="utf-8"))
    data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return data[0] if isinstance(data, list) else data


def repair_mojibake(text: str) -> str:
    """Some JSON texts were UTF-8 read as Latin-1 (``Â§`` for ``§``); undo that where it applies."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_one(data: bytes) -> RemadvMessage:
    interchange = parse_interchange(data)
    assert len(interchange.messages) == 1
    return parse_remadv(interchange.messages[0])


def serialize(*messages: RemadvMessage) -> bytes:
    interchange = remadv_interchange(
        list(messages), sender=LF, receiver=NB, reference="AV0001", prepared_at=datetime(2025, 4, 22, 10, 0, tzinfo=UTC)
    )
    return serialize_interchange(interchange)


def roundtrip(message: RemadvMessage) -> RemadvMessage:
    return parse_one(serialize(message))


def line_of(data: bytes, prefix: str) -> int:
    """1-based line number of the first line starting with ``prefix`` (one segment per line, UNA is line 1)."""
    lines = data.decode().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


def acceptance() -> bytes:
    return (FIXTURES / "33001_zahlungsavis.edi").read_bytes()


def rejection_33003() -> RemadvMessage:
    """A Strom Abweisung Kopf und Summe: the NN invoice has an arithmetic error (E_0406, A23)."""
    return RemadvMessage(
        association="2.9e",
        pruefidentifikator="33003",
        message_reference="1",
        category="239",
        document_number="AW-2025-000077",
        document_date=datetime(2025, 4, 14, 9, 30, tzinfo=BERLIN),
        sender=LF.id,
        receiver=NB.id,
        total=Decimal("0"),
        items=[
            RemadvItem(
                invoice_number="NNR-2025-000816",
                invoice_date=datetime(2025, 4, 10, 8, 15, tzinfo=UTC),
                due_amount=Decimal("59.63"),
                paid_amount=Decimal("0"),
                rejections=[
                    RemadvRejection(
                        code="A23",
                        code_list="E_0406",
                        text="Position 2: Betrag 69.91 EUR passt nicht zu 812 kWh x 0.0871 EUR/kWh = 70.73 EUR",
                    )
                ],
            )
        ],
    )


# ---------------------------------------------------------------- shared samples


@pytest.mark.parametrize("path", sample_params("33*_REMADV_*.edi"))
def test_every_remadv_sample_parses_and_roundtrips(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    interchange = parse_interchange(sample_bytes(path))
    assert interchange.messages
    for raw in interchange.messages:
        message = parse_remadv(raw)
        assert message.pruefidentifikator == path.name[:5]
        assert len(message.items) == sum(1 for segment in raw.segments if segment.tag == "DOC")
        assert message.total is not None
        assert roundtrip(message) == message


def test_shared_remadv_samples_are_present() -> None:
    assert len(list(samples_dir().glob("33*_REMADV_*.edi"))) >= 4


_AVIS_TYPES = {"ZAHLUNGSAVIS": "481", "ABGELEHNTE_FORDERUNG": "239"}


def _compare_rejections(ours: list[RemadvRejection], theirs: list[dict[str, Any]], where: str) -> int:
    assert len(ours) == len(theirs), where
    for rejection, expected in zip(ours, theirs, strict=True):
        assert rejection.code == expected["abweichungsgrundCode"], where
        assert rejection.code_list == expected["abweichungsgrundCodeliste"], where
        assert rejection.text == (
            repair_mojibake(expected["abweichungsgrundBemerkung"]) if "abweichungsgrundBemerkung" in expected else None
        ), where
        assert rejection.references.get("AFL") == expected.get("zugehoerigeRechnung"), where
        assert rejection.notes.get("Z14") == expected.get("abschlagsrechnungen"), where
        assert rejection.notes.get("Z16") == expected.get("fehlendePosition"), where
    return 6 * len(ours)


@pytest.mark.parametrize("path", sample_params("33*_REMADV_*.edi"))
def test_remadv_sample_fields_match_paired_json(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        pytest.skip(f"no paired JSON for {path.name}")
    data = load_lenient_json(json_path)["data"]
    avis, header = data["stammdaten"]["AVIS"][0], data["transaktionsdaten"]
    m = parse_one(sample_bytes(path))

    assert m.document_number == avis["avisNummer"] == header["dokumentennummer"]
    assert m.category == _AVIS_TYPES[avis["avisTyp"]] == header["kategorie"]
    assert m.pruefidentifikator == header["pruefidentifikator"]
    assert m.message_reference == header["nachrichtenreferenznummer"]
    assert m.document_date == iso(header["nachrichtendatum"])
    assert m.sender == header["absender"]["rollencodenummer"]
    assert m.receiver == header["empfaenger"]["rollencodenummer"]
    assert m.total == avis["zuZahlen"]["wert"]
    compared = 9
    assert len(m.items) == len(avis["positionen"])
    for item, expected in zip(m.items, avis["positionen"], strict=True):
        where = item.invoice_number
        assert item.invoice_number == expected["rechnungsNummer"]
        assert item.invoice_date == iso(expected["rechnungsDatum"]), where
        assert item.due_amount == expected["zuZahlen"]["wert"], where
        assert item.paid_amount == expected["gesamtBrutto"]["wert"], where
        assert item.references.get("ACW") == expected.get("referenz"), where
        assert (item.document_type in ("457", "Z25")) == expected["istStorno"], where
        assert (item.document_type in ("389", "Z25")) == expected["istSelbstausgestellt"], where
        compared += 7 + _compare_rejections(item.rejections, expected.get("abweichung", []), where)
        positions = expected.get("positionen", [])
        assert [p.position for p in item.position_rejections] == [str(p["positionsnummer"]) for p in positions]
        for ours, theirs in zip(item.position_rejections, positions, strict=True):
            compared += _compare_rejections(ours.rejections, theirs["abweichung"], f"{where} position {ours.position}")
    assert compared >= 16


def test_sample_specifics() -> None:
    folder = samples_dir()
    rejected = parse_one(sample_bytes(folder / "33002_REMADV_abweisung.edi"))
    first = rejected.items[0]
    assert (first.rejection_code, first.rejection_list) == ("A01", "E_0503")
    assert first.rejection_text == "Rechnung entspricht nicht §14 UstG"
    assert [(r.code, r.code_list, r.text) for r in first.rejections] == [
        ("A01", "E_0503", "Rechnung entspricht nicht §14 UstG"),
        ("A04", "E_0506", None),
    ]

    positions = parse_one(sample_bytes(folder / "33004_REMADV_abweisung-position.edi"))
    item = positions.items[0]
    assert item.rejections == [] and item.rejection_code is None
    assert item.position_rejections == [
        RemadvPositionRejection(position="1", rejections=[RemadvRejection(code="A20", code_list="E_0406")])
    ]
    assert item.due_amount == Decimal("10000.00")

    paid = parse_one(sample_bytes(folder / "33001_REMADV_zahlungsavis-bestaetigung.edi"))
    assert (paid.category, paid.currency, paid.total) == ("481", "EUR", Decimal(5000))
    assert paid.items[0].rejections == [] and paid.items[0].paid_amount == Decimal(5000)


# ---------------------------------------------------------------- own messages


def test_acceptance_fixture() -> None:
    m = parse_one(acceptance())
    assert (m.pruefidentifikator, m.category, m.association) == ("33001", "481", "2.9e")
    assert (m.sender, m.receiver) == (LF.id, NB.id)
    assert m.document_date == datetime(2025, 4, 22, 10, 0, tzinfo=UTC)
    assert [(i.invoice_number, i.due_amount, i.paid_amount) for i in m.items] == [
        ("NNR-2025-000815", Decimal("58.81"), Decimal("58.81")),
        ("NNR-2025-000817", Decimal("41.19"), Decimal("41.19")),
    ]
    assert m.items[0].invoice_date == datetime(2025, 4, 10, 8, 15, tzinfo=UTC)
    assert all(item.rejections == [] and item.position_rejections == [] for item in m.items)
    assert m.total == Decimal("100.00") == sum((item.paid_amount or Decimal(0) for item in m.items), Decimal(0))
    assert roundtrip(m) == m


def test_rejection_built_in_code_roundtrips() -> None:
    message = rejection_33003()
    data = serialize(message)
    text = data.decode()
    assert "UNH+1+REMADV:D:05A:UN:2.9e'\nBGM+239+AW-2025-000077'\nDTM+137:202504140730?+00:303'" in text
    assert "RFF+Z13:33003'\nNAD+MS+9900876543211::293'\nNAD+MR+9900123456787::293'\nCUX+2:EUR:11'" in text
    assert "DOC+380+NNR-2025-000816'\nMOA+9:59.63'\nMOA+12:0'\nDTM+137:202504100815?+00:303'" in text
    assert "AJT+A23+E_0406'\nFTX+ABO+++Position 2?: Betrag 69.91 EUR passt nicht zu 812 kWh x 0.0871" in text
    assert text.endswith("UNS+S'\nMOA+12:0'\nUNT+16+1'\nUNZ+1+AV0001'\n")
    parsed = parse_one(data)
    assert parsed == message
    item = parsed.items[0]
    assert (item.rejection_code, item.rejection_list) == ("A23", "E_0406")
    assert item.rejection_text is not None and item.rejection_text.startswith("Position 2: Betrag")


def test_rejection_details_roundtrip() -> None:
    """Several reasons, references and notes per reason, position rejections (33004) and a long text."""
    long_text = "Die Rechnung enthält einen Fehler. " * 40
    message = rejection_33003().model_copy(
        update={
            "pruefidentifikator": "33004",
            "payment_date": datetime(2025, 4, 25, tzinfo=BERLIN),
            "items": [
                RemadvItem(
                    document_type="380",
                    invoice_number="NNR-2025-000816",
                    due_amount=Decimal("59.63"),
                    paid_amount=Decimal("0"),
                    references={"ACW": "VG-4711"},
                    rejections=[
                        RemadvRejection(
                            code="A80",
                            code_list="E_0407",
                            text=long_text,
                            references={"AFL": "ABS-2025-000312"},
                            notes={"Z14": "ABS-2025-000312"},
                        ),
                        RemadvRejection(code="A04", code_list="E_0506"),
                    ],
                    position_rejections=[
                        RemadvPositionRejection(
                            position="2", rejections=[RemadvRejection(code="A23", code_list="E_0406")]
                        ),
                        RemadvPositionRejection(
                            position="3",
                            rejections=[RemadvRejection(code="A35", code_list="E_0406", text="Preis ≠ Preisblatt")],
                        ),
                    ],
                ),
                RemadvItem(document_type="457", invoice_number="NNS-2025-000901", due_amount=Decimal("-58.81")),
            ],
        }
    )
    data = serialize(message)
    assert b"DLI+1+2'\nAJT+A23+E_0406'\nDLI+1+3'\nAJT+A35+E_0406'" in data
    assert b"DTM+203:202504242200?+00:303'" in data
    assert parse_one(data) == message


def test_several_messages_in_one_interchange() -> None:
    first = parse_one(acceptance())
    second = rejection_33003().model_copy(update={"message_reference": "2"})
    interchange = parse_interchange(serialize(first, second))
    assert [parse_remadv(raw) for raw in interchange.messages] == [first, second]
    assert build_remadv(first).type == "REMADV"


# ---------------------------------------------------------------- model validation


def test_amounts_must_not_be_float_and_datetimes_must_be_aware() -> None:
    with pytest.raises(ValidationError, match="not float"):
        RemadvItem(invoice_number="R1", paid_amount=12.5)
    with pytest.raises(ValidationError, match="timezone-aware"):
        RemadvItem(invoice_number="R1", invoice_date=datetime(2025, 4, 1))
    with pytest.raises(ValidationError, match="not a REMADV Prüfidentifikator"):
        rejection_33003().model_validate(rejection_33003().model_dump() | {"pruefidentifikator": "31002"})


# ---------------------------------------------------------------- malformed input


def _error(data: bytes) -> EdifactContentError:
    interchange = parse_interchange(data)
    with pytest.raises(EdifactContentError) as info:
        parse_remadv(interchange.messages[0])
    return info.value


def test_non_numeric_amount_points_at_the_segment() -> None:
    good = acceptance()
    error = _error(good.replace(b"MOA+12:41.19'", b"MOA+12:41,19 EUR'"))
    assert (error.segment, error.position) == ("MOA", line_of(good, "MOA+12:41.19"))
    assert "'41,19 EUR' is not a number" in error.detail
    error = _error(good.replace(b"MOA+12:100.00'", b"MOA+12:hundert'"))
    assert (error.segment, error.position) == ("MOA", line_of(good, "MOA+12:100.00"))


def test_missing_pruefidentifikator() -> None:
    good = acceptance()
    error = _error(good.replace(b"RFF+Z13:33001'\n", b"").replace(b"UNT+20+1'", b"UNT+19+1'"))
    assert (error.segment, error.position) == ("UNH", line_of(good, "UNH"))
    assert "mandatory data missing: RFF+Z13" in error.detail


def test_foreign_pruefidentifikator_points_at_the_rff() -> None:
    good = acceptance()
    error = _error(good.replace(b"RFF+Z13:33001'", b"RFF+Z13:31002'"))
    assert (error.segment, error.position) == ("RFF", line_of(good, "RFF+Z13"))


def test_structural_errors_point_at_the_segment() -> None:
    good = acceptance()
    error = _error(good.replace(b"DOC+380+NNR-2025-000817'", b"DOC+380'"))
    assert (error.segment, error.position) == ("DOC", line_of(good, "DOC+380+NNR-2025-000817"))
    ajt = good.replace(b"CUX+2:EUR:11'\n", b"CUX+2:EUR:11'\nAJT+A01+E_0503'\n").replace(b"UNT+20+1'", b"UNT+21+1'")
    error = _error(ajt)
    assert (error.segment, error.position) == ("AJT", line_of(good, "CUX") + 1)
    empty_ajt = good.replace(b"MOA+12:58.81'\n", b"MOA+12:58.81'\nAJT+:E_0503'\n").replace(b"UNT+20+1'", b"UNT+21+1'")
    error = _error(empty_ajt)
    assert (error.segment, error.position) == ("AJT", line_of(good, "MOA+12:58.81") + 1)
    dli = good.replace(b"MOA+12:58.81'\n", b"MOA+12:58.81'\nDLI+1'\n").replace(b"UNT+20+1'", b"UNT+21+1'")
    error = _error(dli)
    assert (error.segment, error.position) == ("DLI", line_of(good, "MOA+12:58.81") + 1)
    error = _error(good.replace(b"DTM+137:202504100817?+00:303'", b"DTM+137:2025-04-10:303'"))
    assert (error.segment, error.position) == ("DTM", line_of(good, "DTM+137:202504100817"))


def test_not_a_remadv_message() -> None:
    invoic = Path(__file__).parent / "fixtures" / "edifact" / "invoic" / "31005_mmm-rechnung.edi"
    error = _error(invoic.read_bytes())
    assert (error.segment, error.position) == ("UNH", 3)
    assert "is a INVOIC message, not REMADV" in error.detail
