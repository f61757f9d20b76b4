"""Typed ORDERS messages (EDI@Energy ORDERS 1.4b): Anfrage/Reklamation von Werten, Sperr- und Entsperrauftrag.

Built and checked for 17102 Anfrage von Werten, 17113 Reklamation von Werten, 17115 Sperrauftrag and 17117
Entsperrauftrag; any published ORDERS Prüfidentifikator (17xxx) is parsed into the same model. Segment layout::

    BGM+<category>+<document no>'  DTM+137:<message date>:303'  [DTM+203|469:<Ausführungs-/frühestes Datum>:303']
    [IMD++<product>']  [RFF+ACW:<reklamierte MSCONS (BGM)>']  RFF+Z13:<PID>'
    NAD+MS+<id>::293'  [CTA+IC+:<name>'  COM+<number>:<channel>']  NAD+MR+<id>::293'
    NAD+DP'  LOC+172+<MaLo/MeLo>' | RFF+AGK:<Konfigurations-ID>'  [NAD+Z24 Treffpunkt']
    LIN+<n>'  [PIA+5+<OBIS>:SRW']  [DTM+7|163|164']  [FTX+Z04|Z05|Z06 Reklamationsgrund']  [FTX+ACB+++<Hinweis>']
    UNS+S'

Parsing is lenient (partners send what they send, e.g. MaLo-IDs with a wrong check digit); building enforces the
AHB rules of the four supported Prüfidentifikatoren and, by default, the identifier check digits (``rules.ids``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError
from edifact.pruefidentifikatoren import is_published
from edifact.segments import (
    HEADER_FIELDS,
    UtcDateTime,
    element_components,
    element_value,
    format_date,
    make_segment,
    parse_date,
)
from rules.ids import InvalidIdentifier, validate_malo_id, validate_market_partner_id, validate_melo_id

__all__ = [
    "PRODUCTS",
    "REASONS",
    "SUPPORTED_CATEGORIES",
    "OrdersAddress",
    "OrdersCommunication",
    "OrdersMessage",
    "OrdersPosition",
    "build_orders",
    "orders_interchange",
    "parse_orders",
]

ASSOCIATION = "1.4b"  # ORDERS MIG version of FV2510 (samples)
#: BGM 1001 per buildable Prüfidentifikator.
SUPPORTED_CATEGORIES: dict[str, frozenset[str]] = {
    "17102": frozenset({"7", "Z28", "Z48"}),  # Prozessdatenbericht, Energiemenge u. Leistungsmaximum, Lastgang MaLo
    "17113": frozenset({"Z34"}),  # Reklamation von Werten
    "17115": frozenset({"Z51"}),  # Sperrung
    "17117": frozenset({"Z52"}),  # Entsperrung
}
#: IMD++<code> (C272 7081).
PRODUCTS: dict[str, str] = {
    "Z11": "Lastgangdaten",
    "Z12": "Zählerstände",
    "Z35": "Energiemenge Einzelwert",
    "Z53": "Entsperrung innerhalb der Arbeitszeit",
    "Z54": "Entsperrung auch außerhalb der Arbeitszeit",
}
#: Reklamationsgrund of 17113: FTX qualifier (4451).
REASONS: dict[str, str] = {
    "Z04": "Werte zu hoch im angegebenen Zeitintervall",
    "Z05": "Werte zu niedrig im angegebenen Zeitintervall",
    "Z06": "Werte fehlen im angegebenen Zeitintervall",
}
_TEXT_CHUNK = 512  # FTX DE4440 an..512, up to five components
_NAME_CHUNK = 35  # NAD C058/C059 an..35 per component
_POSITION_DATES = {"7": "point_in_time", "163": "period_start", "164": "period_end"}
_HEADER_DATES = {"203": "execution_date", "469": "earliest_date"}


# ---------------------------------------------------------------- model


class OrdersCommunication(BaseModel):
    """COM of the sender's contact: number or address (DE3148) and channel (EM, TE, FX, AJ, AL)."""

    number: str
    channel: str


class OrdersAddress(BaseModel):
    """NAD+Z24 Treffpunkt of a Sperr-/Entsperrauftrag."""

    name: str | None = None  # C058 Zusatzinformation zur Identifizierung, e.g. a company
    street: str | None = None  # C059 Straße und Hausnummer oder Postfach
    city: str | None = None
    postcode: str | None = None
    country: str | None = None


class OrdersPosition(BaseModel):
    """One SG29 position (LIN): requested values, Reklamation or Hinweis."""

    number: str = "1"
    obis: str | None = None  # PIA+5, unescaped (e.g. ``1-1:1.8.0``)
    point_in_time: UtcDateTime | None = None  # DTM+7 (Zählerstand of 17113)
    period_start: UtcDateTime | None = None  # DTM+163
    period_end: UtcDateTime | None = None  # DTM+164
    reason: str | None = None  # FTX+Z04/Z05/Z06, see REASONS
    reason_text: str | None = None  # DE4440 of that FTX
    note: str | None = None  # FTX+ACB allgemeiner Hinweis


class OrdersMessage(BaseModel):
    """The fields of an ORDERS; datetimes are timezone-aware and stored in UTC."""

    association: str = ASSOCIATION
    pruefidentifikator: str
    message_reference: str
    category: str  # BGM 1001, see SUPPORTED_CATEGORIES
    document_number: str  # BGM 1004, answered in ORDRSP RFF+ON
    document_date: UtcDateTime  # DTM+137
    execution_date: UtcDateTime | None = None  # DTM+203 Ausführungsdatum (date-bound Sperrung)
    earliest_date: UtcDateTime | None = None  # DTM+469 frühestes Datum (Sperrung zum nächstmöglichen Termin)
    product: str | None = None  # IMD++<code>, see PRODUCTS
    previous_message: str | None = None  # RFF+ACW: BGM number of the reklamierte MSCONS
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    contact_name: str | None = None  # CTA+IC of the sender
    communications: list[OrdersCommunication] = []
    location_id: str | None = None  # LOC+172: MaLo-ID (11), MeLo-ID (33) or Tranche
    configuration_id: str | None = None  # RFF+AGK Konfigurations-ID (17113 without LOC)
    meeting_point: OrdersAddress | None = None  # NAD+Z24
    positions: list[OrdersPosition] = []

    @field_validator("pruefidentifikator")
    @classmethod
    def _orders_pid(cls, value: str) -> str:
        if not re.fullmatch(r"17\d{3}", value):
            raise ValueError(f"{value!r} is not an ORDERS Prüfidentifikator (17xxx)")
        return value

    @property
    def malo_id(self) -> str | None:
        """``location_id`` if it has the 11-digit shape of a MaLo-ID (or Tranche)."""
        return self.location_id if self.location_id and re.fullmatch(r"\d{11}", self.location_id) else None

    @property
    def melo_id(self) -> str | None:
        """``location_id`` if it has the 33-character shape of a Zählpunktbezeichnung."""
        return self.location_id if self.location_id and len(self.location_id) == 33 else None

    @property
    def period_start(self) -> datetime | None:
        """Start of the requested period (DTM+163 of the first position)."""
        return self.positions[0].period_start if self.positions else None

    @property
    def period_end(self) -> datetime | None:
        """End of the requested period (DTM+164 of the first position)."""
        return self.positions[0].period_end if self.positions else None

    @property
    def reason(self) -> str | None:
        """Reklamationsgrund (FTX+Z04/Z05/Z06) of the first position."""
        return self.positions[0].reason if self.positions else None


# ---------------------------------------------------------------- reading (shared with ORDRSP)


class MessageReader:
    """Walks one message; the first occurrence of a field wins. Handles BGM, NAD+MS/MR and the sender's CTA/COM."""

    def __init__(self, msg: RawMessage) -> None:
        self.msg = msg
        self.fields: dict[str, Any] = {}
        self.indexes: dict[str, int] = {}
        self.party: str | None = None

    def error(self, detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError:
        """Content error at body segment ``index`` (-1 is the UNH of the message)."""
        position = (self.msg.position or 1) + 1 + index
        return EdifactContentError(f"message {self.msg.reference}: {detail}", segment, position)

    def set(self, name: str, value: Any, index: int) -> None:
        if value not in (None, "") and name not in self.fields:
            self.fields[name] = value
            self.indexes[name] = index

    def handlers(self) -> dict[str, Callable[[Segment, int], None]]:
        return {"BGM": self._bgm, "NAD": self._nad, "CTA": self._cta, "COM": self._com}

    def read_all(self) -> None:
        handlers = self.handlers()
        for index, segment in enumerate(self.msg.segments):
            handler = handlers.get(segment.tag)
            if handler is None:
                continue
            try:
                handler(segment, index)
            except ValueError as exc:
                raise self.error(str(exc), segment.tag, index) from exc

    def require(self, message_type: str, family: str) -> None:
        """Raise for missing header data, a Prüfidentifikator of another type or one that is not published."""
        missing = sorted({segment for name, segment in HEADER_FIELDS.items() if name not in self.fields})
        if missing:
            raise self.error(f"mandatory data missing: {', '.join(missing)}")
        pid, index = self.fields["pruefidentifikator"], self.indexes["pruefidentifikator"]
        if not re.fullmatch(family.replace("x", r"\d"), pid):
            raise self.error(
                f"Prüfidentifikator {pid!r} is not a {message_type} Prüfidentifikator ({family})", "RFF", index
            )
        if not is_published(message_type, pid):
            raise self.error(
                f"Prüfidentifikator {pid} is not a published {message_type} Prüfidentifikator", "RFF", index
            )

    def _bgm(self, segment: Segment, index: int) -> None:
        self.set("category", element_value(segment, 0), index)
        self.set("document_number", element_value(segment, 1), index)

    def _nad(self, segment: Segment, index: int) -> None:
        self.party = element_value(segment, 0)
        if self.party in ("MS", "MR"):
            role = "sender" if self.party == "MS" else "receiver"
            self.set(role, element_value(segment, 1), index)
            self.set(f"{role}_code_list", element_value(segment, 1, 2), index)

    def _cta(self, segment: Segment, index: int) -> None:
        if self.party == "MS":
            self.set("contact_name", element_value(segment, 1, 1), index)

    def _com(self, segment: Segment, index: int) -> None:
        number, channel = element_value(segment, 0), element_value(segment, 0, 1)
        if self.party == "MS" and number:
            self.fields.setdefault("communications", []).append({"number": number, "channel": channel})


def ftx_text(segment: Segment) -> str:
    """The free text of an FTX (C108 components joined)."""
    return "".join(element_components(segment, 3))


class _OrdersReader(MessageReader):
    """Header, location group (NAD+DP/LOC/RFF+AGK, NAD+Z24) and positions (LIN) of one ORDERS."""

    def __init__(self, msg: RawMessage) -> None:
        super().__init__(msg)
        self.positions: list[dict[str, Any]] = []
        self.position: dict[str, Any] | None = None

    def handlers(self) -> dict[str, Callable[[Segment, int], None]]:
        own = {"DTM": self._dtm, "IMD": self._imd, "RFF": self._rff, "LOC": self._loc, "LIN": self._lin}
        return super().handlers() | own | {"PIA": self._pia, "FTX": self._ftx, "UNS": self._uns}

    def _dtm(self, segment: Segment, index: int) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        names = _POSITION_DATES if self.position is not None else {"137": "document_date", **_HEADER_DATES}
        if qualifier not in names:
            return
        moment = parse_date(value, fmt or "303")
        if self.position is not None:
            self.position.setdefault(names[qualifier], moment)
        else:
            self.set(names[qualifier], moment, index)

    def _imd(self, segment: Segment, index: int) -> None:
        self.set("product", element_value(segment, 1), index)

    def _rff(self, segment: Segment, index: int) -> None:
        names = {"Z13": "pruefidentifikator", "ACW": "previous_message", "AGK": "configuration_id"}
        qualifier = element_value(segment, 0)
        if self.position is None and qualifier in names:
            self.set(names[qualifier], element_value(segment, 0, 1), index)

    def _nad(self, segment: Segment, index: int) -> None:
        super()._nad(segment, index)
        if self.party == "Z24":
            self.set("meeting_point", _parse_address(segment), index)

    def _loc(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "172":
            self.set("location_id", element_value(segment, 1), index)

    def _lin(self, segment: Segment, index: int) -> None:
        number = element_value(segment, 0)
        if not number:
            raise ValueError("position number (LIN 1082) is missing")
        self.position = {"number": number}
        self.positions.append(self.position)

    def _pia(self, segment: Segment, index: int) -> None:
        if self.position is not None and element_value(segment, 0) == "5":
            self.position.setdefault("obis", element_value(segment, 1) or None)

    def _ftx(self, segment: Segment, index: int) -> None:
        qualifier, text = element_value(segment, 0), ftx_text(segment) or None
        if self.position is None:
            return
        if qualifier in REASONS and "reason" not in self.position:
            self.position.update(reason=qualifier, reason_text=text)
        elif qualifier == "ACB":
            self.position.setdefault("note", text)

    def _uns(self, segment: Segment, index: int) -> None:
        self.position = None


def _parse_address(segment: Segment) -> OrdersAddress:
    def joined(element: int) -> str | None:
        return " ".join(part for part in element_components(segment, element) if part) or None

    return OrdersAddress(
        name=joined(2),
        street=joined(4),
        city=element_value(segment, 5) or None,
        postcode=element_value(segment, 7) or None,
        country=element_value(segment, 8) or None,
    )


def parse_orders(msg: RawMessage) -> OrdersMessage:
    """Read the typed fields of an ORDERS; raise EdifactContentError (segment and position) if unusable."""
    reader = _OrdersReader(msg)
    if msg.type != "ORDERS":
        raise reader.error(f"is a {msg.type} message, not ORDERS")
    reader.read_all()
    reader.require("ORDERS", "17xxx")
    try:
        return OrdersMessage(
            association=msg.association, message_reference=msg.reference, positions=reader.positions, **reader.fields
        )
    except ValidationError as exc:
        raise reader.error(f"unusable content: {exc}") from exc


# ---------------------------------------------------------------- checking before building


def build_error(message_type: str, pid: str, detail: str, segment: str) -> EdifactContentError:
    return EdifactContentError(f"cannot build {message_type} {pid}: {detail}", segment)


def check_parties(message_type: str, pid: str, sender: str, receiver: str) -> None:
    """Raise for a market partner id whose check digit (BDEW/DVGW or GS1) does not match."""
    for role, party in (("sender", sender), ("receiver", receiver)):
        try:
            validate_market_partner_id(party)
        except InvalidIdentifier as exc:
            raise build_error(message_type, pid, f"{role}: {exc}", "NAD") from exc


def _check_location(m: OrdersMessage, malo_only: bool) -> None:
    location = m.location_id or ""
    try:
        if len(location) == 11 or malo_only:
            validate_malo_id(location)
        elif len(location) == 33:
            validate_melo_id(location)
        else:
            raise InvalidIdentifier(f"'{location}' is neither a MaLo-ID (11 digits) nor a MeLo-ID (33 characters)")
    except InvalidIdentifier as exc:
        raise build_error("ORDERS", m.pruefidentifikator, str(exc), "LOC") from exc


def _need(m: OrdersMessage, condition: bool, detail: str, segment: str) -> None:
    if not condition:
        raise build_error("ORDERS", m.pruefidentifikator, detail, segment)


def _need_contact(m: OrdersMessage) -> None:
    _need(m, bool(m.contact_name and m.communications), "the sender's contact (CTA and COM) is mandatory", "CTA")


def _check_17102(m: OrdersMessage) -> None:
    _need(m, m.location_id is not None, "the location (LOC+172) is mandatory", "LOC")
    _need(m, m.category != "7" or m.product in ("Z11", "Z12", "Z35"), "BGM+7 needs IMD++Z11, Z12 or Z35", "IMD")
    _need(m, len(m.positions) == 1, "exactly one position (LIN) is required", "LIN")
    _need(m, bool(m.period_start and m.period_end), "the requested period (DTM+163/164) is mandatory", "DTM")


def _check_17113(m: OrdersMessage) -> None:
    _need(m, bool(m.location_id or m.configuration_id), "LOC+172 or RFF+AGK is mandatory", "LOC")
    _need(m, m.product in ("Z11", "Z12", "Z35"), "IMD++Z11, Z12 or Z35 is mandatory", "IMD")
    _need_contact(m)
    _need(m, bool(m.positions), "at least one position (LIN) is required", "LIN")
    for p in m.positions:
        _need(m, p.obis is not None, f"position {p.number}: the OBIS code (PIA+5) is mandatory", "PIA")
        _need(m, p.reason in REASONS, f"position {p.number}: reason FTX+Z04, Z05 or Z06 is mandatory", "FTX")
        has_period = p.period_start is not None and p.period_end is not None
        _need(m, has_period != (p.point_in_time is not None), f"position {p.number}: DTM+7 xor DTM+163/164", "DTM")
    complaint = any(p.reason in ("Z04", "Z05") for p in m.positions)
    _need(m, not complaint or m.previous_message is not None, "FTX+Z04/Z05 need the MSCONS (RFF+ACW)", "RFF")


def _check_17115(m: OrdersMessage) -> None:
    _need(m, m.location_id is not None, "the MaLo (LOC+172) is mandatory", "LOC")
    dates = (m.execution_date is not None, m.earliest_date is not None)
    _need(m, sum(dates) == 1, "exactly one of DTM+203 (Ausführungsdatum) and DTM+469 is required", "DTM")
    _need_contact(m)
    _need(m, len(m.positions) <= 1, "at most one position (LIN) is allowed", "LIN")


def _check_17117(m: OrdersMessage) -> None:
    _need(m, m.location_id is not None, "the MaLo (LOC+172) is mandatory", "LOC")
    _need(m, m.product in ("Z53", "Z54"), "IMD++Z53 or IMD++Z54 (Arbeitszeit) is mandatory", "IMD")
    _need_contact(m)
    _need(m, len(m.positions) <= 1, "at most one position (LIN) is allowed", "LIN")


_CHECKS: dict[str, Callable[[OrdersMessage], None]] = {
    "17102": _check_17102,
    "17113": _check_17113,
    "17115": _check_17115,
    "17117": _check_17117,
}


def _check_orders(m: OrdersMessage, validate_ids: bool) -> None:
    pid = m.pruefidentifikator
    if pid not in SUPPORTED_CATEGORIES:
        supported = ", ".join(SUPPORTED_CATEGORIES)
        raise build_error("ORDERS", pid, f"only Prüfidentifikatoren {supported} can be built", "RFF")
    _need(m, m.category in SUPPORTED_CATEGORIES[pid], f"BGM category {m.category!r} does not belong to {pid}", "BGM")
    for p in m.positions:
        if p.period_start and p.period_end:
            _need(m, p.period_start < p.period_end, f"position {p.number}: period start is not before its end", "DTM")
    _CHECKS[pid](m)
    if validate_ids:
        check_parties("ORDERS", pid, m.sender, m.receiver)
        if m.location_id is not None:
            _check_location(m, malo_only=pid in ("17115", "17117"))


# ---------------------------------------------------------------- building


def dtm(qualifier: str, moment: datetime) -> Segment:
    return make_segment("DTM", [qualifier, format_date(moment), "303"])


def ftx(qualifier: str, text: str | None) -> Segment:
    """FTX with the text split into components of 512 characters."""
    chunks = [text[i : i + _TEXT_CHUNK] for i in range(0, len(text), _TEXT_CHUNK)] if text else []
    return make_segment("FTX", qualifier, "", "", chunks)


def party_segments(
    sender: tuple[str, str], receiver: tuple[str, str], contact_name: str | None, communications: list[Any]
) -> list[Segment]:
    """NAD+MS with its CTA/COM, then NAD+MR; parties are (id, code list)."""
    segs = [make_segment("NAD", "MS", [sender[0], "", sender[1]])]
    if contact_name:
        segs.append(make_segment("CTA", "IC", ["", contact_name]))
    segs.extend(make_segment("COM", [com.number, com.channel]) for com in communications)
    segs.append(make_segment("NAD", "MR", [receiver[0], "", receiver[1]]))
    return segs


def _wrapped(text: str | None) -> list[str]:
    return textwrap.wrap(text, _NAME_CHUNK, break_on_hyphens=False) if text else []


def _address_segment(a: OrdersAddress) -> Segment:
    return make_segment(
        "NAD", "Z24", "", _wrapped(a.name), "", _wrapped(a.street), a.city or "", "", a.postcode or "", a.country or ""
    )


def _header_segments(m: OrdersMessage) -> list[Segment]:
    segs = [make_segment("BGM", m.category, m.document_number), dtm("137", m.document_date)]
    segs += [dtm(q, getattr(m, name)) for q, name in _HEADER_DATES.items() if getattr(m, name) is not None]
    if m.product:
        segs.append(make_segment("IMD", "", m.product))
    if m.previous_message:
        segs.append(make_segment("RFF", ["ACW", m.previous_message]))
    segs.append(make_segment("RFF", ["Z13", m.pruefidentifikator]))
    return segs


def _location_segments(m: OrdersMessage) -> list[Segment]:
    segs = [make_segment("NAD", "DP")] if m.location_id or m.configuration_id else []
    if m.location_id:
        segs.append(make_segment("LOC", "172", m.location_id))
    if m.configuration_id:
        segs.append(make_segment("RFF", ["AGK", m.configuration_id]))
    if m.meeting_point:
        segs.append(_address_segment(m.meeting_point))
    return segs


def _position_segments(p: OrdersPosition) -> list[Segment]:
    segs = [make_segment("LIN", p.number)]
    if p.obis:
        segs.append(make_segment("PIA", "5", [p.obis, "SRW"]))
    segs += [dtm(q, getattr(p, name)) for q, name in _POSITION_DATES.items() if getattr(p, name) is not None]
    if p.reason:
        segs.append(ftx(p.reason, p.reason_text))
    if p.note:
        segs.append(ftx("ACB", p.note))
    return segs


def build_orders(m: OrdersMessage, *, validate_ids: bool = True) -> RawMessage:
    """Check ``m`` against the AHB rules of its Prüfidentifikator and write its segments (UNH/UNT excluded).

    Raises EdifactContentError naming the segment at fault. ``validate_ids=False`` skips the check digits of the
    MaLo-ID and market partner ids (only for replaying foreign data such as test files with dummy ids).
    """
    _check_orders(m, validate_ids)
    parties = party_segments(
        (m.sender, m.sender_code_list), (m.receiver, m.receiver_code_list), m.contact_name, m.communications
    )
    segs = [*_header_segments(m), *parties, *_location_segments(m)]
    for position in m.positions:
        segs += _position_segments(position)
    segs.append(make_segment("UNS", "S"))
    return RawMessage(
        reference=m.message_reference,
        type="ORDERS",
        version="D",
        release="09B",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def orders_interchange(
    messages: list[OrdersMessage], *, sender: Party, receiver: Party, reference: str, prepared_at: datetime
) -> Interchange:
    """Wrap ORDERS messages into an interchange ready for serialize_interchange."""
    return Interchange(
        sender=sender,
        receiver=receiver,
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_orders(m) for m in messages],
    )
