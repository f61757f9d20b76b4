"""Market partners: grid operators, metering operators and other suppliers (market-wide, not per tenant)."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class PartnerRole(StrEnum):
    GRID_OPERATOR = "grid_operator"
    SUPPLIER = "supplier"
    METERING_OPERATOR = "metering_operator"


class MarketPartner(SQLModel, table=True):
    __tablename__ = "market_partner"

    id: str = Field(primary_key=True, max_length=13, description="13-digit BDEW/DVGW code number or GLN")
    name: str
    role: str = text_code(30)
    division: str | None = text_code(10, default=None, nullable=True)
    iban: str = Field(default="", max_length=34, description="where its invoices are paid to")
    bic: str = Field(default="", max_length=11)
    created_at: datetime = instant(default_factory=utcnow)
