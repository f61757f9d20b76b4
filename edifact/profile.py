"""Fast reading of regular load profiles (MSCONS 13025, 13008, 13018, ...): one series per location and OBIS.

A profile message holds thousands of QTY + DTM+163 + DTM+164 groups of equal length that follow each other
without a gap. Such a message is read here in one tight pass, values kept as validated decimal strings and only
the first and last time parsed. Anything else (statuses, gaps, other dates, several positions) returns None and
the caller uses ``edifact.mscons.parse_mscons``, which reads every form.
"""

import re
from datetime import datetime, timedelta

from pydantic import BaseModel

from edifact.envelope import RawMessage
from edifact.segments import parse_date

_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_QUALITIES = frozenset({"220", "67", "Z18", "201", "20", "Z31", "187"})


class ProfileSeries(BaseModel):
    """Equidistant values of one location and OBIS; ``values[i]`` covers ``[start + i*interval, +interval)``."""

    pruefidentifikator: str
    message_reference: str
    document_number: str
    sender: str
    receiver: str
    sender_code_list: str
    receiver_code_list: str
    location_id: str
    obis: str | None
    start: datetime
    end: datetime
    interval_minutes: int
    unit: str | None
    values: list[str]
    qualities: list[str]


def read_profile(msg: RawMessage) -> ProfileSeries | None:
    """The series of a plain single-location, single-position profile message, or None for any other form."""
    segments = msg.segments
    pid = location = obis = document = None
    parties: dict[str, tuple[str, str]] = {}
    index, count = 0, len(segments)
    while index < count:
        segment = segments[index]
        tag = segment.tag
        if tag == "LIN":
            break
        if tag == "RFF" and _first(segment) == "Z13":
            pid = _second(segment)
        elif tag == "BGM" and len(segment.elements) > 1:
            document = segment.elements[1]
        elif tag == "NAD" and _first(segment) in ("MS", "MR") and len(segment.elements) > 1:
            party, role = segment.elements[1], segment.elements[0]
            if isinstance(party, list) and len(party) > 2 and isinstance(role, str):
                parties[role] = (party[0], party[2])
        elif tag == "LOC":
            if location is not None:
                return None
            location = segment.elements[1] if len(segment.elements) > 1 else None
        index += 1
    if (
        pid is None
        or not isinstance(location, str)
        or not isinstance(document, str)
        or set(parties) != {"MS", "MR"}
        or index + 1 >= count
    ):
        return None
    pia = segments[index + 1]
    if pia.tag == "PIA":
        obis_part = pia.elements[1] if len(pia.elements) > 1 else None
        obis = obis_part[0] if isinstance(obis_part, list) else obis_part
        index += 2
    else:
        index += 1
    values: list[str] = []
    qualities: list[str] = []
    unit: str | None = None
    first_start = previous_end = None
    step: str | None = None
    while index + 2 < count + 0:
        qty, dtm_start, dtm_end = segments[index], segments[index + 1], segments[index + 2]
        if qty.tag != "QTY" or dtm_start.tag != "DTM" or dtm_end.tag != "DTM":
            return None
        quantity = qty.elements[0]
        start_element, end_element = dtm_start.elements[0], dtm_end.elements[0]
        if (
            not isinstance(quantity, list)
            or not isinstance(start_element, list)
            or not isinstance(end_element, list)
            or start_element[0] != "163"
            or end_element[0] != "164"
            or start_element[2:] != ["303"]
            or end_element[2:] != ["303"]
        ):
            return None
        qualifier, number = quantity[0], quantity[1]
        if qualifier not in _QUALITIES or not _NUMBER.fullmatch(number):
            return None
        if len(quantity) > 2:
            if unit is not None and quantity[2] != unit:
                return None
            unit = quantity[2]
        start_text, end_text = start_element[1], end_element[1]
        if previous_end is None:
            first_start = start_text
        elif start_text != previous_end:
            return None
        if step is None:
            step = end_text
        previous_end = end_text
        values.append(number)
        qualities.append(qualifier)
        index += 3
    if index != count or not values or first_start is None or previous_end is None:
        return None
    try:
        start = parse_date(first_start, "303")
        end = parse_date(previous_end, "303")
        first_end = parse_date(step or previous_end, "303")
    except ValueError:
        return None
    interval = first_end - start
    if interval <= timedelta(0) or start + interval * len(values) != end:
        return None
    return ProfileSeries(
        pruefidentifikator=pid,
        message_reference=msg.reference,
        document_number=document,
        sender=parties["MS"][0],
        receiver=parties["MR"][0],
        sender_code_list=parties["MS"][1],
        receiver_code_list=parties["MR"][1],
        location_id=location,
        obis=obis,
        start=start,
        end=end,
        interval_minutes=int(interval.total_seconds() // 60),
        unit=unit,
        values=values,
        qualities=qualities,
    )


def _first(segment: object) -> str | None:
    element = segment.elements[0]  # type: ignore[attr-defined]
    return element[0] if isinstance(element, list) else element


def _second(segment: object) -> str | None:
    element = segment.elements[0]  # type: ignore[attr-defined]
    return element[1] if isinstance(element, list) and len(element) > 1 else None
