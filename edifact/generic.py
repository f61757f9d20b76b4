"""Header fields of any message type, for types without a typed model of their own (ORDERS, IFTSTA, ...)."""

from datetime import datetime

from pydantic import BaseModel

from edifact.envelope import RawMessage
from edifact.segments import element_value, parse_date


class GenericMessage(BaseModel):
    message_type: str
    association: str
    message_reference: str
    pruefidentifikator: str | None = None
    category: str | None = None
    document_number: str | None = None
    document_date: datetime | None = None
    sender: str | None = None
    receiver: str | None = None
    segment_count: int


def parse_generic(msg: RawMessage) -> GenericMessage:
    """The first BGM, DTM+137, RFF+Z13 and NAD+MS/MR of the message; nothing is required."""
    fields: dict[str, object] = {}
    for segment in msg.segments:
        tag, qualifier = segment.tag, element_value(segment, 0)
        if tag == "BGM":
            fields.setdefault("category", qualifier or None)
            fields.setdefault("document_number", element_value(segment, 1) or None)
        elif tag == "DTM" and qualifier == "137":
            try:
                moment = parse_date(element_value(segment, 0, 1), element_value(segment, 0, 2) or "303")
            except ValueError:
                continue
            fields.setdefault("document_date", moment)
        elif tag == "RFF" and qualifier == "Z13":
            fields.setdefault("pruefidentifikator", element_value(segment, 0, 1) or None)
        elif tag == "NAD" and qualifier in ("MS", "MR"):
            fields.setdefault("sender" if qualifier == "MS" else "receiver", element_value(segment, 1) or None)
    return GenericMessage(
        message_type=msg.type,
        association=msg.association,
        message_reference=msg.reference,
        segment_count=len(msg.segments) + 2,
        **fields,  # type: ignore[arg-type]
    )
