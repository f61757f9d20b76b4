"""Human tasks: clearing cases and escalations that wait for a clerk's decision."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Task(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("business_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    business_key: str = Field(max_length=200, description="idempotency key of the creating step")
    queue: str = text_code(40, index=True)
    kind: str = text_code(60)
    priority: int = 3
    state: str = text_code(20, default=TaskState.OPEN, index=True)
    title: str
    description: str = ""
    workflow_id: str | None = Field(default=None, index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    assigned_to: str | None = Field(default=None, max_length=100, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    allowed_decisions: list[str] = Field(default_factory=list, sa_type=JSON)
    due_at: datetime | None = instant(default=None, nullable=True, index=True)
    decision: str | None = None
    decision_data: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    decided_by: str | None = None
    decided_at: datetime | None = instant(default=None, nullable=True)
    created_at: datetime = instant(default_factory=utcnow)
