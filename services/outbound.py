"""Storing an outbound interchange once per business key (the sending step may be retried)."""

import hashlib
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from models.base import utcnow
from models.messages import Direction, MarketMessage, MessageState


def store_outbound(session: Session, business_key: str, raw: bytes, **fields: Any) -> MarketMessage:
    """The message stored under ``business_key`` (queued for sending unless ``state`` says otherwise); a second
    call with the same key returns the first one unchanged."""
    values = {"state": MessageState.QUEUED, "created_at": utcnow()} | fields
    session.execute(
        insert(MarketMessage)
        .values(
            direction=Direction.OUTBOUND,
            business_key=business_key,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            **values,
        )
        .on_conflict_do_nothing(index_elements=["business_key"])
    )
    return session.exec(select(MarketMessage).where(MarketMessage.business_key == business_key)).one()
