"""Archived documents (letters, bills) with their sha256."""

from datetime import datetime

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class Document(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("business_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    business_key: str = Field(max_length=200)
    kind: str = text_code(40)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    media_type: str = "application/pdf"
    content: bytes = Field(sa_type=LargeBinary)
    sha256: str = Field(max_length=64)
    delivery: str = text_code(
        10, default="archived", description="archived (not sent by us), email, print, or held (address unreliable)"
    )
    delivered_at: datetime | None = instant(default=None, nullable=True)
    created_at: datetime = instant(default_factory=utcnow)
