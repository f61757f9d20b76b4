"""Shared column types and the metadata naming convention (stable constraint names for migrations)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def money(**kw: Any) -> Any:
    """EUR amount, NUMERIC(14,2)."""
    return Field(sa_type=Numeric(14, 2), **kw)


def price(**kw: Any) -> Any:
    """Unit price, NUMERIC(18,6)."""
    return Field(sa_type=Numeric(18, 6), **kw)


def quantity(**kw: Any) -> Any:
    """Quantity (kWh, m³), NUMERIC(18,3)."""
    return Field(sa_type=Numeric(18, 3), **kw)


def instant(**kw: Any) -> Any:
    """A point in time, stored as timestamptz."""
    return Field(sa_type=DateTime(timezone=True), **kw)


def text_code(length: int = 40, **kw: Any) -> Any:
    """An enum or code stored as a plain string."""
    return Field(sa_type=String(length), **kw)
