"""Every market message, inbound and outbound, with its raw bytes."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageState(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    """Answered with a negative CONTRL (syntax) or APERAK (content); kept for clearing."""
    CLEARING = "clearing"
    QUEUED = "queued"
    SENT = "sent"


class MarketMessage(SQLModel, table=True):
    __tablename__ = "market_message"
    __table_args__ = (
        UniqueConstraint("business_key"),
        # One original per sender and interchange reference; repeats are stored as duplicates of it.
        Index(
            "uq_market_message_inbound_original",
            "sender",
            "interchange_ref",
            unique=True,
            postgresql_where=text("direction = 'in' AND duplicate_of_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str | None = Field(default=None, foreign_key="tenant.id", index=True)
    direction: str = text_code(3)
    state: str = text_code(20, index=True)
    business_key: str | None = Field(default=None, max_length=200, description="outbound idempotency key")
    message_type: str | None = text_code(10, default=None, nullable=True)
    pruefidentifikator: str | None = text_code(5, default=None, nullable=True)
    sender: str | None = Field(default=None, max_length=35)
    receiver: str | None = Field(default=None, max_length=35)
    interchange_ref: str | None = Field(default=None, max_length=35)
    document_number: str | None = Field(default=None, max_length=70)
    transaction_id: str | None = Field(default=None, max_length=70, index=True)
    reference_transaction: str | None = Field(default=None, max_length=70, index=True)
    malo_id: str | None = Field(default=None, max_length=11, index=True)
    raw: bytes = Field(sa_type=LargeBinary)
    sha256: str = Field(max_length=64)
    error: str | None = None
    duplicate_of_id: int | None = Field(default=None, foreign_key="market_message.id")
    in_reply_to_id: int | None = Field(
        default=None,
        foreign_key="market_message.id",
        index=True,
        description="our CONTRL/APERAK: the inbound message it answers; an inbound answer: our request",
    )
    answer_due_at: datetime | None = instant(default=None, nullable=True, description="requests: answer deadline")
    answered_at: datetime | None = instant(default=None, nullable=True)
    message_count: int | None = None
    size_bytes: int | None = None
    workflow_id: str | None = Field(default=None, index=True)
    created_at: datetime = instant(default_factory=utcnow)
    processed_at: datetime | None = instant(default=None, nullable=True)
