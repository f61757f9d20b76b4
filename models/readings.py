"""Meter readings and energy quantities from MSCONS, and the processes waiting for them."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ARRAY, BigInteger, Index, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, quantity, text_code, utcnow


class MeterReading(SQLModel, table=True):
    """One value: a meter reading at a point in time, or a quantity for ``[period_start, at)``."""

    __tablename__ = "meter_reading"
    __table_args__ = (Index("ix_meter_reading_location_at", "tenant_id", "location_id", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id")
    location_id: str = Field(max_length=33, description="MaLo (11) or MeLo (33)")
    meter_number: str | None = Field(default=None, max_length=40)
    obis: str | None = Field(default=None, max_length=30)
    value: Decimal = quantity()
    quality: str = text_code(5, description="QTY qualifier: 220 true, 67 substitute, Z18 provisional, ...")
    unit: str | None = text_code(5, default=None, nullable=True)
    at: datetime = instant(description="Nutzungszeitpunkt, or the end of the measured period")
    period_start: datetime | None = instant(default=None, nullable=True)
    statuses: str = Field(default="", max_length=200, description="STS category:code pairs, comma-separated")
    pruefidentifikator: str = text_code(5, default="")
    message_id: int | None = Field(default=None, foreign_key="market_message.id", index=True)
    source: str = text_code(20, default="mscons", description="mscons, customer or clerk")
    entered_by: str = Field(default="", max_length=100)
    created_at: datetime = instant(default_factory=utcnow)


class ReadingWait(SQLModel, table=True):
    """A process waiting for readings of a location; inbound MSCONS signals it (``meter_readings``)."""

    __tablename__ = "reading_wait"
    __table_args__ = (UniqueConstraint("workflow_id", "location_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    location_id: str = Field(max_length=33, index=True)
    workflow_id: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = instant(default_factory=utcnow)


class LoadProfile(SQLModel, table=True):
    """Equidistant values (15-minute load profiles) of one location and OBIS from one inbound message.

    ``values[i]`` and ``qualities[i]`` cover ``[start + i * interval, start + (i + 1) * interval)``; a day of
    96 quarter hours is one row instead of 96.
    """

    __tablename__ = "load_profile"
    __table_args__ = (Index("ix_load_profile_location_start", "tenant_id", "location_id", "start"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id")
    location_id: str = Field(max_length=33)
    obis: str | None = Field(default=None, max_length=30)
    start: datetime = instant()
    end: datetime = instant()
    interval_minutes: int
    unit: str | None = text_code(5, default=None, nullable=True)
    values: list[Decimal] = Field(sa_type=ARRAY(Numeric(18, 3)))
    qualities: list[str] = Field(sa_type=ARRAY(String(5)))
    pruefidentifikator: str = text_code(5)
    message_id: int = Field(foreign_key="market_message.id", index=True)
    created_at: datetime = instant(default_factory=utcnow)
