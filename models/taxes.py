"""Taxes and levies as dated parameters: a new rate from a day on is a row, and billing uses it."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class TaxRate(SQLModel, table=True):
    """A rate valid from its day until the next one of the same kind and division; adds to the rates the law had
    when the software was written (``rules.billing.ENERGY_TAX_RATES``, ``rules.budget.VAT_RATES``)."""

    __tablename__ = "tax_rate"
    __table_args__ = (UniqueConstraint("kind", "division", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = text_code(20, description="vat (fraction, e.g. 0.19) or energy_tax (EUR per kWh)")
    division: str = text_code(10)
    valid_from: date
    rate: Decimal = Field(sa_type=Numeric(10, 6))
    note: str = Field(default="", description="the legal basis, e.g. a law's Bundesgesetzblatt reference")
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = instant(default_factory=utcnow)
