"""Bills, their gapless numbers, gas conversion factors and billing runs.

A bill is computed as a draft; a draft that fails a plausibility check is held until a clerk releases it. Only
a released bill gets its number (gapless per tenant and year), is booked and delivered. A cancelled bill keeps
its number; the cancellation is a bill of its own kind with its own number.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import instant, money, price, quantity, text_code, utcnow


class BillKind(StrEnum):
    PERIODIC = "periodic"
    """Turnusabrechnung (SLP) or monthly bill (RLM)."""
    FINAL = "final"
    """Schlussrechnung at the end of supply."""
    CANCELLATION = "cancellation"
    """Stornorechnung of a bill being corrected."""


class BillState(StrEnum):
    HELD = "held"
    """Computed, failed a plausibility check, waits for a clerk; has no number yet."""
    BOOKED = "booked"
    """Numbered and booked; delivered once ``delivered_at`` is set."""
    CANCELLED = "cancelled"
    """Held and dropped by a clerk, or booked and cancelled by a cancellation bill (it keeps its number)."""


class Bill(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index(
            "ux_bill_contract_period",
            "contract_id",
            "kind",
            "period_end",
            unique=True,
            postgresql_where=text("state <> 'cancelled' AND kind <> 'cancellation'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    number: str | None = Field(default=None, max_length=20, description="YYYY-NNNNNNN, set when booked")
    kind: str = text_code(20)
    state: str = text_code(20)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    division: str = text_code(10)
    period_start: date
    period_end: date = Field(description="exclusive: the day of the closing reading")
    consumption_kwh: Decimal = quantity()
    net: Decimal = money()
    energy_tax: Decimal = money()
    vat: Decimal = money()
    gross: Decimal = money()
    instalments_paid: Decimal = money()
    balance: Decimal = money(description="gross - instalments paid: positive the customer pays, negative a refund")
    next_instalment: Decimal | None = money(default=None, nullable=True)
    due_date: date | None = None
    estimated: bool = False
    hold_reasons: str = Field(default="", max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """The computed bill (lines, readings, VAT groups, settlement) as rendered and explained."""
    cancellation_of_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("bill.id"), nullable=True, unique=True)
    )
    posting_document_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=True)
    )
    document_id: int | None = Field(default=None, foreign_key="document.id")
    run_id: str = Field(default="", max_length=200, description="the billing run or process that made it")
    released_by: str = Field(default="", max_length=100)
    booked_at: datetime | None = instant(default=None, nullable=True)
    delivered_at: datetime | None = instant(default=None, nullable=True)
    created_at: datetime = instant(default_factory=utcnow)


class BillNumberRange(SQLModel, table=True):
    """The last bill number given per tenant and year; taken under a row lock in the booking transaction."""

    __tablename__ = "bill_number_range"

    tenant_id: str = Field(foreign_key="tenant.id", primary_key=True)
    year: int = Field(primary_key=True)
    last_number: int = 0


class GasConversion(SQLModel, table=True):
    """Calorific value (Brennwert, kWh/m³) and Zustandszahl of a market location for a period, from the grid
    operator."""

    __tablename__ = "gas_conversion"
    __table_args__ = (UniqueConstraint("tenant_id", "location_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    location_id: int = Field(foreign_key="market_location.id", index=True)
    valid_from: date
    valid_until: date = Field(description="exclusive")
    calorific_value: Decimal = price()
    z_number: Decimal = price()


class BillingRunItem(SQLModel, table=True):
    """What a billing run did with one contract: billed, held, or failed with the reason."""

    __tablename__ = "billing_run_item"
    __table_args__ = (UniqueConstraint("run_id", "contract_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id")
    run_id: str = Field(max_length=200, index=True)
    contract_id: int = Field(foreign_key="contract.id")
    outcome: str = text_code(20)
    reason: str = Field(default="", max_length=500)
    bill_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("bill.id"), nullable=True))
    created_at: datetime = instant(default_factory=utcnow)
