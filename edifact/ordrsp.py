"""Typed ORDRSP messages (EDI@Energy ORDRSP 1.4a): the answer to an ORDERS, read the same way for every 19xxx PID.

Segment layout::

    BGM+<category>+<document no>'  DTM+137:<message date>:303'  [DTM+<other>']  [IMD++<product>']
    RFF+ON:<BGM document no of the answered ORDERS>'  RFF+Z13:<PID>'
    AJT+<answer code>+<EBD, e.g. E_0470>'  [FTX+AAP+++<Begründung>']
    NAD+MS+<id>::293'  [CTA+IC+:<name>'  COM+<number>:<channel>']  NAD+MR+<id>::293'
    [CUX+2:EUR:9']  [LIN+1'  FTX+ABO+++<Abweichung>']  UNS+S'  [MOA+Z02:<Mindestbetrag>'  MOA+Z03:<Höchstbetrag>']

Whether the order was accepted follows from the Prüfidentifikator (e.g. 19116 Bestätigung, 19117 Ablehnung
Sperr-/Entsperrauftrag; 19102 and 19114 are rejections only - values themselves come as MSCONS).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.orders import (
    MessageReader,
    OrdersCommunication,
    OrdersMessage,
    build_error,
    check_parties,
    dtm,
    ftx,
    ftx_text,
    party_segments,
)
from edifact.pruefidentifikatoren import is_published
from edifact.segments import Amount, UtcDateTime, element_value, make_segment, parse_date, parse_number

__all__ = [
    "ANSWERS",
    "OUTCOMES",
    "OrdrspMessage",
    "OrdrspOutcome",
    "OrdrspPosition",
    "build_ordrsp",
    "ordrsp_interchange",
    "parse_ordrsp",
]

ASSOCIATION = "1.4a"  # ORDRSP MIG version of FV2510 (samples)


class OrdrspOutcome(StrEnum):
    """What an ORDRSP says about the order it answers."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INFORMATION = "information"  # Mitteilung / Bearbeitungsstand


def _outcomes(outcome: OrdrspOutcome, pids: str) -> dict[str, OrdrspOutcome]:
    return dict.fromkeys(pids.split(), outcome)


#: Outcome per published ORDRSP Prüfidentifikator (PID catalogue FV2510/FV2604: Bestätigung / Ablehnung / Mitteilung).
OUTCOMES: dict[str, OrdrspOutcome] = {
    **_outcomes(OrdrspOutcome.ACCEPTED, "19001 19003 19005 19009 19011 19013 19015 19116 19118 19128 19302"),
    **_outcomes(
        OrdrspOutcome.REJECTED,
        "19002 19004 19006 19007 19010 19012 19014 19016 19101 19102 19103 19104 19110 19114 19115 19117 19119 "
        "19123 19129 19204 19301",
    ),
    **_outcomes(OrdrspOutcome.INFORMATION, "19120 19121 19124 19127 19130 19131 19132 19133"),
}
#: ORDRSP Prüfidentifikatoren that answer an ORDERS Prüfidentifikator.
ANSWERS: dict[str, frozenset[str]] = {
    "17102": frozenset({"19102"}),
    "17113": frozenset({"19114"}),
    "17115": frozenset({"19116", "19117"}),
    "17116": frozenset({"19118", "19119"}),
    "17117": frozenset({"19116", "19117"}),
}
#: Prüfidentifikatoren whose answer reference (RFF+ON) and answer code (AJT) are checked when reading and building.
_CHECKED = frozenset({"19102", "19114", "19116", "19117"})
_PRICES = {"Z02": "minimum_price", "Z03": "maximum_price"}


# ---------------------------------------------------------------- model


class OrdrspPosition(BaseModel):
    """One position (LIN) with its free texts by FTX qualifier (e.g. ABO Information über Abweichung)."""

    number: str = "1"
    texts: dict[str, str] = {}


class OrdrspMessage(BaseModel):
    """The fields of an ORDRSP; datetimes are timezone-aware and stored in UTC."""

    association: str = ASSOCIATION
    pruefidentifikator: str
    message_reference: str
    category: str  # BGM 1001, the category of the answered ORDERS (e.g. Z51 Sperrung)
    document_number: str
    document_date: UtcDateTime  # DTM+137
    dates: dict[str, UtcDateTime] = {}  # other header DTM by qualifier
    product: str | None = None  # IMD++<code>
    order_reference: str | None = None  # RFF+ON: document number (BGM) of the answered ORDERS
    references: dict[str, str] = {}  # other SG1 references by qualifier
    answer_code: str | None = None  # AJT 4465, e.g. A05
    answer_code_list: str | None = None  # AJT 1082: EBD of the answer code, e.g. E_0470
    answer_text: str | None = None  # FTX+AAP Begründung
    notes: dict[str, str] = {}  # other header FTX by qualifier
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    contact_name: str | None = None
    communications: list[OrdersCommunication] = []
    currency: str | None = None  # CUX+2:<currency>:9
    positions: list[OrdrspPosition] = []
    minimum_price: Amount | None = None  # MOA+Z02 Mindestbetrag (netto), e.g. of a Sperrung
    maximum_price: Amount | None = None  # MOA+Z03 Höchstbetrag (netto)

    @field_validator("pruefidentifikator")
    @classmethod
    def _ordrsp_pid(cls, value: str) -> str:
        if not (len(value) == 5 and value.startswith("19") and value.isdigit()):
            raise ValueError(f"{value!r} is not an ORDRSP Prüfidentifikator (19xxx)")
        return value

    @property
    def outcome(self) -> OrdrspOutcome | None:
        """Accepted, rejected or information, from the Prüfidentifikator (None if unknown)."""
        return OUTCOMES.get(self.pruefidentifikator)

    @property
    def accepted(self) -> bool | None:
        """True for a Bestätigung, False for an Ablehnung, None for anything else."""
        outcome = self.outcome
        return None if outcome in (None, OrdrspOutcome.INFORMATION) else outcome is OrdrspOutcome.ACCEPTED

    def answers(self, order: OrdersMessage) -> bool:
        """Whether this message answers ``order``: its document number, swapped parties and a matching PID."""
        return (
            self.order_reference == order.document_number
            and (self.sender, self.receiver) == (order.receiver, order.sender)
            and self.pruefidentifikator in ANSWERS.get(order.pruefidentifikator, frozenset())
        )


# ---------------------------------------------------------------- parsing


class _OrdrspReader(MessageReader):
    """Header (with AJT/FTX), parties, positions (LIN/FTX) and the summary (MOA after UNS+S) of one ORDRSP."""

    def __init__(self, msg: RawMessage) -> None:
        super().__init__(msg)
        self.positions: list[dict[str, Any]] = []
        self.position: dict[str, Any] | None = None
        self.summary = False

    def handlers(self) -> dict[str, Callable[[Segment, int], None]]:
        own = {"DTM": self._dtm, "IMD": self._imd, "RFF": self._rff, "AJT": self._ajt, "FTX": self._ftx}
        return super().handlers() | own | {"CUX": self._cux, "LIN": self._lin, "UNS": self._uns, "MOA": self._moa}

    def _dtm(self, segment: Segment, index: int) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        if self.position is not None or self.summary or not qualifier:
            return
        moment = parse_date(value, fmt or "303")
        if qualifier == "137":
            self.set("document_date", moment, index)
        else:
            self.fields.setdefault("dates", {}).setdefault(qualifier, moment)

    def _imd(self, segment: Segment, index: int) -> None:
        self.set("product", element_value(segment, 1), index)

    def _rff(self, segment: Segment, index: int) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        if self.position is not None or not (qualifier and value):
            return
        if qualifier in ("Z13", "ON"):
            self.set("pruefidentifikator" if qualifier == "Z13" else "order_reference", value, index)
        else:
            self.fields.setdefault("references", {}).setdefault(qualifier, value)

    def _ajt(self, segment: Segment, index: int) -> None:
        if "answer_code" in self.fields:
            raise ValueError("more than one answer (AJT) in the message; only one is supported")
        code = element_value(segment, 0)
        if not code:
            raise ValueError("answer code (AJT 4465) is missing")
        self.set("answer_code", code, index)
        self.set("answer_code_list", element_value(segment, 1), index)

    def _ftx(self, segment: Segment, index: int) -> None:
        qualifier, text = element_value(segment, 0), ftx_text(segment)
        if not (qualifier and text):
            return
        if self.position is not None:
            self.position["texts"].setdefault(qualifier, text)
        elif qualifier == "AAP":
            self.set("answer_text", text, index)
        else:
            self.fields.setdefault("notes", {}).setdefault(qualifier, text)

    def _cux(self, segment: Segment, index: int) -> None:
        self.set("currency", element_value(segment, 0, 1), index)

    def _lin(self, segment: Segment, index: int) -> None:
        number = element_value(segment, 0)
        if not number:
            raise ValueError("position number (LIN 1082) is missing")
        self.position = {"number": number, "texts": {}}
        self.positions.append(self.position)

    def _uns(self, segment: Segment, index: int) -> None:
        self.position, self.summary = None, True

    def _moa(self, segment: Segment, index: int) -> None:
        qualifier = element_value(segment, 0)
        if self.summary and qualifier in _PRICES:
            self.set(
                _PRICES[qualifier], parse_number(element_value(segment, 0, 1), f"amount of MOA+{qualifier}"), index
            )


def parse_ordrsp(msg: RawMessage) -> OrdrspMessage:
    """Read the typed fields of an ORDRSP; raise EdifactContentError (segment and position) if unusable."""
    reader = _OrdrspReader(msg)
    if msg.type != "ORDRSP":
        raise reader.error(f"is a {msg.type} message, not ORDRSP")
    reader.read_all()
    reader.require("ORDRSP", "19xxx")
    if reader.fields["pruefidentifikator"] in _CHECKED:
        missing = [
            tag for name, tag in (("order_reference", "RFF+ON"), ("answer_code", "AJT")) if name not in reader.fields
        ]
        if missing:
            raise reader.error(f"mandatory data missing: {', '.join(missing)}")
    try:
        return OrdrspMessage(
            association=msg.association, message_reference=msg.reference, positions=reader.positions, **reader.fields
        )
    except ValidationError as exc:
        raise reader.error(f"unusable content: {exc}") from exc


# ---------------------------------------------------------------- building


def _check_ordrsp(m: OrdrspMessage, validate_ids: bool) -> None:
    pid = m.pruefidentifikator
    if not is_published("ORDRSP", pid):
        raise build_error("ORDRSP", pid, "not a published ORDRSP Prüfidentifikator", "RFF")
    if pid in _CHECKED and not m.order_reference:
        raise build_error("ORDRSP", pid, "the answered ORDERS (RFF+ON) is mandatory", "RFF")
    if pid in _CHECKED and not m.answer_code:
        raise build_error("ORDRSP", pid, "the answer code (AJT) is mandatory", "AJT")
    if validate_ids:
        check_parties("ORDRSP", pid, m.sender, m.receiver)


def _header_segments(m: OrdrspMessage) -> list[Segment]:
    segs = [make_segment("BGM", m.category, m.document_number), dtm("137", m.document_date)]
    segs += [dtm(qualifier, moment) for qualifier, moment in m.dates.items()]
    if m.product:
        segs.append(make_segment("IMD", "", m.product))
    if m.order_reference:
        segs.append(make_segment("RFF", ["ON", m.order_reference]))
    segs += [make_segment("RFF", [qualifier, value]) for qualifier, value in m.references.items()]
    segs.append(make_segment("RFF", ["Z13", m.pruefidentifikator]))
    if m.answer_code:
        segs.append(make_segment("AJT", m.answer_code, m.answer_code_list or ""))
    if m.answer_text:
        segs.append(ftx("AAP", m.answer_text))
    segs += [ftx(qualifier, text) for qualifier, text in m.notes.items()]
    return segs


def _summary_segments(m: OrdrspMessage) -> list[Segment]:
    segs = [make_segment("UNS", "S")]
    for qualifier, name in _PRICES.items():
        amount = getattr(m, name)
        if amount is not None:
            segs.append(make_segment("MOA", [qualifier, format(amount, "f")]))
    return segs


def build_ordrsp(m: OrdrspMessage, *, validate_ids: bool = True) -> RawMessage:
    """Write the segments of ``m`` (UNH/UNT excluded); EdifactContentError if mandatory answer data are missing."""
    _check_ordrsp(m, validate_ids)
    parties = party_segments(
        (m.sender, m.sender_code_list), (m.receiver, m.receiver_code_list), m.contact_name, m.communications
    )
    segs = [*_header_segments(m), *parties]
    if m.currency:
        segs.append(make_segment("CUX", ["2", m.currency, "9"]))
    for position in m.positions:
        segs.append(make_segment("LIN", position.number))
        segs += [ftx(qualifier, text) for qualifier, text in position.texts.items()]
    segs += _summary_segments(m)
    return RawMessage(
        reference=m.message_reference,
        type="ORDRSP",
        version="D",
        release="10A",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def ordrsp_interchange(
    messages: list[OrdrspMessage], *, sender: Party, receiver: Party, reference: str, prepared_at: datetime
) -> Interchange:
    """Wrap ORDRSP messages into an interchange ready for serialize_interchange."""
    return Interchange(
        sender=sender,
        receiver=receiver,
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_ordrsp(m) for m in messages],
    )
