"""Typed INVOIC messages: shared samples, own fixtures, round trips, the arithmetic check and malformed input.

The shared samples are not arithmetically consistent; they are used for parsing and field mapping only.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from edifact.envelope import Party, RawMessage, parse_interchange, serialize_interchange
from edifact.errors import EdifactContentError
from edifact.invoic import (
    InvoiceAllowance,
    InvoiceLine,
    InvoicePrepayment,
    InvoiceTax,
    InvoicMessage,
    build_invoic,
    check_arithmetic,
    invoic_interchange,
    parse_invoic,
)
from tests.conftest import SAMPLES, samples_dir

FIXTURES = Path(__file__).parent / "fixtures" / "edifact" / "invoic"
BERLIN = ZoneInfo("Europe/Berlin")
NB = Party(id="9900123456787", qualifier="500")
LF = Party(id="9900876543211", qualifier="500")
ARTICLE_ID = re.compile(r"\d-\d\d-\d-\d{3}")

# ---------------------------------------------------------------- helpers


def sample_params(pattern: str) -> list[Any]:
    """One parameter per shared sample; a single placeholder that skips when the folder is absent."""
    if not SAMPLES.is_dir():
        return [pytest.param(None, id="samples-missing")]
    return [pytest.param(path, id=path.stem) for path in sorted(SAMPLES.glob(pattern))]


def sample_bytes(path: Path) -> bytes:
    """Sample bytes with the UNB template placeholder replaced by a real date/time."""
    return path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


def load_lenient_json(path: Path) -> Any:
    """The paired JSON: some miss commas between members, some are wrapped in a list; numbers stay Decimal."""
    text = re.sub(r'([}\]"\w])(\s*\n\s*)(["{])', r"\1,\2\3", path.read_text(encoding="utf-8"))
    data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return data[0] if isinstance(data, list) else data


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def same_day_or_moment(ours: datetime | None, theirs: str) -> bool:
    """Equal moments, or a date-only DTM (102, read as UTC midnight) that the JSON gives as German midnight."""
    expected = iso(theirs)
    if ours == expected:
        return True
    return ours is not None and ours.time() == datetime.min.time() and ours.date() == expected.astimezone(BERLIN).date()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_one(data: bytes) -> InvoicMessage:
    interchange = parse_interchange(data)
    assert len(interchange.messages) == 1
    return parse_invoic(interchange.messages[0])


def serialize(*messages: InvoicMessage) -> bytes:
    interchange = invoic_interchange(
        list(messages), sender=NB, receiver=LF, reference="IC0001", prepared_at=datetime(2025, 4, 10, 8, 15, tzinfo=UTC)
    )
    return serialize_interchange(interchange)


def roundtrip(message: InvoicMessage) -> InvoicMessage:
    return parse_one(serialize(message))


def line_of(data: bytes, prefix: str) -> int:
    """1-based line number of the first line starting with ``prefix`` (one segment per line, UNA is line 1)."""
    lines = data.decode().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


def nn_invoice() -> InvoicMessage:
    return parse_one(fixture_bytes("31002_nn-rechnung.edi"))


# ---------------------------------------------------------------- shared samples


@pytest.mark.parametrize("path", sample_params("31*_INVOIC_*.edi"))
def test_every_invoic_sample_parses_and_roundtrips(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    interchange = parse_interchange(sample_bytes(path))
    assert interchange.messages
    for raw in interchange.messages:
        message = parse_invoic(raw)
        assert message.pruefidentifikator == path.name[:5]
        assert len(message.lines) == sum(1 for segment in raw.segments if segment.tag == "LIN")
        assert message.total is not None and message.due_amount is not None and message.taxes
        assert roundtrip(message) == message


def test_shared_invoic_samples_are_present() -> None:
    assert len(list(samples_dir().glob("31*_INVOIC_*.edi"))) >= 10


_INVOICE_TYPES = {
    "ABSCHLAGSRECHNUNG": "ABS",
    "ABSCHLUSSRECHNUNG": "ABR",
    "SONDERRECHNUNG": "SOR",
    "WIMRECHNUNG": "WIM",
    "MEHRMINDERMENGENRECHNUNG": "MMM",
    "MSBRECHNUNG": "MSB",
    "KAPAZITAETSRECHNUNG": "NAP",
    "SPERRUNG_INBETRIEBNAHME": "Z43",
}
_ALLOWANCE_TYPES = {
    "GEMEINDERABATT_KAV": "Z01",
    "ANPASSUNG_P19_STROM_NEV": "Z04",
    "BETRIEBSMITTEL_P19_STROM_NEV": "Z03",
    "ANPASSUNG_PAUSCHALE_NETZENTGELTREDUZIERUNG_NACH_P14A_ENWG_AUF_HOEHE_DER_NNE": "Z05",
}
_TIME_UNITS = {"TAG": "DAY", "MONAT": "MON", "JAHR": "ANN"}
#: JSON values with no counterpart in the paired EDIFACT (sample stem, JSON field).
_JSON_ONLY = {("31010_INVOIC_kapazitaetsrechnung", "positionsMenge")}


def _tax_rate(code: str) -> Decimal:
    return Decimal(code.removeprefix("UST_"))


class _Compare:
    """Counts the JSON fields compared so that a test cannot pass by comparing nothing."""

    def __init__(self) -> None:
        self.count = 0

    def eq(self, ours: Any, theirs: Any, what: str) -> None:
        assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"
        self.count += 1


def _compare_line(check: _Compare, line: InvoiceLine, position: dict[str, Any], sample: str) -> None:
    where = f"position {line.position}"
    check.eq(line.position, str(position["positionsnummer"]), where)
    if ARTICLE_ID.fullmatch(position.get("artikelnummer", "")):
        check.eq(line.article_id, position["artikelnummer"], f"{where} article")
    if "lieferungVon" in position:
        check.eq(line.period_start, iso(position["lieferungVon"]), f"{where} start")
        check.eq(line.period_end, iso(position["lieferungBis"]), f"{where} end")
    if "positionsMenge" in position and (sample, "positionsMenge") not in _JSON_ONLY:
        check.eq(line.quantity, position["positionsMenge"]["wert"], f"{where} quantity")
    if "zeitbezogeneMenge" in position:
        check.eq(line.days, position["zeitbezogeneMenge"]["wert"], f"{where} time quantity")
        check.eq(line.days_unit, _TIME_UNITS[position["zeitbezogeneMenge"]["einheit"]], f"{where} time unit")
    if "einzelpreis" in position:
        check.eq(line.unit_price, position["einzelpreis"]["wert"], f"{where} price")
        if "bezugswert" in position["einzelpreis"]:
            check.eq(line.price_unit, _TIME_UNITS[position["einzelpreis"]["bezugswert"]], f"{where} price unit")
    check.eq(line.amount, position["teilsummeNetto"]["wert"], f"{where} amount")
    assert line.tax is not None
    check.eq(line.tax.rate, _tax_rate(position["teilsummeSteuer"]["steuerkennzeichen"]), f"{where} VAT")
    if "korrekturfaktor" in position:
        check.eq(line.sign, position["korrekturfaktor"], f"{where} sign")
    if "gesamtZuAbschlagsbetrag" in position:
        check.eq(line.adjustment, position["gesamtZuAbschlagsbetrag"], f"{where} adjustment")
    for key, kind in (("abschlag", "A"), ("zuschlag", "C")):
        if key in position:
            allowance = next(a for a in line.allowances if a.kind == kind)
            check.eq(allowance.code, _ALLOWANCE_TYPES[position[key]["typ"]], f"{where} {key} code")
            check.eq(allowance.percent, position[key]["prozent"], f"{where} {key} percent")
    if "gemeinderabatt" in position:
        discount = next(a for a in line.allowances if a.amount is not None)
        check.eq(discount.amount, position["gemeinderabatt"]["wert"], f"{where} Gemeinderabatt")
        check.eq(discount.base, position["gemeinderabatt"]["bemessungsgrundlage"], f"{where} Gemeinderabatt base")
    if "ausfuehrungsdatum" in position:
        assert same_day_or_moment(line.execution_date, position["ausfuehrungsdatum"]), where
        check.count += 1


@pytest.mark.parametrize("path", sample_params("31*_INVOIC_*.edi"))
def test_invoic_sample_fields_match_paired_json(path: Path | None) -> None:
    samples_dir()
    assert path is not None
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        pytest.skip(f"no paired JSON for {path.name}")
    data = load_lenient_json(json_path)["data"]
    invoice, header, master = data["stammdaten"]["RECHNUNG"][0], data["transaktionsdaten"], data["stammdaten"]
    m = parse_one(sample_bytes(path))
    check = _Compare()

    check.eq(m.document_number, header["dokumentennummer"], "document number")
    check.eq(m.category, header["kategorie"], "category")
    check.eq(m.message_reference, header["nachrichtenreferenznummer"], "message reference")
    check.eq(m.pruefidentifikator, header["pruefidentifikator"], "PID")
    if "nachrichtendatum" in header:
        check.eq(m.document_date, iso(header["nachrichtendatum"]), "message date")
    check.eq(m.document_date, iso(invoice["rechnungsdatum"]), "invoice date")
    check.eq(m.sender, header["absender"]["rollencodenummer"], "sender")
    check.eq(m.receiver, header["empfaenger"]["rollencodenummer"], "receiver")
    if "steuernummer" in header["absender"]:
        check.eq(m.sender_tax_ids.get("FC"), header["absender"]["steuernummer"], "sender tax number")
    if m.receiver_tax_ids:  # the 31005 JSON names a receiver tax number that its EDIFACT does not carry
        check.eq(m.receiver_tax_ids.get("FC"), header["empfaenger"]["steuernummer"], "receiver tax number")
    if "nachrichtenfunktion" in header:
        check.eq(m.function, header["nachrichtenfunktion"], "message function")

    check.eq(m.due_date, iso(invoice["faelligkeitsdatum"]), "due date")
    check.eq(m.processing_date, iso(invoice["bearbeitungsdatum"]), "processing date")
    check.eq(m.is_storno, invoice["storno"], "storno")
    check.eq(m.is_self_billed, invoice["istSelbstausgestellt"], "self-billed")
    check.eq(m.invoice_type, _INVOICE_TYPES[invoice["rechnungstyp"]], "invoice type")
    for key, start, end in (
        ("rechnungsperiode", m.period_start, m.period_end),
        ("vorlaeufigerAbrechnungszeitraum", m.provisional_period_start, m.provisional_period_end),
    ):
        if key in invoice:
            check.eq(start, iso(invoice[key]["startdatum"]), f"{key} start")
            check.eq(end, iso(invoice[key]["enddatum"]), f"{key} end")
    if "originalRechnungsnummer" in invoice:
        check.eq(m.cancels or m.references.get("OI"), invoice["originalRechnungsnummer"], "original invoice")
        check.eq(m.reference_dates["OI"], iso(invoice["referenzNachrichtendatum"]), "original invoice date")
    if "referenzDokumentennummer" in invoice:
        check.eq(m.references.get("ACE"), invoice["referenzDokumentennummer"], "related document")
    if "netzkonto" in invoice:
        check.eq(m.grid_account, invoice["netzkonto"], "grid account")
    if invoice.get("sonderrechnungsart") == "KONZESSIONSABGABE_TESTAT":
        check.eq(m.special_invoice_types, ["Z01"], "special invoice type")
    if "energierichtung" in invoice:
        check.eq(m.energy_direction, {"AUSSP": "Z07", "EINSP": "Z06"}[invoice["energierichtung"]], "direction")
    if "ausfuehrungsdatum" in invoice:
        assert same_day_or_moment(m.execution_date, invoice["ausfuehrungsdatum"])
    if "MARKTLOKATION" in master:
        check.eq(m.malo_id, master["MARKTLOKATION"][0]["marktlokationsId"], "MaLo")
    if "MESSLOKATION" in master:
        check.eq(m.melo_id, master["MESSLOKATION"][0]["messlokationsId"], "MeLo")

    check.eq(m.total, invoice["gesamtbrutto"]["wert"], "total")
    check.eq(m.due_amount, invoice["zuZahlen"]["wert"], "due amount")
    if "gemeinderabatt" in invoice:
        check.eq(m.municipal_discount, invoice["gemeinderabatt"]["wert"], "Gemeinderabatt")
    if "vorauszahlungen" in invoice:
        prepaid = sum((t.prepaid or Decimal(0) for t in m.taxes), Decimal(0))
        check.eq(prepaid, invoice["vorauszahlungen"]["betrag"]["wert"], "prepaid")
    check.eq(len(m.taxes), len(invoice["steuerbetraege"]), "number of VAT rates")
    for tax, expected in zip(m.taxes, invoice["steuerbetraege"], strict=True):
        check.eq(tax.rate, _tax_rate(expected["steuerkennzeichen"]), "VAT rate")
        check.eq(tax.base, expected["basiswert"], "taxable amount")
        check.eq(tax.amount, expected["steuerwert"], "VAT amount")
        if "basiswertVorausbezahlt" in expected:
            check.eq(tax.prepaid, expected["basiswertVorausbezahlt"], "prepaid per rate")
            check.eq(tax.prepaid_vat, expected["steuerwertVorausbezahhlt"], "prepaid VAT per rate")

    positions = invoice.get("rechnungspositionen", [])
    check.eq(len(m.lines), len(positions), "number of positions")
    for line, position in zip(m.lines, positions, strict=True):
        _compare_line(check, line, position, path.stem)
    assert check.count >= 15


def test_sample_specifics() -> None:
    """Values that the JSON does not carry or that need a closer look."""
    folder = samples_dir()
    nn = parse_one(sample_bytes(folder / "31002_INVOIC_nn-rechnung-1.edi"))
    assert [line.article_id for line in nn.lines] == ["1-02-0-001", "1-02-0-001"]
    assert nn.lines[0].article_code_list == "Z09"
    assert (nn.lines[0].days, nn.lines[0].price_unit) == (Decimal(30), "DAY")
    assert nn.lines[1].allowances == [
        InvoiceAllowance(kind="A", code="Z01", percent=Decimal(10), base=Decimal(1000), amount=Decimal(100))
    ]
    assert nn.references == {"ACE": "REF12345678910"}
    assert nn.municipal_discount == Decimal(10)
    assert nn.malo_id == "50074561188"

    storno = parse_one(sample_bytes(folder / "31004_INVOIC_stornorechnung.edi"))
    assert storno.category == "Z25" and storno.is_storno and storno.is_self_billed
    assert storno.cancels == "REF12345678910" and "OI" not in storno.references
    assert storno.lines == []

    mmm = parse_one(sample_bytes(folder / "31005_INVOIC_mmm-rechnung.edi"))
    assert mmm.lines[0].sign == Decimal(-1)
    assert (mmm.lines[0].article_id, mmm.lines[0].article_code_list) == ("9990001000756", "Z01")
    assert (mmm.lines[0].quantity, mmm.lines[0].quantity_unit) == (Decimal(5000), "KWH")

    special = parse_one(sample_bytes(folder / "31002_INVOIC_nn-rechnung-2.edi"))
    assert special.references["OI"] == "ABC12345678910" and special.cancels is None
    assert special.receiver_tax_ids == {"FC": "12345678910"}
    assert special.prepaid is None and special.prepaid_vat == Decimal(1000)

    abschlag = parse_one(sample_bytes(folder / "31001_INVOIC_abschlagsrechnung.edi"))
    assert abschlag.period_start is None and abschlag.provisional_period_start is not None

    msb = parse_one(sample_bytes(folder / "31009_INVOIC_msb-rechnung.edi"))
    assert msb.association == "2.8b"


# ---------------------------------------------------------------- own fixtures


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.edi")))
def test_fixture_roundtrip(name: str) -> None:
    message = parse_one(fixture_bytes(name))
    assert roundtrip(message) == message
    assert roundtrip(roundtrip(message)) == message


def test_nn_invoice_fixture_fields_and_consistent_arithmetic() -> None:
    m = nn_invoice()
    assert (m.pruefidentifikator, m.category, m.invoice_type) == ("31002", "380", "ABR")
    assert m.document_number == "NNR-2025-000815"
    assert m.document_date == datetime(2025, 4, 10, 8, 15, tzinfo=UTC)
    assert m.period_start == datetime(2025, 1, 1, tzinfo=BERLIN)
    assert m.period_end == datetime(2025, 4, 1, tzinfo=BERLIN)
    assert m.due_date == datetime(2025, 4, 30, tzinfo=BERLIN)
    assert (m.sender, m.receiver, m.malo_id) == ("9900123456787", "9900876543211", "51234567895")
    assert m.sender_tax_ids == {"FC": "123/456/78901"} and m.receiver_tax_ids == {}
    assert m.references == {"ACE": "LS-2025-004711"}
    assert [(line.article_id, line.quantity, line.unit_price, line.amount) for line in m.lines] == [
        ("1-02-0-001", Decimal(1), Decimal("0.27397"), Decimal("24.66")),
        ("1-02-0-002", Decimal(812), Decimal("0.0861"), Decimal("69.91")),
        ("1-08-4-001", Decimal(812), Decimal("0.0132"), Decimal("10.72")),
    ]
    assert (m.lines[0].days, m.lines[0].days_unit, m.lines[0].price_unit) == (Decimal(90), "DAY", "DAY")
    assert m.lines[1].allowances[0].amount == Decimal("6.99")
    assert m.prepayments == [
        InvoicePrepayment(
            amount=Decimal("59.50"), invoice_number="ABS-2025-000312", invoice_date=datetime(2025, 2, 15, tzinfo=BERLIN)
        )
    ]
    assert (m.total, m.prepaid, m.municipal_discount, m.due_amount) == (
        Decimal("125.30"),
        Decimal("59.50"),
        Decimal("6.99"),
        Decimal("58.81"),
    )
    assert m.taxes == [
        InvoiceTax(
            rate=Decimal(19),
            category="S",
            base=Decimal("105.29"),
            amount=Decimal("20.01"),
            prepaid=Decimal("59.50"),
            prepaid_vat=Decimal("9.50"),
        )
    ]
    assert m.prepaid_vat == Decimal("9.50")
    assert check_arithmetic(m) == []


def test_wrong_price_is_named_with_its_position() -> None:
    m = parse_one(fixture_bytes("31002_nn-rechnung-falscher-preis.edi"))
    problems = check_arithmetic(m)
    assert len(problems) == 1
    assert problems[0].startswith("position 2 (1-02-0-002)")
    assert "0.0871" in problems[0] and "70.73" in problems[0]


def test_mmm_invoice_with_negative_correction_factor() -> None:
    m = parse_one(fixture_bytes("31005_mmm-rechnung.edi"))
    assert (m.invoice_type, m.energy_direction) == ("MMM", "Z07")
    assert m.sender_tax_ids == {"VA": "DE123456789"}
    line = m.lines[0]
    assert (line.sign, line.quantity, line.quantity_unit) == (Decimal(-1), Decimal(1250), "KWH")
    assert line.amount == Decimal("-115.43")  # -1 × 1250 × 0.09234 = -115.425, rounded away from zero
    assert (m.total, m.due_amount) == (Decimal("-137.36"), Decimal("-137.36"))
    assert check_arithmetic(m) == []
    without_sign = m.model_copy(update={"lines": [line.model_copy(update={"sign": None})]})
    assert check_arithmetic(without_sign)[0].startswith("position 1 (9990001000756): amount -115.43")


def test_storno_fixture() -> None:
    m = parse_one(fixture_bytes("31004_stornorechnung.edi"))
    assert (m.pruefidentifikator, m.category) == ("31004", "457")
    assert m.is_storno and not m.is_self_billed
    assert m.cancels == "NNR-2025-000815"
    assert m.reference_dates == {"OI": datetime(2025, 4, 10, 8, 15, tzinfo=UTC)}
    assert m.references == {} and m.lines == []
    assert (m.total, m.prepaid, m.due_amount) == (Decimal("-125.30"), Decimal("-59.50"), Decimal("-58.81"))
    assert check_arithmetic(m) == []
    assert nn_invoice().cancels is None


def test_serialized_segments_have_the_mig_layout() -> None:
    text = serialize(nn_invoice()).decode()
    for segment in (
        "UNH+1+INVOIC:D:06A:UN:2.8e'",
        "BGM+380+NNR-2025-000815+9'",
        "DTM+155:202412312300?+00:303'",
        "IMD++ABR'",
        "RFF+Z13:31002'",
        "NAD+MS+9900123456787::293'\nRFF+FC:123/456/78901'",
        "NAD+DP'\nLOC+172+51234567895'",
        "CUX+2:EUR:4'\nPYT+3'\nDTM+265:202504292200?+00:303'",
        "LIN+1++1-02-0-001:Z09'\nQTY+47:1:H87'\nQTY+136:90:DAY'",
        "PRI+CAL:0.27397::::DAY'\nTAX+7+VAT+++:::19+S'",
        "ALC+A+:Z01'\nPCD+3:10'\nMOA+25:69.91'\nMOA+Z01:6.99'",
        "UNS+S'\nMOA+77:125.30'\nMOA+113:59.50'\nRFF+AFL:ABS-2025-000312'\nDTM+3:202502142300?+00:303'",
        "MOA+Z01:6.99'\nMOA+9:58.81'\nTAX+7+VAT+++:::19+S'\nMOA+113:59.50'\nMOA+115:9.50'\nMOA+125:105.29'",
    ):
        assert segment in text, segment
    storno = serialize(parse_one(fixture_bytes("31004_stornorechnung.edi"))).decode()
    assert "RFF+Z13:31004'\nRFF+OI:NNR-2025-000815'\nDTM+171:202504100815?+00:303'" in storno
    mmm = serialize(parse_one(fixture_bytes("31005_mmm-rechnung.edi"))).decode()
    assert "IMD++MMM+Z07'" in mmm and "QTY+Z17:-1'" in mmm and "MOA+203:-115.43'" in mmm


def test_message_built_in_code() -> None:
    message = InvoicMessage(
        association="2.8e",
        pruefidentifikator="31011",
        message_reference="M1",
        category="380",
        document_number="SL-1",
        document_date=datetime(2025, 6, 2, 10, 0, tzinfo=BERLIN),
        invoice_type="Z43",
        sender=NB.id,
        receiver=LF.id,
        malo_id="51234567895",
        due_date=datetime(2025, 6, 20, tzinfo=BERLIN),
        lines=[
            InvoiceLine(
                position="1",
                article_id="2-01-7-001",
                article_code_list="Z09",
                quantity=Decimal(1),
                quantity_unit="H87",
                execution_date=datetime(2025, 5, 28, tzinfo=BERLIN),
                amount=Decimal("45.00"),
                unit_price=Decimal("45"),
                tax=InvoiceTax(rate=Decimal(19)),
            )
        ],
        total=Decimal("53.55"),
        due_amount=Decimal("53.55"),
        taxes=[InvoiceTax(rate=Decimal(19), base=Decimal("45.00"), amount=Decimal("8.55"))],
    )
    assert message.document_date == datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert check_arithmetic(message) == []
    parsed = roundtrip(message)
    assert parsed == message
    assert parsed.lines[0].execution_date == datetime(2025, 5, 27, 22, 0, tzinfo=UTC)
    raw = build_invoic(message)
    assert isinstance(raw, RawMessage) and (raw.type, raw.release, raw.association) == ("INVOIC", "06A", "2.8e")


def test_several_messages_in_one_interchange() -> None:
    first = nn_invoice()
    second = first.model_copy(update={"message_reference": "2", "document_number": "NNR-2025-000816"})
    interchange = parse_interchange(serialize(first, second))
    assert [parse_invoic(raw) for raw in interchange.messages] == [first, second]


# ---------------------------------------------------------------- arithmetic check


def _line(**values: Any) -> InvoiceLine:
    defaults: dict[str, Any] = {"position": "1", "article_id": "1-02-0-002", "tax": InvoiceTax(rate=Decimal(19))}
    return InvoiceLine(**(defaults | values))


def _invoice(*lines: InvoiceLine, **values: Any) -> InvoicMessage:
    """A consistent invoice around the given lines (19 % VAT), changed by ``values``."""
    net = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    vat = (net * Decimal("0.19")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    fields: dict[str, Any] = {
        "association": "2.8e",
        "pruefidentifikator": "31002",
        "message_reference": "1",
        "category": "380",
        "document_number": "R1",
        "document_date": datetime(2025, 4, 1, tzinfo=UTC),
        "sender": NB.id,
        "receiver": LF.id,
        "lines": list(lines),
        "total": net + vat,
        "due_amount": net + vat,
        "taxes": [InvoiceTax(rate=Decimal(19), base=net, amount=vat)],
    }
    return InvoicMessage(**(fields | values))


@pytest.mark.parametrize(
    ("price", "amount", "fine"),
    [
        ("0.125", "0.13", True),  # half up
        ("0.125", "0.12", False),
        ("0.1249", "0.12", True),
        ("0.1251", "0.13", True),
    ],
)
def test_line_amounts_are_rounded_half_up_to_cents(price: str, amount: str, fine: bool) -> None:
    line = _line(quantity=Decimal(1), unit_price=Decimal(price), amount=Decimal(amount))
    problems = check_arithmetic(_invoice(line))
    assert (problems == []) is fine, problems


def test_negative_amounts_round_away_from_zero() -> None:
    line = _line(quantity=Decimal(1), sign=Decimal(-1), unit_price=Decimal("0.125"), amount=Decimal("-0.13"))
    assert check_arithmetic(_invoice(line)) == []
    assert check_arithmetic(_invoice(line.model_copy(update={"amount": Decimal("-0.12")})))


def test_yearly_price_against_days_accepts_365_or_366_days() -> None:
    base = {"quantity": Decimal(1), "days": Decimal(31), "days_unit": "DAY", "price_unit": "ANN"}
    for amount in ("3.10", "3.09"):  # 36.50 × 31/365 and 36.50 × 31/366
        line = _line(unit_price=Decimal("36.50"), amount=Decimal(amount), **base)
        assert check_arithmetic(_invoice(line)) == [], amount
    line = _line(unit_price=Decimal("36.50"), amount=Decimal("3.20"), **base)
    assert check_arithmetic(_invoice(line))[0].startswith("position 1 (1-02-0-002): amount 3.20")
    monthly = _line(
        quantity=Decimal(2), days=Decimal(3), days_unit="MON", unit_price=Decimal("120"), price_unit="ANN"
    ).model_copy(update={"amount": Decimal("60.00")})
    assert check_arithmetic(_invoice(monthly)) == []


def test_unconvertible_time_basis_is_reported() -> None:
    line = _line(
        quantity=Decimal(1),
        days=Decimal(1),
        days_unit="MON",
        unit_price=Decimal(1),
        price_unit="DAY",
        amount=Decimal("30.00"),
    )
    assert check_arithmetic(_invoice(line)) == [
        "position 1 (1-02-0-002): cannot recompute the amount: time quantity in MON cannot be converted to a price"
        " per DAY"
    ]
    untimed = line.model_copy(update={"price_unit": None})
    assert "price has no time basis" in check_arithmetic(_invoice(untimed))[0]


def test_adjustment_is_part_of_the_line_amount() -> None:
    line = _line(quantity=Decimal(10), unit_price=Decimal("2.5"), adjustment=Decimal("-2.50"), amount=Decimal("22.50"))
    assert check_arithmetic(_invoice(line)) == []


def test_summary_problems_are_reported() -> None:
    line = _line(quantity=Decimal(100), unit_price=Decimal("0.30"), amount=Decimal("30.00"))
    good = _invoice(line)
    assert check_arithmetic(good) == []
    tax = good.taxes[0]

    wrong_vat = good.model_copy(update={"taxes": [tax.model_copy(update={"amount": Decimal("5.71")})]})
    assert "VAT 19 %: VAT amount (MOA+161) 5.71 should be 19 % of 30.00 = 5.70" in check_arithmetic(wrong_vat)

    wrong_base = good.model_copy(update={"taxes": [tax.model_copy(update={"base": Decimal("31.00")})]})
    assert any("does not equal the sum of the positions 30.00" in p for p in check_arithmetic(wrong_base))

    wrong_total = good.model_copy(update={"total": Decimal("35.71")})
    assert any(p.startswith("invoice total (MOA+77) 35.71") for p in check_arithmetic(wrong_total))

    wrong_due = good.model_copy(update={"due_amount": Decimal("0")})
    assert check_arithmetic(wrong_due) == ["due amount (MOA+9) 0.00 does not equal total 35.70"]

    other_rate = good.model_copy(update={"lines": [line.model_copy(update={"tax": InvoiceTax(rate=Decimal(7))})]})
    assert any(p.startswith("VAT 7 %: positions 1 have no entry") for p in check_arithmetic(other_rate))

    no_tax = good.model_copy(update={"lines": [line.model_copy(update={"tax": None})]})
    assert "position 1 (1-02-0-002): no VAT rate (TAX)" in check_arithmetic(no_tax)

    no_total = good.model_copy(update={"total": None})
    assert "invoice total (MOA+77) missing" in check_arithmetic(no_total)


def test_prepayments_and_gemeinderabatt_are_deducted() -> None:
    m = nn_invoice()
    assert check_arithmetic(m.model_copy(update={"municipal_discount": None})) == [
        "due amount (MOA+9) 58.81 does not equal total − prepaid 65.80"
    ]
    fewer = m.model_copy(update={"prepayments": []})
    problems = check_arithmetic(fewer)
    assert "prepaid amounts per VAT rate 59.50 do not equal the prepaid amounts of the summary 0.00" in problems
    discount = m.lines[1].allowances[0].model_copy(update={"amount": Decimal("7.99")})
    lines = [m.lines[0], m.lines[1].model_copy(update={"allowances": [discount]}), m.lines[2]]
    assert check_arithmetic(m.model_copy(update={"lines": lines})) == [
        "position 2 (1-02-0-002): Gemeinderabatt 7.99 is not 10 % of 69.91 = 6.99"
    ]


# ---------------------------------------------------------------- model validation


def test_money_must_not_be_float() -> None:
    with pytest.raises(ValidationError, match="not float"):
        _line(amount=1.5)
    with pytest.raises(ValidationError, match="not float"):
        InvoiceTax(rate=19.0)
    assert _line(amount="1.50").amount == Decimal("1.50")


def test_datetimes_must_be_aware_and_are_stored_in_utc() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        _invoice(document_date=datetime(2025, 4, 1))
    m = _invoice(due_date=datetime(2025, 4, 30, tzinfo=BERLIN))
    assert m.due_date is not None and m.due_date.tzinfo == UTC


def test_pruefidentifikator_must_belong_to_invoic() -> None:
    with pytest.raises(ValidationError, match="not an INVOIC Prüfidentifikator"):
        _invoice(pruefidentifikator="33001")


# ---------------------------------------------------------------- malformed input


def _error(data: bytes) -> EdifactContentError:
    interchange = parse_interchange(data)
    with pytest.raises(EdifactContentError) as info:
        parse_invoic(interchange.messages[0])
    return info.value


def test_non_numeric_amount_points_at_the_segment() -> None:
    good = fixture_bytes("31002_nn-rechnung.edi")
    error = _error(good.replace(b"MOA+203:69.91'", b"MOA+203:69.9x'"))
    assert (error.segment, error.position) == ("MOA", line_of(good, "MOA+203:69.91"))
    assert "'69.9x' is not a number" in error.detail
    error = _error(good.replace(b"MOA+77:125.30'", b"MOA+77:'"))
    assert (error.segment, error.position) == ("MOA", line_of(good, "MOA+77"))
    assert "amount of MOA+77 is missing" in error.detail


def test_non_numeric_quantity_price_and_rate() -> None:
    good = fixture_bytes("31002_nn-rechnung.edi")
    for original, broken, tag in (
        (b"QTY+47:812:KWH'", b"QTY+47:8l2:KWH'", "QTY"),
        (b"PRI+CAL:0.0861'", b"PRI+CAL:0.08.61'", "PRI"),
        (b"PCD+3:10'", b"PCD+3:zehn'", "PCD"),
    ):
        error = _error(good.replace(original, broken, 1))
        assert (error.segment, error.position) == (tag, line_of(good, original.decode()[:-1]))
    error = _error(good.replace(b"TAX+7+VAT+++:::19+S'", b"TAX+7+VAT+S'", 1))
    assert (error.segment, error.position) == ("TAX", line_of(good, "TAX+7+VAT"))
    assert "VAT rate (TAX C243) is missing" in error.detail


def test_missing_pruefidentifikator() -> None:
    good = fixture_bytes("31002_nn-rechnung.edi")
    error = _error(good.replace(b"RFF+Z13:31002'\n", b"").replace(b"UNT+58+1'", b"UNT+57+1'"))
    assert (error.segment, error.position) == ("UNH", line_of(good, "UNH"))
    assert "mandatory data missing: RFF+Z13" in error.detail


def test_foreign_pruefidentifikator_points_at_the_rff() -> None:
    good = fixture_bytes("31002_nn-rechnung.edi")
    error = _error(good.replace(b"RFF+Z13:31002'", b"RFF+Z13:55001'"))
    assert (error.segment, error.position) == ("RFF", line_of(good, "RFF+Z13"))


def test_unreadable_date_points_at_the_segment() -> None:
    good = fixture_bytes("31002_nn-rechnung.edi")
    error = _error(good.replace(b"DTM+265:202504292200?+00:303'", b"DTM+265:20250430:303'"))
    assert (error.segment, error.position) == ("DTM", line_of(good, "DTM+265"))


def test_position_segments_outside_a_position() -> None:
    good = fixture_bytes("31002_nn-rechnung.edi")
    header_moa = good.replace(b"CUX+2:EUR:4'\n", b"CUX+2:EUR:4'\nMOA+9:1'\n").replace(b"UNT+58+1'", b"UNT+59+1'")
    error = _error(header_moa)
    assert (error.segment, error.position) == ("MOA", line_of(good, "CUX") + 1)
    assert "outside of a position" in error.detail
    stray_pcd = good.replace(b"MOA+203:24.66'\n", b"MOA+203:24.66'\nPCD+3:10'\n").replace(b"UNT+58+1'", b"UNT+59+1'")
    error = _error(stray_pcd)
    assert (error.segment, error.position) == ("PCD", line_of(good, "MOA+203:24.66") + 1)
    no_article = good.replace(b"LIN+2++1-02-0-002:Z09'", b"LIN+2'")
    error = _error(no_article)
    assert (error.segment, error.position) == ("LIN", line_of(good, "LIN+2"))


def test_not_an_invoic_message() -> None:
    remadv = Path(__file__).parent / "fixtures" / "edifact" / "remadv" / "33001_zahlungsavis.edi"
    error = _error(remadv.read_bytes())
    assert (error.segment, error.position) == ("UNH", 3)
    assert "is a REMADV message, not INVOIC" in error.detail
