"""Reading and writing single segments: element values, dates (DTM 303/203/102), building segments."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BeforeValidator
from pydifact import Segment

from edifact.errors import EdifactContentError

_NUMBER = re.compile(r"-?(\d+([.,]\d*)?|[.,]\d+)")


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC)


def _not_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("amounts and quantities must be Decimal or str, not float")
    return value


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
"""A timezone-aware datetime, kept in UTC."""
Amount = Annotated[Decimal, BeforeValidator(_not_float)]
"""Money or a quantity: Decimal from a string, never a float."""


def parse_number(value: str, what: str) -> Decimal:
    """EDIFACT numeric value (decimal mark ``.`` or ``,``) as Decimal; ValueError naming ``what`` otherwise."""
    if not value:
        raise ValueError(f"{what} is missing")
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a number")
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise ValueError(f"{what} {value!r} is not a number") from None


def element_value(segment: Segment, element: int, component: int = 0) -> str:
    value = segment[element]
    if isinstance(value, list):
        return value[component] if component < len(value) else ""
    return (value or "") if component == 0 else ""


def element_components(segment: Segment, element: int) -> list[str]:
    value = segment[element]
    if isinstance(value, list):
        return value
    return [value] if value else []


def make_segment(tag: str, *elements: str | list[str]) -> Segment:
    """Create a segment without trailing empty components and elements."""
    cleaned: list[str | list[str]] = []
    for element in elements:
        if isinstance(element, list):
            parts = list(element)
            while parts and not parts[-1]:
                parts.pop()
            element = parts[0] if len(parts) == 1 else parts or ""
        cleaned.append(element)
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return Segment(tag, *cleaned)


def parse_date(value: str, fmt: str) -> datetime:
    """DTM value in format 303 (CCYYMMDDHHMM+ZZ), 203 (CCYYMMDDHHMM) or 102 (CCYYMMDD) as UTC datetime."""
    patterns = {"303": r"(\d{12})([+-]\d{2})?", "203": r"(\d{12})()", "102": r"(\d{8})()"}
    if fmt not in patterns:
        raise ValueError(f"date format {fmt!r} is not supported (expected 303, 203 or 102)")
    match = re.fullmatch(patterns[fmt], value)
    if match is None:
        raise ValueError(f"date {value!r} does not match format {fmt}")
    digits, offset = match.groups()
    moment = datetime.strptime(digits, "%Y%m%d%H%M" if len(digits) == 12 else "%Y%m%d")
    return (moment - timedelta(hours=int(offset or 0))).replace(tzinfo=UTC)


def format_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M") + "+00"


HEADER_FIELDS = {
    "category": "BGM",
    "document_number": "BGM",
    "document_date": "DTM+137",
    "sender": "NAD+MS",
    "receiver": "NAD+MR",
    "pruefidentifikator": "RFF+Z13",
}
"""Header fields every INVOIC and REMADV must carry, with the segment that carries each."""


class HeaderReader(Protocol):
    fields: dict[str, Any]
    indexes: dict[str, int]

    def error(self, detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError: ...


def require_header(reader: HeaderReader, message_type: str, pid_prefix: str) -> None:
    """Raise the reader's content error for missing header data or a Prüfidentifikator of another type."""
    missing = sorted({segment for name, segment in HEADER_FIELDS.items() if name not in reader.fields})
    if missing:
        raise reader.error(f"mandatory data missing: {', '.join(missing)}")
    pid = reader.fields["pruefidentifikator"]
    if not re.fullmatch(pid_prefix + r"\d\d", pid):
        raise reader.error(
            f"Prüfidentifikator {pid!r} is not {message_type} Prüfidentifikator ({pid_prefix}xx)",
            "RFF",
            reader.indexes["pruefidentifikator"],
        )
