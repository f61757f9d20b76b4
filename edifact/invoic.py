"""Typed INVOIC messages (Netznutzung, Abschlag, MMM, MSB, WiM, sonstige Leistung) and a pure arithmetic check.

Segment usage follows the INVOIC MIG 2.8 (REFERENCE §6.2). Money and quantities are ``Decimal`` read from the
segment text, never floats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError
from edifact.segments import (
    Amount,
    UtcDateTime,
    element_value,
    format_date,
    make_segment,
    parse_date,
    parse_number,
    require_header,
)

__all__ = [
    "SELF_BILLED_CATEGORIES",
    "STORNO_CATEGORIES",
    "InvoicMessage",
    "InvoiceAllowance",
    "InvoiceLine",
    "InvoicePrepayment",
    "InvoiceTax",
    "build_invoic",
    "check_arithmetic",
    "invoic_interchange",
    "parse_invoic",
]

#: BGM codes of cancellations: 457 Storno einer Belastung, Z25 Storno einer selbst ausgestellten Rechnung.
STORNO_CATEGORIES = frozenset({"457", "Z25"})
#: BGM codes of self-billed invoices (Gutschriftsverfahren): 389 and its cancellation Z25.
SELF_BILLED_CATEGORIES = frozenset({"389", "Z25"})

_CENT = Decimal("0.01")


# ---------------------------------------------------------------- value types


def _text(value: Decimal) -> str:
    return format(value, "f")


# ---------------------------------------------------------------- model


class InvoiceTax(BaseModel):
    """VAT of a position (rate and category only) or of the summary per rate (SG52 with its amounts)."""

    rate: Amount
    category: str | None = "S"
    base: Amount | None = None  # MOA+125 Besteuerungsgrundlage
    amount: Amount | None = None  # MOA+161 Steuerbetrag
    prepaid: Amount | None = None  # MOA+113 vorausbezahlter Betrag inkl. USt.
    prepaid_vat: Amount | None = None  # MOA+115 darin enthaltene USt.


class InvoiceAllowance(BaseModel):
    """Zu-/Abschlag of a position (SG39): ALC with PCD and, for the Gemeinderabatt, MOA+25/MOA+Z01."""

    kind: str  # ALC 5463: A Abschlag, C Zuschlag
    code: str | None = None  # ALC 5189, e.g. Z01 Gemeinderabatt, Z04 § 19 Abs. 2 StromNEV
    percent: Amount | None = None  # PCD+3
    base: Amount | None = None  # MOA+25 Bemessungsgrundlage des Gemeinderabatts
    amount: Amount | None = None  # MOA+Z01 Gemeinderabatt der Position


class InvoiceLine(BaseModel):
    """One position (SG26 LIN)."""

    position: str
    article_id: str
    article_code_list: str | None = None  # Z09 Artikel-ID, Z01 Artikelnummer
    quantity: Amount | None = None  # QTY+47
    quantity_unit: str | None = None  # KWH, KWT, H87, ...
    days: Amount | None = None  # QTY+136 zeitliche Menge
    days_unit: str | None = None  # DAY, MON, ANN
    sign: Amount | None = None  # QTY+Z17 Korrekturfaktor (-1)
    period_start: UtcDateTime | None = None  # DTM+155
    period_end: UtcDateTime | None = None  # DTM+156
    execution_date: UtcDateTime | None = None  # DTM+203
    amount: Amount | None = None  # MOA+203 net amount
    adjustment: Amount | None = None  # MOA+131 Gesamtzu- oder -abschlagsbetrag
    unit_price: Amount | None = None  # PRI+CAL
    price_unit: str | None = None  # time basis of the price: DAY, MON, ANN
    tax: InvoiceTax | None = None
    allowances: list[InvoiceAllowance] = []


class InvoicePrepayment(BaseModel):
    """Vorausbezahlter Betrag inkl. USt. (SG50 MOA+113) with the referenced earlier invoice (RFF+AFL, DTM+3)."""

    amount: Amount
    invoice_number: str | None = None
    invoice_date: UtcDateTime | None = None


class InvoicMessage(BaseModel):
    """The fields of an INVOIC the process engine works with; datetimes are timezone-aware and stored in UTC.

    Not modelled (dropped when read): names and addresses of NAD segments, contacts (CTA/COM).
    """

    association: str
    pruefidentifikator: str
    message_reference: str
    category: str  # BGM 1001: 380, 389, 457, Z25
    document_number: str  # Rechnungsnummer
    function: str = "9"  # BGM 1225: 9 Original, 7 Duplikat
    document_date: UtcDateTime  # DTM+137 Rechnungsdatum
    processing_date: UtcDateTime | None = None  # DTM+9
    period_start: UtcDateTime | None = None  # DTM+155
    period_end: UtcDateTime | None = None  # DTM+156
    provisional_period_start: UtcDateTime | None = None  # DTM+Z42 (Abschlag)
    provisional_period_end: UtcDateTime | None = None  # DTM+Z43 (Abschlag)
    execution_date: UtcDateTime | None = None  # DTM+203
    balancing_start: UtcDateTime | None = None  # DTM+Z11 (MMM)
    network_usage_end: UtcDateTime | None = None  # DTM+Z12 (MMM)
    invoice_type: str | None = None  # IMD C272: ABR, ABS, JVR, MMM, MSB, SOR, ...
    energy_direction: str | None = None  # IMD C273: Z06 Erzeugung, Z07 Verbrauch
    special_invoice_types: list[str] = []  # GEI+Z01 Art der Sonderrechnung
    reverse_charge: bool = False  # FTX+REG++RCH
    references: dict[str, str] = {}  # header RFF qualifier -> value, e.g. ACE, Z56, OI (not Z13)
    reference_dates: dict[str, UtcDateTime] = {}  # DTM+171 following a header RFF, by its qualifier
    cancels: str | None = None  # Storno (457/Z25): number of the cancelled invoice (RFF+OI)
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    sender_tax_ids: dict[str, str] = {}  # RFF+FC Steuernummer / RFF+VA USt-IdNr. of NAD+MS
    receiver_tax_ids: dict[str, str] = {}
    malo_id: str | None = None  # LOC+172 with an 11-character id (MaLo; NeLo/SR ids have 11 characters, too)
    melo_id: str | None = None  # LOC+172 with a 33-character Messlokation id
    grid_account: str | None = None  # NAD+ZSH Netzkonto
    currency: str = "EUR"
    due_date: UtcDateTime | None = None  # DTM+265 after PYT+3
    lines: list[InvoiceLine] = []
    total: Amount | None = None  # MOA+77 Rechnungsbetrag inkl. USt.
    prepayments: list[InvoicePrepayment] = []  # MOA+113 in the summary
    municipal_discount: Amount | None = None  # MOA+Z01 Gemeinderabatt in the summary
    due_amount: Amount | None = None  # MOA+9 fälliger Betrag inkl. USt.
    taxes: list[InvoiceTax] = []

    @field_validator("pruefidentifikator")
    @classmethod
    def _invoic_pid(cls, value: str) -> str:
        if not re.fullmatch(r"310\d\d", value):
            raise ValueError(f"{value!r} is not an INVOIC Prüfidentifikator (310xx)")
        return value

    @property
    def is_storno(self) -> bool:
        return self.category in STORNO_CATEGORIES

    @property
    def is_self_billed(self) -> bool:
        return self.category in SELF_BILLED_CATEGORIES

    @property
    def prepaid(self) -> Decimal | None:
        """Sum of the prepaid amounts inkl. USt. (SG50 MOA+113), None when there are none."""
        return sum((p.amount for p in self.prepayments), Decimal(0)) if self.prepayments else None

    @property
    def prepaid_vat(self) -> Decimal | None:
        """Sum of the VAT contained in prepaid amounts (SG52 MOA+115), None when no rate carries one."""
        values = [t.prepaid_vat for t in self.taxes if t.prepaid_vat is not None]
        return sum(values, Decimal(0)) if values else None


# ---------------------------------------------------------------- parsing

#: Header DTM qualifiers in the order of the MIG.
_HEADER_DATES: dict[str, str] = {
    "137": "document_date",
    "9": "processing_date",
    "155": "period_start",
    "156": "period_end",
    "Z42": "provisional_period_start",
    "Z43": "provisional_period_end",
    "203": "execution_date",
    "Z11": "balancing_start",
    "Z12": "network_usage_end",
}
_LINE_DATES = {"155": "period_start", "156": "period_end", "203": "execution_date"}
_LINE_AMOUNTS = {"203": "amount", "131": "adjustment"}
_TAX_AMOUNTS = {"113": "prepaid", "115": "prepaid_vat", "125": "base", "161": "amount"}
_TAX_IDS = ("FC", "VA")


class _Reader:
    """Walks the segments of one INVOIC: header, positions (LIN ...) and the summary after UNS+S."""

    def __init__(self, msg: RawMessage) -> None:
        self.msg = msg
        self.fields: dict[str, Any] = {"references": {}, "reference_dates": {}, "special_invoice_types": []}
        self.indexes: dict[str, int] = {}
        self.party: str | None = None
        self.last_reference: str | None = None
        self.lines: list[dict[str, Any]] = []
        self.line: dict[str, Any] | None = None
        self.allowance: dict[str, Any] | None = None
        self.summary = False
        self.prepayments: list[dict[str, Any]] = []
        self.taxes: list[dict[str, Any]] = []

    def error(self, detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError:
        """Content error at body segment ``index`` (-1 is the UNH of the message)."""
        position = (self.msg.position or 1) + 1 + index
        return EdifactContentError(f"message {self.msg.reference}: {detail}", segment, position)

    def set(self, name: str, value: Any, index: int) -> None:
        if value not in (None, "") and name not in self.fields:
            self.fields[name] = value
            self.indexes[name] = index

    def read(self, index: int, segment: Segment) -> None:
        handlers: dict[str, Callable[[Segment, int], None]] = {
            "BGM": self._bgm,
            "DTM": self._dtm,
            "IMD": self._imd,
            "FTX": self._ftx,
            "GEI": self._gei,
            "RFF": self._rff,
            "NAD": self._nad,
            "LOC": self._loc,
            "CUX": self._cux,
            "LIN": self._lin,
            "QTY": self._qty,
            "MOA": self._moa,
            "PRI": self._pri,
            "TAX": self._tax,
            "ALC": self._alc,
            "PCD": self._pcd,
            "UNS": self._uns,
        }
        handler = handlers.get(segment.tag)
        if handler is not None:
            try:
                handler(segment, index)
            except ValueError as exc:
                raise self.error(str(exc), segment.tag, index) from exc

    def _in_line(self, segment: Segment) -> dict[str, Any]:
        if self.line is None:
            raise ValueError(f"{segment.tag} outside of a position (expected after LIN, before UNS)")
        return self.line

    def _bgm(self, segment: Segment, index: int) -> None:
        self.set("category", element_value(segment, 0), index)
        self.set("document_number", element_value(segment, 1), index)
        self.set("function", element_value(segment, 2), index)

    def _dtm(self, segment: Segment, index: int) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        if self.summary:
            if qualifier == "3" and self.prepayments:
                self.prepayments[-1].setdefault("invoice_date", parse_date(value, fmt))
        elif self.line is not None:
            if qualifier in _LINE_DATES:
                self.line.setdefault(_LINE_DATES[qualifier], parse_date(value, fmt))
        elif qualifier in _HEADER_DATES:
            self.set(_HEADER_DATES[qualifier], parse_date(value, fmt), index)
        elif qualifier == "265":
            self.set("due_date", parse_date(value, fmt), index)
        elif qualifier == "171" and self.last_reference not in (None, "Z13"):
            self.fields["reference_dates"].setdefault(self.last_reference, parse_date(value, fmt))

    def _imd(self, segment: Segment, index: int) -> None:
        self.set("invoice_type", element_value(segment, 1), index)
        self.set("energy_direction", element_value(segment, 2), index)

    def _ftx(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "REG" and element_value(segment, 2) == "RCH":
            self.fields["reverse_charge"] = True

    def _gei(self, segment: Segment, index: int) -> None:
        code = element_value(segment, 1)
        if element_value(segment, 0) == "Z01" and code:
            self.fields["special_invoice_types"].append(code)

    def _rff(self, segment: Segment, index: int) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        if self.summary:
            if qualifier == "AFL" and self.prepayments:
                self.prepayments[-1].setdefault("invoice_number", value)
            return
        if self.line is not None:
            return
        self.last_reference = qualifier
        if qualifier == "Z13":
            self.set("pruefidentifikator", value, index)
        elif self.party in ("MS", "MR") and qualifier in _TAX_IDS:
            role = "sender" if self.party == "MS" else "receiver"
            self.fields.setdefault(f"{role}_tax_ids", {}).setdefault(qualifier, value)
        elif qualifier and value:
            self.fields["references"].setdefault(qualifier, value)

    def _nad(self, segment: Segment, index: int) -> None:
        qualifier = element_value(segment, 0)
        self.party = qualifier
        if qualifier in ("MS", "MR"):
            role = "sender" if qualifier == "MS" else "receiver"
            self.set(role, element_value(segment, 1), index)
            self.set(f"{role}_code_list", element_value(segment, 1, 2), index)
        elif qualifier == "ZSH":
            self.set("grid_account", element_value(segment, 1), index)

    def _loc(self, segment: Segment, index: int) -> None:
        location = element_value(segment, 1)
        if element_value(segment, 0) == "172":
            self.set("melo_id" if len(location) == 33 else "malo_id", location, index)

    def _cux(self, segment: Segment, index: int) -> None:
        self.set("currency", element_value(segment, 0, 1), index)

    def _lin(self, segment: Segment, index: int) -> None:
        if self.summary:
            raise ValueError("position (LIN) after the summary section (UNS+S)")
        position, article = element_value(segment, 0), element_value(segment, 2)
        if not position or not article:
            raise ValueError("position number or article id (C212) is missing")
        self.line = {
            "position": position,
            "article_id": article,
            "article_code_list": element_value(segment, 2, 1) or None,
            "allowances": [],
        }
        self.lines.append(self.line)
        self.allowance = None

    def _qty(self, segment: Segment, index: int) -> None:
        line = self._in_line(segment)
        qualifier, value, unit = (element_value(segment, 0, i) for i in range(3))
        if qualifier == "47":
            line["quantity"], line["quantity_unit"] = parse_number(value, "quantity (QTY+47)"), unit or None
        elif qualifier == "136":
            line["days"], line["days_unit"] = parse_number(value, "time quantity (QTY+136)"), unit or None
        elif qualifier == "Z17":
            line["sign"] = parse_number(value, "correction factor (QTY+Z17)")

    def _moa(self, segment: Segment, index: int) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        amount = parse_number(value, f"amount of MOA+{qualifier}")
        if self.summary:
            if self.taxes:
                if qualifier in _TAX_AMOUNTS:
                    self.taxes[-1].setdefault(_TAX_AMOUNTS[qualifier], amount)
            elif qualifier == "113":
                self.prepayments.append({"amount": amount})
            else:
                names = {"77": "total", "Z01": "municipal_discount", "9": "due_amount"}
                if qualifier in names:
                    self.set(names[qualifier], amount, index)
            return
        line = self._in_line(segment)
        if self.allowance is not None and qualifier in ("25", "Z01"):
            self.allowance.setdefault("base" if qualifier == "25" else "amount", amount)
        elif qualifier in _LINE_AMOUNTS:
            line.setdefault(_LINE_AMOUNTS[qualifier], amount)

    def _pri(self, segment: Segment, index: int) -> None:
        line = self._in_line(segment)
        if element_value(segment, 0) == "CAL":
            line["unit_price"] = parse_number(element_value(segment, 0, 1), "price (PRI+CAL)")
            line["price_unit"] = element_value(segment, 0, 5) or None

    def _tax(self, segment: Segment, index: int) -> None:
        tax = {
            "rate": parse_number(element_value(segment, 4, 3), "VAT rate (TAX C243)"),
            "category": element_value(segment, 5) or None,
        }
        if self.summary:
            self.taxes.append(tax)
        else:
            self._in_line(segment).setdefault("tax", tax)

    def _alc(self, segment: Segment, index: int) -> None:
        line = self._in_line(segment)
        self.allowance = {"kind": element_value(segment, 0), "code": element_value(segment, 1, 1) or None}
        line["allowances"].append(self.allowance)

    def _pcd(self, segment: Segment, index: int) -> None:
        if self.allowance is None:
            raise ValueError("PCD without a preceding ALC")
        if element_value(segment, 0) == "3":
            self.allowance["percent"] = parse_number(element_value(segment, 0, 1), "percentage (PCD+3)")

    def _uns(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "S":
            self.summary = True
            self.line = self.allowance = None


def parse_invoic(msg: RawMessage) -> InvoicMessage:
    """Read the typed fields of an INVOIC; raise EdifactContentError (segment and position) if unusable."""
    reader = _Reader(msg)
    if msg.type != "INVOIC":
        raise reader.error(f"is a {msg.type} message, not INVOIC")
    for index, segment in enumerate(msg.segments):
        reader.read(index, segment)
    fields = reader.fields
    require_header(reader, "an INVOIC", "310")
    if fields["category"] in STORNO_CATEGORIES and "OI" in fields["references"]:
        fields["cancels"] = fields["references"].pop("OI")
    try:
        return InvoicMessage(
            association=msg.association,
            message_reference=msg.reference,
            lines=reader.lines,
            prepayments=reader.prepayments,
            taxes=reader.taxes,
            **fields,
        )
    except ValidationError as exc:
        raise reader.error(f"unusable content: {exc}") from exc


# ---------------------------------------------------------------- building


def _dtm(qualifier: str, moment: datetime) -> Segment:
    return make_segment("DTM", [qualifier, format_date(moment), "303"])


def _moa(qualifier: str, amount: Decimal) -> Segment:
    return make_segment("MOA", [qualifier, _text(amount)])


def _tax_segment(tax: InvoiceTax) -> Segment:
    return make_segment("TAX", "7", "VAT", "", "", ["", "", "", _text(tax.rate)], tax.category or "")


def _rff(qualifier: str, value: str) -> Segment:
    return make_segment("RFF", [qualifier, value])


def _line_segments(line: InvoiceLine) -> list[Segment]:
    segs = [make_segment("LIN", line.position, "", [line.article_id, line.article_code_list or ""])]
    if line.quantity is not None:
        segs.append(make_segment("QTY", ["47", _text(line.quantity), line.quantity_unit or ""]))
    if line.days is not None:
        segs.append(make_segment("QTY", ["136", _text(line.days), line.days_unit or ""]))
    if line.sign is not None:
        segs.append(make_segment("QTY", ["Z17", _text(line.sign)]))
    for qualifier, name in _LINE_DATES.items():
        moment = getattr(line, name)
        if moment is not None:
            segs.append(_dtm(qualifier, moment))
    for qualifier, name in _LINE_AMOUNTS.items():
        amount = getattr(line, name)
        if amount is not None:
            segs.append(_moa(qualifier, amount))
    if line.unit_price is not None:
        segs.append(make_segment("PRI", ["CAL", _text(line.unit_price), "", "", "", line.price_unit or ""]))
    if line.tax is not None:
        segs.append(_tax_segment(line.tax))
    for allowance in line.allowances:
        segs.append(make_segment("ALC", allowance.kind, ["", allowance.code or ""]))
        if allowance.percent is not None:
            segs.append(make_segment("PCD", ["3", _text(allowance.percent)]))
        if allowance.base is not None:
            segs.append(_moa("25", allowance.base))
        if allowance.amount is not None:
            segs.append(_moa("Z01", allowance.amount))
    return segs


def _summary_segments(m: InvoicMessage) -> list[Segment]:
    segs = [make_segment("UNS", "S")]
    if m.total is not None:
        segs.append(_moa("77", m.total))
    for prepayment in m.prepayments:
        segs.append(_moa("113", prepayment.amount))
        if prepayment.invoice_number:
            segs.append(_rff("AFL", prepayment.invoice_number))
        if prepayment.invoice_date is not None:
            segs.append(_dtm("3", prepayment.invoice_date))
    if m.municipal_discount is not None:
        segs.append(_moa("Z01", m.municipal_discount))
    if m.due_amount is not None:
        segs.append(_moa("9", m.due_amount))
    for tax in m.taxes:
        segs.append(_tax_segment(tax))
        for qualifier, name in _TAX_AMOUNTS.items():
            amount = getattr(tax, name)
            if amount is not None:
                segs.append(_moa(qualifier, amount))
    return segs


def build_invoic(m: InvoicMessage) -> RawMessage:
    """Write the message segments in MIG order; only set fields are emitted."""
    segs = [make_segment("BGM", m.category, m.document_number, m.function)]
    for qualifier, name in _HEADER_DATES.items():
        moment = getattr(m, name)
        if moment is not None:
            segs.append(_dtm(qualifier, moment))
    if m.invoice_type or m.energy_direction:
        segs.append(make_segment("IMD", "", m.invoice_type or "", m.energy_direction or ""))
    if m.reverse_charge:
        segs.append(make_segment("FTX", "REG", "", "RCH"))
    segs.extend(make_segment("GEI", "Z01", code) for code in m.special_invoice_types)
    segs.append(_rff("Z13", m.pruefidentifikator))
    references = dict(m.references)
    if m.cancels:
        references = {"OI": m.cancels, **{q: v for q, v in references.items() if q != "OI"}}
    for qualifier, value in references.items():
        segs.append(_rff(qualifier, value))
        if qualifier in m.reference_dates:
            segs.append(_dtm("171", m.reference_dates[qualifier]))
    for qualifier, party, code_list, tax_ids in (
        ("MS", m.sender, m.sender_code_list, m.sender_tax_ids),
        ("MR", m.receiver, m.receiver_code_list, m.receiver_tax_ids),
    ):
        segs.append(make_segment("NAD", qualifier, [party, "", code_list]))
        segs.extend(_rff(q, v) for q, v in tax_ids.items())
    if m.malo_id or m.melo_id:
        segs.append(make_segment("NAD", "DP"))
        segs.extend(make_segment("LOC", "172", location) for location in (m.malo_id, m.melo_id) if location)
    if m.grid_account:
        segs.append(make_segment("NAD", "ZSH", m.grid_account))
    segs.append(make_segment("CUX", ["2", m.currency, "4"]))
    if m.due_date is not None:
        segs += [make_segment("PYT", "3"), _dtm("265", m.due_date)]
    for line in m.lines:
        segs.extend(_line_segments(line))
    segs.extend(_summary_segments(m))
    return RawMessage(
        reference=m.message_reference,
        type="INVOIC",
        version="D",
        release="06A",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def invoic_interchange(
    messages: list[InvoicMessage], *, sender: Party, receiver: Party, reference: str, prepared_at: datetime
) -> Interchange:
    """Wrap INVOIC messages into an interchange ready for serialize_interchange."""
    return Interchange(
        sender=sender,
        receiver=receiver,
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_invoic(m) for m in messages],
    )


# ---------------------------------------------------------------- arithmetic


def _cents(value: Decimal) -> Decimal:
    """Commercial rounding to cents (half up, away from zero for negative amounts)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _time_factors(line: InvoiceLine) -> list[Decimal] | str:
    """Factors turning the price's time basis into the position's time quantity, or why there are none.

    A year may have 365 or 366 days, so both factors are offered for days against a yearly price.
    """
    if line.days is None:
        if line.price_unit:
            return f"price per {line.price_unit} but no time quantity (QTY+136)"
        return [Decimal(1)]
    if not line.price_unit:
        return f"time quantity {line.days} {line.days_unit or ''}".rstrip() + " but the price has no time basis (PRI)"
    if line.days_unit == line.price_unit:
        return [line.days]
    if (line.days_unit, line.price_unit) == ("MON", "ANN"):
        return [line.days / 12]
    if (line.days_unit, line.price_unit) == ("DAY", "ANN"):
        return [line.days / 365, line.days / 366]
    return f"time quantity in {line.days_unit} cannot be converted to a price per {line.price_unit}"


def _line_problems(line: InvoiceLine) -> list[str]:
    label = f"position {line.position} ({line.article_id})"
    problems: list[str] = []
    if line.amount is None:
        return [f"{label}: no net amount (MOA+203)"]
    if line.quantity is not None and line.unit_price is not None:
        factors = _time_factors(line)
        if isinstance(factors, str):
            problems.append(f"{label}: cannot recompute the amount: {factors}")
        else:
            sign = line.sign if line.sign is not None else Decimal(1)
            adjustment = line.adjustment or Decimal(0)
            expected = [_cents(sign * line.quantity * f * line.unit_price) + adjustment for f in factors]
            if line.amount not in expected:
                days = f" × {line.days} {line.days_unit}" if line.days is not None else ""
                signed = f"{sign} × " if line.sign is not None else ""
                plus = f" + adjustment {_money(adjustment)}" if line.adjustment is not None else ""
                problems.append(
                    f"{label}: amount {_money(line.amount)} does not match {signed}quantity {line.quantity}{days}"
                    f" × price {line.unit_price}{' per ' + line.price_unit if line.price_unit else ''}{plus}"
                    f" = {_money(expected[0])}"
                )
    for allowance in line.allowances:
        percent, base, discount = allowance.percent, allowance.base, allowance.amount
        if percent is None or base is None or discount is None:
            continue
        expected_discount = _cents(base * percent / 100)
        if abs(discount) != expected_discount:
            problems.append(
                f"{label}: Gemeinderabatt {_money(discount)} is not {percent} % of {_money(base)}"
                f" = {_money(expected_discount)}"
            )
    if line.tax is None:
        problems.append(f"{label}: no VAT rate (TAX)")
    return problems


def check_arithmetic(m: InvoicMessage) -> list[str]:
    """Recompute an invoice (sachlich-rechnerische Prüfung, the arithmetic part); return problems, [] when fine.

    Checks: position amount = sign × quantity × time factor × price (rounded half up to cents) + Zu-/Abschlag
    (MOA+131); Gemeinderabatt = percentage of its base; per VAT rate the taxable amount equals the sum of its
    positions (when the invoice has positions) and the VAT equals rate × base; total = taxable amounts + VAT;
    due amount = total − prepaid amounts − Gemeinderabatt; prepaid amounts agree between summary and VAT rates.
    """
    problems: list[str] = []
    for line in m.lines:
        problems.extend(_line_problems(line))
    summary_rates = {tax.rate for tax in m.taxes}
    for rate in sorted({line.tax.rate for line in m.lines if line.tax is not None} - summary_rates):
        positions = ", ".join(line.position for line in m.lines if line.tax is not None and line.tax.rate == rate)
        problems.append(f"VAT {rate} %: positions {positions} have no entry in the tax summary (TAX/MOA+125)")
    for tax in m.taxes:
        label = f"VAT {tax.rate} %"
        if tax.base is None or tax.amount is None:
            problems.append(f"{label}: taxable amount (MOA+125) or VAT amount (MOA+161) missing")
            continue
        if m.lines:
            positions_sum = sum(
                (line.amount or Decimal(0) for line in m.lines if line.tax is not None and line.tax.rate == tax.rate),
                Decimal(0),
            )
            if positions_sum != tax.base:
                problems.append(
                    f"{label}: taxable amount (MOA+125) {_money(tax.base)} does not equal the sum of the positions"
                    f" {_money(positions_sum)}"
                )
        expected_vat = _cents(tax.base * tax.rate / 100)
        if tax.amount != expected_vat:
            problems.append(
                f"{label}: VAT amount (MOA+161) {_money(tax.amount)} should be {tax.rate} % of"
                f" {_money(tax.base)} = {_money(expected_vat)}"
            )
    complete = all(tax.base is not None and tax.amount is not None for tax in m.taxes)
    gross = sum(((tax.base or Decimal(0)) + (tax.amount or Decimal(0)) for tax in m.taxes), Decimal(0))
    if m.total is None:
        problems.append("invoice total (MOA+77) missing")
    elif complete and m.total != gross:
        problems.append(
            f"invoice total (MOA+77) {_money(m.total)} does not equal taxable amounts plus VAT {_money(gross)}"
        )
    if m.total is not None:
        expected_due = m.total - (m.prepaid or Decimal(0)) - (m.municipal_discount or Decimal(0))
        if m.due_amount is None:
            problems.append("due amount (MOA+9) missing")
        elif m.due_amount != expected_due:
            deductions = " − prepaid" if m.prepayments else ""
            deductions += " − Gemeinderabatt" if m.municipal_discount is not None else ""
            problems.append(
                f"due amount (MOA+9) {_money(m.due_amount)} does not equal total{deductions} {_money(expected_due)}"
            )
    rate_prepaid = [tax.prepaid for tax in m.taxes if tax.prepaid is not None]
    if rate_prepaid and sum(rate_prepaid, Decimal(0)) != (m.prepaid or Decimal(0)):
        problems.append(
            f"prepaid amounts per VAT rate {_money(sum(rate_prepaid, Decimal(0)))} do not equal the prepaid amounts"
            f" of the summary {_money(m.prepaid or Decimal(0))}"
        )
    return problems
