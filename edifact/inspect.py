"""What an interchange says, as plain data: the envelope and, per message, header and business fields."""

from typing import Any

from edifact.envelope import parse_interchange
from edifact.registry import format_version, parse_message

HEADER = ("pruefidentifikator", "sender", "receiver", "document_number", "document_date")
"""Fields every message view starts with; the model's other fields follow as its business content."""


def inspect_interchange(data: bytes | str) -> dict[str, Any]:
    """Parse strictly (EdifactError on any problem) and describe every message."""
    interchange = parse_interchange(data)
    messages = []
    for raw in interchange.messages:
        model = parse_message(raw, interchange)
        dumped = model.model_dump(mode="json", exclude={"message_type"})
        view: dict[str, Any] = {
            "type": raw.type,
            "format_version": format_version(getattr(model, "document_date", None)),
            "association": raw.association,
            "message_reference": raw.reference,
        }
        view |= {name: dumped.pop(name, None) for name in HEADER}
        dumped.pop("association", None)
        dumped.pop("message_reference", None)
        messages.append(view | dumped)
    return {
        "sender": interchange.sender.id,
        "receiver": interchange.receiver.id,
        "reference": interchange.reference,
        "prepared_at": interchange.prepared_at.isoformat(),
        "messages": messages,
    }
