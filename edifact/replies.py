"""Answering a UTILMD request: sender and receiver swapped, the request's transaction referenced (RFF+TN)."""

import uuid
from datetime import datetime
from typing import Any

from edifact.envelope import Party, serialize_interchange
from edifact.utilmd import UtilmdMessage, utilmd_interchange

UNB_QUALIFIER = {"strom": "500", "gas": "502"}


def _reference(length: int) -> str:
    return uuid.uuid4().hex.upper()[:length]


def reply_to(request: UtilmdMessage, pruefidentifikator: str, at: datetime, **fields: Any) -> UtilmdMessage:
    """A reply with fresh references; ``fields`` set the answer (answer_code, start, end_at, ...)."""
    values: dict[str, Any] = {
        "division": request.division,
        "association": request.association,
        "pruefidentifikator": pruefidentifikator,
        "message_reference": _reference(14),
        "category": request.category,
        "document_number": _reference(20),
        "document_date": at.replace(second=0, microsecond=0),
        "sender": request.receiver,
        "receiver": request.sender,
        "sender_code_list": request.receiver_code_list,
        "receiver_code_list": request.sender_code_list,
        "transaction_id": _reference(32),
        "transaction_reason": request.transaction_reason,
        "malo_id": request.malo_id,
        "reference_transaction": request.transaction_id,
    }
    return UtilmdMessage(**(values | fields))


def reply_interchange(reply: UtilmdMessage, at: datetime) -> bytes:
    """Serialise one reply as an interchange from its sender to its receiver."""
    qualifier = UNB_QUALIFIER[reply.division.value]
    return serialize_interchange(
        utilmd_interchange(
            [reply],
            sender=Party(id=reply.sender, qualifier=qualifier),
            receiver=Party(id=reply.receiver, qualifier=qualifier),
            reference=_reference(14),
            prepared_at=at.replace(second=0, microsecond=0),
        )
    )
