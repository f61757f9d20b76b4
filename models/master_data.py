"""Master data over time: customer data versions with the day they take effect, and what grid operators report."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class CustomerVersion(SQLModel, table=True):
    """The customer's master data from ``valid_from`` on (a full snapshot), who changed it and why."""

    __tablename__ = "customer_version"
    __table_args__ = (UniqueConstraint("tenant_id", "business_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    business_key: str = Field(max_length=200, description="idempotency key of the change")
    valid_from: date
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    changed_fields: list[str] = Field(default_factory=list, sa_type=JSON)
    changed_by: str = Field(default="", max_length=100)
    source: str = text_code(20, default="api", description="api, contact, intake")
    applied_at: datetime | None = instant(default=None, nullable=True)
    market_state: str = text_code(20, default="not_needed", description="not_needed, pending, confirmed, clearing")
    workflow_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = instant(default_factory=utcnow)


class GridMasterData(SQLModel, table=True):
    """Master data of a MaLo as its grid operator sent it (UTILMD 556xx), compared with ours."""

    __tablename__ = "grid_master_data"
    __table_args__ = (UniqueConstraint("message_id", "malo_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    message_id: int = Field(foreign_key="market_message.id")
    pruefidentifikator: str = text_code(5)
    sender: str = Field(max_length=35)
    malo_id: str = Field(max_length=11, index=True)
    valid_from: date | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    differences: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    state: str = text_code(20, default="received", description="received, matches, clearing, taken_over, kept")
    decided_by: str = Field(default="", max_length=100)
    workflow_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = instant(default_factory=utcnow)
