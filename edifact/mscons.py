"""Typed MSCONS messages (EDI@Energy 2.4c): meter readings, energy quantities and load profiles.

One message holds locations (SG6 LOC), each with positions (SG9 LIN + PIA OBIS code), each with values
(SG10 QTY + DTM + STS). The parser reads the segments once, front to back, so load profiles with tens of
thousands of values cost linear time. Data the model cannot hold raises EdifactContentError instead of
being dropped silently; only contact details (CTA/COM) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError, field_validator, model_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError
from edifact.segments import element_components, element_value, format_date, make_segment

__all__ = [
    "MsconsLocation",
    "MsconsMessage",
    "MsconsPosition",
    "MsconsStatus",
    "MsconsValue",
    "ReadingRow",
    "build_mscons",
    "iter_readings",
    "mscons_interchange",
    "parse_mscons",
]

#: DTM qualifiers of a value (SG10) and of a location (SG6), in the order they are written.
_VALUE_DATES = {"163": "period_start", "164": "period_end", "9": "reading_date", "7": "used_at", "60": "executed_at"}
_LOCATION_DATES = {"163": "period_start", "164": "period_end", "293": "completed_at"}
#: RFF qualifiers of the header (SG1) in the order they are written, and of a location (SG7).
_HEADER_REFERENCES = {
    "ACW": "previous_message_reference",
    "AGI": "request_reference",
    "Z30": "master_data_reference",
    "Z13": "pruefidentifikator",
}
_LOCATION_REFERENCES = {"MG": "meter_number", "AGK": "configuration_id"}
#: DTM+306 Leistungsperiode: format code -> number of digits (CCYYMM or CCYYMMDD).
_POWER_PERIOD_FORMATS = {"610": 6, "102": 8}
#: Date formats read by the parser: format code -> number of digits before the optional UTC offset.
_DATE_DIGITS = {"102": 8, "203": 12, "303": 12, "304": 14}
_OFFSET = re.compile(r"[+-]\d{2}")
_NUMBER = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_PID = re.compile(r"13\d{3}")


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC)


class MsconsStatus(BaseModel):
    """``STS+<category>++<code>``, e.g. Z33/Z83 Kundenselbstablesung, Z32/Z88 and Z40/Z74 for an Ersatzwert."""

    category: str
    code: str


class MsconsValue(BaseModel):
    """One SG10 group: QTY with its dates and statuses. Datetimes are timezone-aware and stored in UTC."""

    quantity: Decimal
    quality: str
    unit: str | None = None
    reading_date: datetime | None = None
    used_at: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    executed_at: datetime | None = None
    power_period: str | None = None
    statuses: list[MsconsStatus] = []

    _utc = field_validator("reading_date", "used_at", "period_start", "period_end", "executed_at")(_aware_utc)

    @field_validator("power_period")
    @classmethod
    def _power_period_digits(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{6}|\d{8}", value):
            raise ValueError("power period must be CCYYMM or CCYYMMDD")
        return value


class MsconsPosition(BaseModel):
    """SG9 LIN with the OBIS code of PIA+5 (unescaped, e.g. ``1-1:1.8.0``) and its values."""

    line: str
    obis: str | None = None
    values: list[MsconsValue] = []


class MsconsLocation(BaseModel):
    """SG6 LOC: MaLo (11 digits) or MeLo (33 characters) for qualifier 172; Bilanzkreis (237) and
    Bilanzierungsgebiet (107) in EEG-Überführungszeitreihen. ``location_id`` is "" when LOC carries no id."""

    location_id: str
    qualifier: str = "172"
    related_location_id: str | None = None
    meter_number: str | None = None
    configuration_id: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    completed_at: datetime | None = None
    time_series_type: str | None = None
    positions: list[MsconsPosition] = []

    _utc = field_validator("period_start", "period_end", "completed_at")(_aware_utc)


class MsconsMessage(BaseModel):
    """The content of one MSCONS message. ``message_function`` is BGM 1225: 9 original, 1 Storno."""

    association: str
    pruefidentifikator: str
    message_reference: str
    category: str
    document_number: str
    message_function: str = "9"
    document_date: datetime
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    previous_message_reference: str | None = None
    request_reference: str | None = None
    master_data_reference: str | None = None
    delivery_party: str = "DP"
    locations: list[MsconsLocation] = []

    _utc = field_validator("document_date")(_aware_utc)

    @model_validator(mode="after")
    def _known_pid(self) -> MsconsMessage:
        if not _PID.fullmatch(self.pruefidentifikator):
            raise ValueError(f"Prüfidentifikator {self.pruefidentifikator!r} is not an MSCONS Prüfidentifikator")
        return self

    @property
    def period_start(self) -> datetime | None:
        """Earliest start of the locations' Messperiode (SG6 DTM+163), if any."""
        return min((loc.period_start for loc in self.locations if loc.period_start), default=None)

    @property
    def period_end(self) -> datetime | None:
        """Latest end of the locations' Messperiode (SG6 DTM+164), if any."""
        return max((loc.period_end for loc in self.locations if loc.period_end), default=None)


# ---------------------------------------------------------------- parsing


def _moment(value: str, fmt: str) -> datetime:
    """DTM value in format 303/304 (with optional UTC offset), 203 or 102 as UTC datetime."""
    digits = _DATE_DIGITS.get(fmt)
    if digits is None:
        raise ValueError(f"date format {fmt!r} is not supported (expected 303, 304, 203 or 102)")
    number, offset = value[:digits], value[digits:]
    if (
        len(number) != digits
        or not (number.isascii() and number.isdigit())
        or (offset and (fmt not in ("303", "304") or not _OFFSET.fullmatch(offset)))
    ):
        raise ValueError(f"date {value!r} does not match format {fmt}")
    try:
        moment = datetime(
            int(number[0:4]),
            int(number[4:6]),
            int(number[6:8]),
            int(number[8:10] or 0),
            int(number[10:12] or 0),
            int(number[12:14] or 0),
            tzinfo=UTC,
        )
    except ValueError:
        raise ValueError(f"date {value!r} is not a valid date") from None
    return moment - timedelta(hours=int(offset)) if offset else moment


def _power_period(value: str, fmt: str) -> str:
    """DTM+306 Leistungsperiode, kept as CCYYMM (610) or CCYYMMDD (102)."""
    digits = _POWER_PERIOD_FORMATS.get(fmt)
    if digits is None:
        raise ValueError(f"power period format {fmt!r} is not supported (expected 610 or 102)")
    if len(value) != digits or not (value.isascii() and value.isdigit()):
        raise ValueError(f"power period {value!r} does not match format {fmt}")
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:8] or 1))
    except ValueError:
        raise ValueError(f"power period {value!r} is not a valid date") from None
    return value


def _quantity(value: str) -> Decimal:
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"quantity {value!r} is not a number")
    return Decimal(value.replace(",", "."))


def _check_period(fields: dict[str, Any]) -> None:
    start, end = fields.get("period_start"), fields.get("period_end")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"period end {end:%Y-%m-%d %H:%M} UTC is not after its start {start:%Y-%m-%d %H:%M} UTC")


def _composite(segment: Segment) -> tuple[str, str, str]:
    """The first three components of the first element (DTM C507, QTY C186), "" where absent."""
    parts = element_components(segment, 0)
    if len(parts) < 3:
        parts = [*parts, "", "", ""]
    return parts[0], parts[1], parts[2]


def _set_once(fields: dict[str, Any], name: str, value: Any, label: str) -> None:
    if name in fields:
        raise ValueError(f"{label} is repeated; only one is supported here")
    fields[name] = value


class _Reader:
    """Reads the segments of one message in a single pass; groups are closed when the next one starts."""

    def __init__(self, msg: RawMessage) -> None:
        self.msg = msg
        self.header: dict[str, Any] = {}
        self.indexes: dict[str, int] = {}
        self.detail = False
        self.locations: list[MsconsLocation] = []
        self.location: dict[str, Any] | None = None
        self.position: dict[str, Any] | None = None
        self.value: dict[str, Any] | None = None
        self.value_index = -1
        self.index = -1
        self._last_date: tuple[str, str, datetime] | None = None
        self.header_handlers: dict[str, Callable[[Segment], None]] = {
            "BGM": self._bgm,
            "DTM": self._header_dtm,
            "RFF": self._header_rff,
            "NAD": self._header_nad,
            "CTA": self._skip,
            "COM": self._skip,
            "UNS": self._uns,
        }
        self.detail_handlers: dict[str, Callable[[Segment], None]] = {
            "NAD": self._delivery_party,
            "LOC": self._loc,
            "DTM": self._dtm,
            "RFF": self._rff,
            "CCI": self._cci,
            "LIN": self._lin,
            "PIA": self._pia,
            "QTY": self._qty,
            "STS": self._sts,
        }

    def error(self, detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError:
        """Content error at body segment ``index`` (-1 is the UNH of the message)."""
        position = (self.msg.position or 1) + 1 + index
        return EdifactContentError(f"message {self.msg.reference}: {detail}", segment, position)

    def read(self, index: int, segment: Segment) -> None:
        self.index = index
        handlers = self.detail_handlers if self.detail else self.header_handlers
        handler = handlers.get(segment.tag)
        if handler is None:
            section = "detail section (after UNS+D)" if self.detail else "message header (before UNS+D)"
            raise self.error(f"{segment.tag} is not expected in the {section}", segment.tag, index)
        try:
            handler(segment)
        except ValueError as exc:
            raise self.error(str(exc), segment.tag, index) from exc

    def finish(self) -> list[MsconsLocation]:
        self._close_location()
        return self.locations

    def _date(self, value: str, fmt: str) -> datetime:
        """Parse a DTM value; a profile repeats each period end as the next start, so the last one is reused."""
        last = self._last_date
        if last is not None and last[0] == value and last[1] == fmt:
            return last[2]
        moment = _moment(value, fmt)
        self._last_date = (value, fmt, moment)
        return moment

    # -------------------------------------------------------- header (SG1, SG2)

    def _skip(self, segment: Segment) -> None:
        """Contact details are not kept."""

    def _bgm(self, segment: Segment) -> None:
        _set_once(self.header, "category", element_value(segment, 0), "BGM")
        self.header["document_number"] = element_value(segment, 1)
        self.header["message_function"] = element_value(segment, 2) or "9"

    def _header_dtm(self, segment: Segment) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        if qualifier != "137":
            raise ValueError(f"DTM+{qualifier} is not expected in the message header (only DTM+137)")
        _set_once(self.header, "document_date", _moment(value, fmt), "DTM+137")

    def _header_rff(self, segment: Segment) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        name = _HEADER_REFERENCES.get(qualifier)
        if name is None:
            raise ValueError(f"reference RFF+{qualifier} is not supported in the message header")
        _set_once(self.header, name, value, f"RFF+{qualifier}")
        self.indexes[name] = self.index

    def _header_nad(self, segment: Segment) -> None:
        role = {"MS": "sender", "MR": "receiver"}.get(element_value(segment, 0))
        if role is None:
            raise ValueError(f"NAD+{element_value(segment, 0)} is not expected in the message header")
        _set_once(self.header, role, element_value(segment, 1), f"NAD+{element_value(segment, 0)}")
        self.header[f"{role}_code_list"] = element_value(segment, 1, 2) or "293"

    def _uns(self, segment: Segment) -> None:
        if element_value(segment, 0) != "D":
            raise ValueError(f"section control UNS+{element_value(segment, 0)} is not supported (expected UNS+D)")
        self.detail = True

    # -------------------------------------------------------- detail (SG5..SG10)

    def _delivery_party(self, segment: Segment) -> None:
        if self.location is not None or "delivery_party" in self.header:
            raise ValueError("only one delivery party (NAD) before the first LOC is supported")
        if len(segment.elements) > 1:
            raise ValueError("party details in the delivery party NAD are not supported")
        self.header["delivery_party"] = element_value(segment, 0)

    def _loc(self, segment: Segment) -> None:
        self._close_location()
        self.location = {
            "qualifier": element_value(segment, 0),
            "location_id": element_value(segment, 1),
            "related_location_id": element_value(segment, 2) or None,
            "positions": [],
        }

    def _location_level(self, segment: Segment) -> dict[str, Any]:
        """The current location, when the segment belongs to SG6..SG8 (after LOC, before the first LIN)."""
        if self.location is None or self.location["positions"] or self.position is not None:
            where = "before any LOC" if self.location is None else "after a LIN"
            raise ValueError(f"{segment.tag}+{element_value(segment, 0)} is not expected {where}")
        return self.location

    def _dtm(self, segment: Segment) -> None:
        qualifier, value, fmt = _composite(segment)
        if self.value is not None:
            fields = self.value
            if qualifier == "306":
                _set_once(fields, "power_period", _power_period(value, fmt), "DTM+306")
                return
            names = _VALUE_DATES
        elif self.position is not None:
            raise ValueError(f"DTM+{qualifier} between LIN and QTY is not expected")
        else:
            fields, names = self._location_level(segment), _LOCATION_DATES
        name = names.get(qualifier)
        if name is None:
            raise ValueError(f"DTM+{qualifier} is not supported here (expected {', '.join(names)})")
        _set_once(fields, name, self._date(value, fmt), f"DTM+{qualifier}")
        if qualifier in ("163", "164"):
            _check_period(fields)

    def _rff(self, segment: Segment) -> None:
        location = self._location_level(segment)
        qualifier = element_value(segment, 0)
        name = _LOCATION_REFERENCES.get(qualifier)
        if name is None:
            raise ValueError(f"reference RFF+{qualifier} is not supported for a location (expected MG or AGK)")
        _set_once(location, name, element_value(segment, 0, 1), f"RFF+{qualifier}")

    def _cci(self, segment: Segment) -> None:
        location = self._location_level(segment)
        if element_value(segment, 0) != "15":
            raise ValueError(f"CCI+{element_value(segment, 0)} is not supported (expected CCI+15 Zeitreihentyp)")
        _set_once(location, "time_series_type", element_value(segment, 2), "CCI+15")

    def _lin(self, segment: Segment) -> None:
        if self.location is None:
            raise ValueError("LIN before any LOC")
        self._close_position()
        line = element_value(segment, 0)
        if not line:
            raise ValueError("line number is missing")
        self.position = {"line": line, "values": []}

    def _pia(self, segment: Segment) -> None:
        if self.position is None or self.position["values"] or self.value is not None:
            raise ValueError("PIA is only expected directly after LIN")
        if element_value(segment, 0) != "5" or element_value(segment, 1, 1) != "SRW":
            raise ValueError("only PIA+5 with an OBIS code (code list SRW) is supported")
        _set_once(self.position, "obis", element_value(segment, 1), "PIA")

    def _qty(self, segment: Segment) -> None:
        if self.position is None:
            raise ValueError("QTY before any LIN")
        self._close_value()
        quality, amount, unit = _composite(segment)
        if not quality:
            raise ValueError("quantity qualifier (value quality) is missing")
        self.value = {"quantity": _quantity(amount), "quality": quality, "unit": unit or None, "statuses": []}
        self.value_index = self.index

    def _sts(self, segment: Segment) -> None:
        if self.value is None:
            raise ValueError("STS is only expected after a QTY")
        category, code = element_value(segment, 0), element_value(segment, 2)
        if not category or not code:
            raise ValueError("status category or code is missing (expected STS+<category>++<code>)")
        self.value["statuses"].append(MsconsStatus(category=category, code=code))

    # -------------------------------------------------------- closing groups

    def _close_value(self) -> None:
        if self.value is None or self.position is None:
            return
        try:
            self.position["values"].append(MsconsValue(**self.value))
        except ValidationError as exc:
            raise self.error(str(exc), "QTY", self.value_index) from None
        self.value = None

    def _close_position(self) -> None:
        self._close_value()
        if self.position is None or self.location is None:
            return
        self.location["positions"].append(MsconsPosition(**self.position))
        self.position = None

    def _close_location(self) -> None:
        self._close_position()
        if self.location is not None:
            self.locations.append(MsconsLocation(**self.location))
            self.location = None


def parse_mscons(msg: RawMessage) -> MsconsMessage:
    """Read an MSCONS message; raise EdifactContentError (segment tag and position) if it is not usable."""
    reader = _Reader(msg)
    if msg.type != "MSCONS":
        raise reader.error(f"is a {msg.type} message, not MSCONS")
    for index, segment in enumerate(msg.segments):
        reader.read(index, segment)
    try:
        locations = reader.finish()
    except ValueError as exc:
        raise reader.error(str(exc), "UNT", len(msg.segments)) from exc
    fields = reader.header
    required = {
        "category": "BGM",
        "document_number": "BGM",
        "document_date": "DTM+137",
        "sender": "NAD+MS",
        "receiver": "NAD+MR",
        "pruefidentifikator": "RFF+Z13",
    }
    missing = sorted({segment for name, segment in required.items() if not fields.get(name)})
    if missing:
        raise reader.error(f"mandatory data missing: {', '.join(missing)}")
    pid = fields["pruefidentifikator"]
    if not _PID.fullmatch(pid):
        raise reader.error(
            f"Prüfidentifikator {pid!r} is not an MSCONS Prüfidentifikator", "RFF", reader.indexes["pruefidentifikator"]
        )
    return MsconsMessage(association=msg.association, message_reference=msg.reference, locations=locations, **fields)


# ---------------------------------------------------------------- building


def _dtm(qualifier: str, moment: datetime) -> Segment:
    """DTM in format 303; a reading date at exactly 00:00 UTC is a day without time and written as 102."""
    if qualifier == "9" and moment.hour == moment.minute == moment.second == 0:
        return Segment("DTM", [qualifier, moment.strftime("%Y%m%d"), "102"])
    if qualifier == "293":
        return Segment("DTM", [qualifier, moment.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "+00", "304"])
    return Segment("DTM", [qualifier, format_date(moment), "303"])


def _value_segments(value: MsconsValue) -> Iterator[Segment]:
    yield make_segment("QTY", [value.quality, format(value.quantity, "f"), value.unit or ""])
    for qualifier, name in _VALUE_DATES.items():
        moment = getattr(value, name)
        if moment is not None:
            yield _dtm(qualifier, moment)
    if value.power_period:
        yield Segment("DTM", ["306", value.power_period, "610" if len(value.power_period) == 6 else "102"])
    for status in value.statuses:
        yield Segment("STS", status.category, "", status.code)


def _location_segments(location: MsconsLocation) -> Iterator[Segment]:
    yield make_segment("LOC", location.qualifier, location.location_id, location.related_location_id or "")
    for qualifier, name in _LOCATION_DATES.items():
        moment = getattr(location, name)
        if moment is not None:
            yield _dtm(qualifier, moment)
    for qualifier, name in _LOCATION_REFERENCES.items():
        reference = getattr(location, name)
        if reference:
            yield Segment("RFF", [qualifier, reference])
    if location.time_series_type:
        yield Segment("CCI", "15", "", location.time_series_type)
    for position in location.positions:
        yield Segment("LIN", position.line)
        if position.obis:
            yield Segment("PIA", "5", [position.obis, "SRW"])
        for value in position.values:
            yield from _value_segments(value)


def build_mscons(m: MsconsMessage) -> RawMessage:
    """Write the message segments in the order of the EDI@Energy samples; only set fields are emitted."""
    segs = [
        make_segment("BGM", m.category, m.document_number, m.message_function),
        make_segment("DTM", ["137", format_date(m.document_date), "303"]),
    ]
    for qualifier, name in _HEADER_REFERENCES.items():
        reference = getattr(m, name)
        if reference:
            segs.append(make_segment("RFF", [qualifier, reference]))
    segs += [
        make_segment("NAD", "MS", [m.sender, "", m.sender_code_list]),
        make_segment("NAD", "MR", [m.receiver, "", m.receiver_code_list]),
        make_segment("UNS", "D"),
        make_segment("NAD", m.delivery_party),
    ]
    for location in m.locations:
        segs.extend(_location_segments(location))
    return RawMessage(
        reference=m.message_reference,
        type="MSCONS",
        version="D",
        release="04B",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def mscons_interchange(
    messages: Iterable[MsconsMessage], *, sender: Party, receiver: Party, reference: str, prepared_at: datetime
) -> Interchange:
    """Wrap MSCONS messages into an interchange ready for serialize_interchange."""
    return Interchange(
        sender=sender,
        receiver=receiver,
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_mscons(m) for m in messages],
    )


# ---------------------------------------------------------------- flat rows


class ReadingRow(NamedTuple):
    """One value, flattened for storage. ``statuses`` is comma-joined ``category:code`` ("" if none)."""

    location_id: str
    meter_number: str | None
    obis: str | None
    quantity: Decimal
    quality: str
    unit: str | None
    at: datetime
    period_start: datetime | None
    statuses: str


def _power_period_start(value: str) -> datetime:
    return datetime(int(value[:4]), int(value[4:6]), int(value[6:8] or 1), tzinfo=UTC)


def iter_readings(m: MsconsMessage) -> Iterator[ReadingRow]:
    """Yield one row per value, in message order.

    ``at`` is the value's Nutzungszeitpunkt (DTM+7), else its period end (DTM+164), reading date (DTM+9) or
    execution time (DTM+60); a value with only a Leistungsperiode (DTM+306) gets the period's first day at
    00:00 UTC; a value without any date of its own takes the location's Messperiode (SG6 DTM+163/164) and,
    failing that, the document date.
    """
    for location in m.locations:
        location_id, meter = location.location_id, location.meter_number
        for position in location.positions:
            obis = position.obis
            for value in position.values:
                start = value.period_start
                at = value.used_at or value.period_end or value.reading_date or value.executed_at
                if at is None:
                    if value.power_period:
                        at = _power_period_start(value.power_period)
                    elif location.period_end is not None:
                        at, start = location.period_end, location.period_start
                    else:
                        at = m.document_date
                statuses = ",".join(f"{s.category}:{s.code}" for s in value.statuses) if value.statuses else ""
                yield ReadingRow(
                    location_id, meter, obis, value.quantity, value.quality, value.unit, at, start, statuses
                )
