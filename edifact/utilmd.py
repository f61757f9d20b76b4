"""Typed UTILMD message (one transaction per message, IDE+24) for Strom (S2.1) and Gas (G1.1)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, field_validator, model_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError
from edifact.segments import element_components, element_value, format_date, make_segment, parse_date

__all__ = [
    "Division",
    "UtilmdMessage",
    "UtilmdParty",
    "build_utilmd",
    "parse_utilmd",
    "utilmd_interchange",
]

#: Product code of the Bilanzkreis product in a Strom product package (SEQ+Z79).
BALANCING_GROUP_PRODUCT = "9991000002082"

_PID_PREFIX = {"strom": "55", "gas": "44"}
#: DTM qualifiers of the transaction header, in the order they are written.
_DATES: dict[str, str] = {
    "92": "start",
    "93": "end",
    "471": "end_at",
    "Z06": "next_possible_date",
    "Z05": "next_possible_date",
    "157": "valid_from",
    "Z07": "processing_date",
    "Z08": "next_processing_date",
}


class Division(StrEnum):
    """Sparte."""

    STROM = "strom"
    GAS = "gas"


class UtilmdParty(BaseModel):
    """Name and address of a NAD segment."""

    last_name: str | None = None
    first_name: str | None = None
    company: str | None = None
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None


class UtilmdMessage(BaseModel):
    """The fields of a UTILMD transaction the process engine works with.

    Datetimes must be timezone-aware; they are stored in UTC. DTM values carry minutes, so seconds
    are dropped when the message is built.
    """

    division: Division
    association: str
    pruefidentifikator: str
    message_reference: str
    category: str
    document_number: str
    document_date: datetime
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    transaction_id: str
    transaction_reason: str | None = None
    transaction_reason_details: list[str] = []
    answer_code: str | None = None
    answer_code_list: str | None = None
    malo_id: str | None = None
    melo_ids: list[str] = []
    reference_transaction: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    end_at: datetime | None = None
    next_possible_date: datetime | None = None
    valid_from: datetime | None = None
    processing_date: datetime | None = None
    next_processing_date: datetime | None = None
    notice_period: str | None = None
    annual_consumption_kwh: Decimal | None = None
    free_text: str | None = None
    customer: UtilmdParty | None = None
    customer_address: UtilmdParty | None = None
    location_address: UtilmdParty | None = None
    """NAD+DP, the address of the market location, when the message also has a customer address (NAD+Z04);
    without one the NAD+DP address is ``customer_address``."""
    previous_supplier: str | None = None
    balancing_group: str | None = None

    @field_validator(
        "document_date",
        "start",
        "end",
        "end_at",
        "next_possible_date",
        "valid_from",
        "processing_date",
        "next_processing_date",
    )
    @classmethod
    def _aware_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _association_matches_division(self) -> UtilmdMessage:
        if _division(self.association) is not self.division:
            raise ValueError(f"association code {self.association!r} does not belong to division {self.division}")
        return self


def _division(association: str) -> Division | None:
    return {"S": Division.STROM, "G": Division.GAS}.get(association[:1])


# ---------------------------------------------------------------- helpers


def _parse_party(segment: Segment, *, name_element: int | None = 3, address: bool = True) -> UtilmdParty:
    """Name from C080 (format Z01 person, Z02 company); address from C059 and the following elements."""

    def at(parts: list[str], index: int) -> str | None:
        return parts[index] if index < len(parts) and parts[index] else None

    fields: dict[str, Any] = {}
    name = [] if name_element is None else element_components(segment, name_element)
    if len(name) >= 6 and name[5] == "Z02":
        fields["company"] = " ".join(part for part in name[:5] if part) or None
    else:
        fields["last_name"], fields["first_name"] = at(name, 0), at(name, 1)
    if address:
        street = element_components(segment, 4)
        fields["street"], fields["house_number"] = at(street, 0), at(street, 2)
        fields["city"] = element_value(segment, 5) or None
        fields["postcode"] = element_value(segment, 7) or None
        fields["country"] = element_value(segment, 8) or None
    return UtilmdParty(**fields)


def _name(party: UtilmdParty) -> list[str]:
    if party.company:
        parts = textwrap.wrap(party.company, 35, break_on_hyphens=False)[:5]
        return [*parts, *[""] * (5 - len(parts)), "Z02"]
    if party.last_name or party.first_name:
        return [party.last_name or "", party.first_name or "", "", "", "", "Z01"]
    return []


def _address(party: UtilmdParty) -> list[str | list[str]]:
    street = [party.street or "", "", party.house_number or ""]
    return [street, party.city or "", "", party.postcode or "", party.country or ""]


# ---------------------------------------------------------------- parsing


class _Reader:
    """Collects the fields of one UTILMD message; the first occurrence of a field wins."""

    def __init__(self, msg: RawMessage, division: Division | None) -> None:
        self.msg = msg
        self.gas = division is Division.GAS
        self.fields: dict[str, Any] = {}
        self.indexes: dict[str, int] = {}
        self.transactions = 0
        self.in_transaction_header = False
        self.location_address: UtilmdParty | None = None

    def error(self, detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError:
        """Content error at body segment ``index`` (-1 is the UNH of the message)."""
        position = (self.msg.position or 1) + 1 + index
        return EdifactContentError(f"message {self.msg.reference}: {detail}", segment, position)

    def set(self, name: str, value: Any, index: int = -1) -> None:
        if value not in (None, "") and name not in self.fields:
            self.fields[name] = value
            self.indexes[name] = index

    def read(self, index: int, segment: Segment) -> None:
        handlers: dict[str, Callable[[Segment, int], None]] = {
            "BGM": self._bgm,
            "DTM": self._dtm,
            "NAD": self._nad,
            "IDE": self._ide,
            "STS": self._sts,
            "FTX": self._ftx,
            "LOC": self._loc,
            "RFF": self._rff,
            "QTY": self._qty,
            "CAV": self._cav,
            "CCI": self._cci,
        }
        handler = handlers.get(segment.tag)
        if segment.tag not in ("DTM", "IMD"):
            self.in_transaction_header = segment.tag == "IDE"
        if handler is not None:
            try:
                handler(segment, index)
            except ValueError as exc:
                raise self.error(str(exc), segment.tag, index) from exc

    def _bgm(self, segment: Segment, index: int) -> None:
        self.set("category", element_value(segment, 0))
        self.set("document_number", element_value(segment, 1))

    def _dtm(self, segment: Segment, index: int) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        if qualifier == "137" and self.transactions == 0:
            self.set("document_date", parse_date(value, fmt))
        elif qualifier == "Z01" and self.in_transaction_header:
            self.set("notice_period", value)
        elif qualifier in _DATES and self.in_transaction_header:
            self.set(_DATES[qualifier], parse_date(value, fmt))

    def _nad(self, segment: Segment, index: int) -> None:
        qualifier = element_value(segment, 0)
        if qualifier in ("MS", "MR"):
            role = "sender" if qualifier == "MS" else "receiver"
            self.set(role, element_value(segment, 1))
            self.set(f"{role}_code_list", element_value(segment, 1, 2))
        elif qualifier == "VY":
            self.set("previous_supplier", element_value(segment, 1))
        elif qualifier == "Z09":
            self.set("customer", _parse_party(segment, address=False))
        elif qualifier == "Z04":
            self.set("customer_address", _parse_party(segment))
        elif qualifier == "DP" and self.location_address is None:
            self.location_address = _parse_party(segment, name_element=None)

    def _ide(self, segment: Segment, index: int) -> None:
        self.transactions += 1
        if self.transactions > 1:
            raise ValueError("more than one transaction (IDE) in the message; only one is supported")
        self.set("transaction_id", element_value(segment, 1))

    def _sts(self, segment: Segment, index: int) -> None:
        qualifier = element_value(segment, 0)
        if qualifier == "7" and "transaction_reason" not in self.fields:
            details = [element_value(segment, i) for i in range(3, len(segment.elements))]
            while details and not details[-1]:
                details.pop()
            self.set("transaction_reason", element_value(segment, 2))
            self.set("transaction_reason_details", details)
        elif qualifier == "E01":
            self.set("answer_code", element_value(segment, 2))
            self.set("answer_code_list", element_value(segment, 2, 1))

    def _ftx(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "ACB":
            self.set("free_text", "".join(element_components(segment, 3)))

    def _loc(self, segment: Segment, index: int) -> None:
        qualifier, location = element_value(segment, 0), element_value(segment, 1)
        if qualifier == "Z16" or (qualifier == "172" and re.fullmatch(r"\d{11}", location)):
            self.set("malo_id", location)
        elif qualifier == "Z17" or (qualifier == "172" and len(location) == 33):
            self.fields.setdefault("melo_ids", []).append(location)

    def _rff(self, segment: Segment, index: int) -> None:
        qualifier = element_value(segment, 0)
        if qualifier == "Z13":
            self.set("pruefidentifikator", element_value(segment, 0, 1), index)
        elif qualifier == "TN":
            self.set("reference_transaction", element_value(segment, 0, 1))

    def _qty(self, segment: Segment, index: int) -> None:
        qualifier, value, unit = (element_value(segment, 0, i) for i in range(3))
        if qualifier not in ("Z09", "31") or "annual_consumption_kwh" in self.fields:
            return
        if unit != "KWH":
            raise ValueError(f"annual consumption in unit {unit!r} is not supported (expected KWH)")
        try:
            self.set("annual_consumption_kwh", Decimal(value.replace(",", ".")))
        except InvalidOperation:
            raise ValueError(f"quantity {value!r} is not a number") from None

    def _cav(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "ZV4" and not self.gas:
            self.set("balancing_group", element_value(segment, 0, 3))

    def _cci(self, segment: Segment, index: int) -> None:
        if element_value(segment, 0) == "Z19" and self.gas:
            self.set("balancing_group", element_value(segment, 2))


def parse_utilmd(msg: RawMessage) -> UtilmdMessage:
    """Read the typed fields of a UTILMD message; raise EdifactContentError if it is not usable."""
    division = _division(msg.association)
    reader = _Reader(msg, division)
    if msg.type != "UTILMD":
        raise reader.error(f"is a {msg.type} message, not UTILMD")
    if division is None:
        raise reader.error(f"association code {msg.association!r} is neither Strom (S...) nor Gas (G...)")
    for index, segment in enumerate(msg.segments):
        reader.read(index, segment)
    fields = reader.fields
    required = {
        "category": "BGM",
        "document_number": "BGM",
        "document_date": "DTM+137",
        "sender": "NAD+MS",
        "receiver": "NAD+MR",
        "transaction_id": "IDE+24",
        "pruefidentifikator": "RFF+Z13",
    }
    missing = sorted({segment for name, segment in required.items() if name not in fields})
    if missing:
        raise reader.error(f"mandatory data missing: {', '.join(missing)}")
    pid = fields["pruefidentifikator"]
    if not re.fullmatch(_PID_PREFIX[division] + r"\d{3}", pid):
        raise reader.error(
            f"Prüfidentifikator {pid!r} is not a UTILMD {division.value.title()} ({msg.association}) Prüfidentifikator",
            "RFF",
            reader.indexes["pruefidentifikator"],
        )
    if "customer_address" in fields:
        fields["location_address"] = reader.location_address
    else:
        fields["customer_address"] = reader.location_address
    return UtilmdMessage(division=division, association=msg.association, message_reference=msg.reference, **fields)


# ---------------------------------------------------------------- building


def _uses_location_address(m: UtilmdMessage) -> bool:
    """Gas Kündigung messages carry the Lieferanschrift (NAD+DP) instead of the Z04 address."""
    return m.division is Division.GAS and m.category == "E35"


def build_utilmd(m: UtilmdMessage) -> RawMessage:
    """Write the message segments in the order of the EDI@Energy samples; only set fields are emitted."""
    gas = m.division is Division.GAS
    segs = [
        make_segment("BGM", m.category, m.document_number),
        make_segment("DTM", ["137", format_date(m.document_date), "303"]),
        make_segment("NAD", "MS", [m.sender, "", m.sender_code_list]),
        make_segment("NAD", "MR", [m.receiver, "", m.receiver_code_list]),
        make_segment("IDE", "24", m.transaction_id),
    ]
    written: set[str] = set()
    for qualifier, name in _DATES.items():
        moment = getattr(m, name)
        if moment is None or name in written or qualifier == ("Z06" if gas else "Z05"):
            continue
        written.add(name)
        segs.append(make_segment("DTM", [qualifier, format_date(moment), "303"]))
    if m.notice_period:
        segs.append(make_segment("DTM", ["Z01", m.notice_period, "Z01"]))
    if m.transaction_reason or m.transaction_reason_details:
        segs.append(make_segment("STS", "7", "", m.transaction_reason or "", *m.transaction_reason_details))
    if m.answer_code:
        segs.append(make_segment("STS", "E01", "", [m.answer_code, m.answer_code_list or ""]))
    if m.free_text:
        chunks = [m.free_text[i : i + 512] for i in range(0, len(m.free_text), 512)]
        segs.append(make_segment("FTX", "ACB", "", "", chunks))
    if m.malo_id:
        segs.append(make_segment("LOC", "172" if gas else "Z16", m.malo_id))
    segs.extend(make_segment("LOC", "172" if gas else "Z17", melo) for melo in m.melo_ids)
    segs.append(make_segment("RFF", ["Z13", m.pruefidentifikator]))
    if m.reference_transaction:
        segs.append(make_segment("RFF", ["TN", m.reference_transaction]))
    if m.balancing_group and not gas:
        segs += [
            make_segment("SEQ", "Z79", "1"),
            make_segment("PIA", "5", [BALANCING_GROUP_PRODUCT, "Z11"]),
            make_segment("CCI", "Z66"),
            make_segment("CAV", ["ZV4", "", "", m.balancing_group]),
        ]
    if m.annual_consumption_kwh is not None or (m.balancing_group and gas):
        segs.append(make_segment("SEQ", "Z01"))
    if m.annual_consumption_kwh is not None:
        qualifier = "31" if gas and m.category != "E35" else "Z09"
        segs.append(make_segment("QTY", [qualifier, format(m.annual_consumption_kwh, "f"), "KWH"]))
    if m.balancing_group and gas:
        segs.append(make_segment("CCI", "Z19", "", m.balancing_group))
    if m.customer:
        segs.append(make_segment("NAD", "Z09", "", "", _name(m.customer)))
    if m.customer_address:
        if _uses_location_address(m):
            segs.append(make_segment("NAD", "DP", "", "", "", *_address(m.customer_address)))
        else:
            segs.append(make_segment("NAD", "Z04", "", "", _name(m.customer_address), *_address(m.customer_address)))
    if m.location_address and not _uses_location_address(m):
        segs.append(make_segment("NAD", "DP", "", "", "", *_address(m.location_address)))
    if m.previous_supplier:
        segs.append(make_segment("NAD", "VY", [m.previous_supplier, "", "332" if gas else "293"]))
    return RawMessage(
        reference=m.message_reference,
        type="UTILMD",
        version="D",
        release="11A",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def utilmd_interchange(
    messages: list[UtilmdMessage], *, sender: Party, receiver: Party, reference: str, prepared_at: datetime
) -> Interchange:
    """Wrap UTILMD messages into an interchange ready for serialize_interchange."""
    return Interchange(
        sender=sender,
        receiver=receiver,
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_utilmd(m) for m in messages],
    )
