"""Customer contacts from every channel, their attachments, per-tenant service levels and client notifications."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow
from rules.contacts import ComplaintKind


class Contact(SQLModel, table=True):
    """One contact with a customer (or an unknown sender), documented on the customer's file."""

    __table_args__ = (UniqueConstraint("tenant_id", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    reference: str = Field(max_length=200, description="idempotency key: the client's reference or the Message-ID")
    channel: str = text_code(10)
    received_at: datetime = instant()
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    identified_by: str = Field(default="", max_length=40, description="how the sender was recognised; empty: unknown")
    sender_name: str = Field(default="", max_length=200)
    sender_address: str = Field(default="", max_length=300)
    sender_email: str = Field(default="", max_length=200)
    sender_phone: str = Field(default="", max_length=50)
    subject: str = Field(default="", max_length=300)
    text: str = ""
    category: str = text_code(20)
    complaint: str = text_code(20, default=ComplaintKind.NONE, description="customer, legal, regulator, arbitration")
    settled: bool = Field(default=False, description="phone: settled in the call, nothing left to do")
    answer_by: date | None = Field(default=None, description="complaints: the day the answer is due at the latest")
    request: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="the action asked for, if any")
    state: str = text_code(20, default="open", description="open, done")
    outcome: str = Field(default="", description="what was done, by whom")
    workflow_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = instant(default_factory=utcnow)


class ContactAttachment(SQLModel, table=True):
    __tablename__ = "contact_attachment"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    content: bytes = Field(sa_type=LargeBinary)
    sha256: str = Field(max_length=64)


class ServiceLevel(SQLModel, table=True):
    """A tenant's own answer time and priority for one topic (otherwise ``rules.contacts.DEFAULT_LEVELS``)."""

    __tablename__ = "service_level"
    __table_args__ = (UniqueConstraint("tenant_id", "topic"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    topic: str = text_code(30, description="phone, email, letter, web, complaint, regulator, callback, ...")
    working_days: int = Field(ge=0, description="answer within this many working days (0: the same day)")
    priority: int = Field(default=3, ge=1, le=5, description="1 most urgent")


class ClientNotification(SQLModel, table=True):
    """An event the client must know at once (e.g. a regulator complaint): webhook and e-mail file."""

    __tablename__ = "client_notification"
    __table_args__ = (UniqueConstraint("tenant_id", "business_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    business_key: str = Field(max_length=200)
    kind: str = text_code(40)
    subject: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    email_file: str = Field(default="", max_length=300, description="the e-mail written to the client outbox")
    webhook_state: str = text_code(20, default="none", description="none (no URL), pending, delivered")
    webhook_attempts: int = 0
    webhook_delivered_at: datetime | None = instant(default=None, nullable=True)
    created_at: datetime = instant(default_factory=utcnow)
