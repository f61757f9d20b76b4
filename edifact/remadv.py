"""Typed REMADV messages: Zahlungsavis (33001, BGM+481) and Abweisungen (33002-33004, BGM+239).

Per referenced invoice a DOC group carries the due and paid amounts and, for a rejection, AJT reason codes with the
EBD they come from, free text (FTX+ABO) and, for 33004, the rejected positions (DLI).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError
from edifact.segments import (
    Amount,
    UtcDateTime,
    element_components,
    element_value,
    format_date,
    make_segment,
    parse_date,
    parse_number,
    require_header,
)

__all__ = [
    "RemadvItem",
    "RemadvMessage",
    "RemadvPositionRejection",
    "RemadvRejection",
    "build_remadv",
    "parse_remadv",
    "remadv_interchange",
]

_TEXT_CHUNK = 512


# ---------------------------------------------------------------- model


class RemadvRejection(BaseModel):
    """One rejection reason: AJT with the answer code and the EBD (or code list) it stems from."""

    code: str  # AJT 4465, e.g. A23
    code_list: str | None = None  # AJT second element, e.g. E_0406
    text: str | None = None  # FTX+ABO
    references: dict[str, str] = {}  # RFF after the AJT, e.g. AFL zugehörige Rechnung
    notes: dict[str, str] = {}  # other FTX by qualifier, e.g. Z14 Abschlagsrechnungen, Z16 fehlende Position


class RemadvPositionRejection(BaseModel):
    """Rejection of one invoice position (33004): DLI with the position number and its reasons."""

    position: str  # DLI 1082, the LIN position of the invoice
    rejections: list[RemadvRejection] = []


class RemadvItem(BaseModel):
    """One referenced invoice (DOC group)."""

    document_type: str = "380"  # DOC 1001: 380, 389, 457, Z25
    invoice_number: str
    invoice_date: UtcDateTime | None = None  # DTM+137
    due_amount: Amount | None = None  # MOA+9 fälliger Betrag of the invoice
    paid_amount: Amount | None = None  # MOA+12 Überweisungsbetrag
    references: dict[str, str] = {}  # RFF before the first AJT, e.g. ACW Vorgangsreferenz
    rejections: list[RemadvRejection] = []
    position_rejections: list[RemadvPositionRejection] = []

    @property
    def rejection_code(self) -> str | None:
        """Code of the first rejection reason (AJT 4465)."""
        return self.rejections[0].code if self.rejections else None

    @property
    def rejection_list(self) -> str | None:
        """EBD or code list of the first rejection reason (AJT second element)."""
        return self.rejections[0].code_list if self.rejections else None

    @property
    def rejection_text(self) -> str | None:
        """Free text (FTX+ABO) of the first rejection reason."""
        return self.rejections[0].text if self.rejections else None


class RemadvMessage(BaseModel):
    """The fields of a REMADV; datetimes are timezone-aware and stored in UTC."""

    association: str
    pruefidentifikator: str
    message_reference: str
    category: str  # BGM 1001: 481 Zahlungsavis, 239 Abweisung
    document_number: str
    document_date: UtcDateTime  # DTM+137
    payment_date: UtcDateTime | None = None  # header DTM+203 (Ausführungsdatum of the payment)
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    currency: str = "EUR"
    total: Amount | None = None  # MOA+12 after UNS+S
    items: list[RemadvItem] = []

    @field_validator("pruefidentifikator")
    @classmethod
    def _remadv_pid(cls, value: str) -> str:
        if not re.fullmatch(r"330\d\d", value):
            raise ValueError(f"{value!r} is not a REMADV Prüfidentifikator (330xx)")
        return value


# ---------------------------------------------------------------- parsing


class _Reader:
    """Walks the segments of one REMADV: header, DOC groups (with AJT/DLI) and the summary after UNS+S."""

    def __init__(self, msg: RawMessage) -> None:
        self.msg = msg
        self.fields: dict[str, Any] = {}
        self.indexes: dict[str, int] = {}
        self.items: list[dict[str, Any]] = []
        self.item: dict[str, Any] | None = None
        self.position: dict[str, Any] | None = None
        self.rejection: dict[str, Any] | None = None
        self.summary = False

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
            "RFF": self._rff,
            "NAD": self._nad,
            "CUX": self._cux,
            "DOC": self._doc,
            "MOA": self._moa,
            "DLI": self._dli,
            "AJT": self._ajt,
            "FTX": self._ftx,
            "UNS": self._uns,
        }
        handler = handlers.get(segment.tag)
        if handler is not None:
            try:
                handler(segment, index)
            except ValueError as exc:
                raise self.error(str(exc), segment.tag, index) from exc

    def _bgm(self, segment: Segment, index: int) -> None:
        self.set("category", element_value(segment, 0), index)
        self.set("document_number", element_value(segment, 1), index)

    def _dtm(self, segment: Segment, index: int) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        if self.summary:
            return
        if self.item is not None:
            if qualifier == "137":
                self.item.setdefault("invoice_date", parse_date(value, fmt))
        elif qualifier == "137":
            self.set("document_date", parse_date(value, fmt), index)
        elif qualifier == "203":
            self.set("payment_date", parse_date(value, fmt), index)

    def _rff(self, segment: Segment, index: int) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        if self.item is None:
            if qualifier == "Z13":
                self.set("pruefidentifikator", value, index)
        elif qualifier and value:
            target = self.rejection if self.rejection is not None else self.item
            target["references"].setdefault(qualifier, value)

    def _nad(self, segment: Segment, index: int) -> None:
        qualifier = element_value(segment, 0)
        if qualifier in ("MS", "MR"):
            role = "sender" if qualifier == "MS" else "receiver"
            self.set(role, element_value(segment, 1), index)
            self.set(f"{role}_code_list", element_value(segment, 1, 2), index)

    def _cux(self, segment: Segment, index: int) -> None:
        self.set("currency", element_value(segment, 0, 1), index)

    def _doc(self, segment: Segment, index: int) -> None:
        if self.summary:
            raise ValueError("DOC after the summary section (UNS+S)")
        number = element_value(segment, 1)
        if not number:
            raise ValueError("invoice number (DOC C106) is missing")
        self.item = {
            "document_type": element_value(segment, 0),
            "invoice_number": number,
            "references": {},
            "rejections": [],
            "position_rejections": [],
        }
        self.items.append(self.item)
        self.position = self.rejection = None

    def _moa(self, segment: Segment, index: int) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        amount = parse_number(value, f"amount of MOA+{qualifier}")
        if self.summary:
            if qualifier == "12":
                self.set("total", amount, index)
        elif self.item is not None:
            names = {"9": "due_amount", "12": "paid_amount"}
            if qualifier in names:
                self.item.setdefault(names[qualifier], amount)

    def _dli(self, segment: Segment, index: int) -> None:
        if self.item is None:
            raise ValueError("DLI outside of a referenced invoice (expected after DOC)")
        position = element_value(segment, 1)
        if not position:
            raise ValueError("position number (DLI 1082) is missing")
        self.position = {"position": position, "rejections": []}
        self.item["position_rejections"].append(self.position)
        self.rejection = None

    def _ajt(self, segment: Segment, index: int) -> None:
        if self.item is None:
            raise ValueError("AJT outside of a referenced invoice (expected after DOC)")
        code = element_value(segment, 0)
        if not code:
            raise ValueError("rejection code (AJT 4465) is missing")
        self.rejection = {"code": code, "code_list": element_value(segment, 1) or None, "references": {}, "notes": {}}
        (self.position or self.item)["rejections"].append(self.rejection)

    def _ftx(self, segment: Segment, index: int) -> None:
        qualifier, text = element_value(segment, 0), "".join(element_components(segment, 3))
        if self.rejection is None or not text:
            return
        if qualifier == "ABO":
            self.rejection.setdefault("text", text)
        elif qualifier:
            self.rejection["notes"].setdefault(qualifier, text)

    def _uns(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "S":
            self.summary = True
            self.item = self.position = self.rejection = None


def parse_remadv(msg: RawMessage) -> RemadvMessage:
    """Read the typed fields of a REMADV; raise EdifactContentError (segment and position) if unusable."""
    reader = _Reader(msg)
    if msg.type != "REMADV":
        raise reader.error(f"is a {msg.type} message, not REMADV")
    for index, segment in enumerate(msg.segments):
        reader.read(index, segment)
    fields = reader.fields
    require_header(reader, "a REMADV", "330")
    try:
        return RemadvMessage(association=msg.association, message_reference=msg.reference, items=reader.items, **fields)
    except ValidationError as exc:
        raise reader.error(f"unusable content: {exc}") from exc


# ---------------------------------------------------------------- building


def _dtm(qualifier: str, moment: datetime) -> Segment:
    return make_segment("DTM", [qualifier, format_date(moment), "303"])


def _moa(qualifier: str, amount: Decimal) -> Segment:
    return make_segment("MOA", [qualifier, format(amount, "f")])


def _ftx(qualifier: str, text: str) -> Segment:
    chunks = [text[i : i + _TEXT_CHUNK] for i in range(0, len(text), _TEXT_CHUNK)]
    return make_segment("FTX", qualifier, "", "", chunks)


def _rejection_segments(rejection: RemadvRejection) -> list[Segment]:
    segs = [make_segment("AJT", rejection.code, rejection.code_list or "")]
    segs.extend(make_segment("RFF", [q, v]) for q, v in rejection.references.items())
    if rejection.text:
        segs.append(_ftx("ABO", rejection.text))
    segs.extend(_ftx(q, text) for q, text in rejection.notes.items())
    return segs


def _item_segments(item: RemadvItem) -> list[Segment]:
    segs = [make_segment("DOC", item.document_type, item.invoice_number)]
    if item.due_amount is not None:
        segs.append(_moa("9", item.due_amount))
    if item.paid_amount is not None:
        segs.append(_moa("12", item.paid_amount))
    if item.invoice_date is not None:
        segs.append(_dtm("137", item.invoice_date))
    segs.extend(make_segment("RFF", [q, v]) for q, v in item.references.items())
    for rejection in item.rejections:
        segs.extend(_rejection_segments(rejection))
    for position in item.position_rejections:
        segs.append(make_segment("DLI", "1", position.position))
        for rejection in position.rejections:
            segs.extend(_rejection_segments(rejection))
    return segs


def build_remadv(m: RemadvMessage) -> RawMessage:
    """Write the message segments in the order of the EDI@Energy samples; only set fields are emitted."""
    segs = [make_segment("BGM", m.category, m.document_number), _dtm("137", m.document_date)]
    if m.payment_date is not None:
        segs.append(_dtm("203", m.payment_date))
    segs += [
        make_segment("RFF", ["Z13", m.pruefidentifikator]),
        make_segment("NAD", "MS", [m.sender, "", m.sender_code_list]),
        make_segment("NAD", "MR", [m.receiver, "", m.receiver_code_list]),
        make_segment("CUX", ["2", m.currency, "11"]),
    ]
    for item in m.items:
        segs.extend(_item_segments(item))
    segs.append(make_segment("UNS", "S"))
    if m.total is not None:
        segs.append(_moa("12", m.total))
    return RawMessage(
        reference=m.message_reference,
        type="REMADV",
        version="D",
        release="05A",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def remadv_interchange(
    messages: list[RemadvMessage], *, sender: Party, receiver: Party, reference: str, prepared_at: datetime
) -> Interchange:
    """Wrap REMADV messages into an interchange ready for serialize_interchange."""
    return Interchange(
        sender=sender,
        receiver=receiver,
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_remadv(m) for m in messages],
    )
