"""Market partners: grid operators, metering operators and other suppliers (market-wide, not per tenant)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
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


class PartnerCommunication(SQLModel, table=True):
    """How messages reach a market partner from ``valid_from`` on (until ``valid_until``, exclusive), and whom to
    ask there. Our own requests go out only with communication data valid on the send day."""

    __tablename__ = "partner_communication"
    __table_args__ = (UniqueConstraint("partner_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(foreign_key="market_partner.id", index=True)
    valid_from: date
    valid_until: date | None = None
    channel: str = text_code(10, description="as4, email (EDIFACT by e-mail) or drop (file transfer)")
    address: str = Field(max_length=300, description="AS4 endpoint, e-mail address or folder")
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=200)
    contact_phone: str = Field(default="", max_length=50)
    created_at: datetime = instant(default_factory=utcnow)


class FrameworkContract(SQLModel, table=True):
    """A contract with a market partner (e.g. the grid-usage framework contract), archived as a document."""

    __tablename__ = "framework_contract"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    partner_id: str = Field(foreign_key="market_partner.id", index=True)
    kind: str = text_code(30, description="grid_usage (Netznutzungsvertrag), metering, other")
    valid_from: date
    valid_until: date | None = None
    document_id: int = Field(foreign_key="document.id")
    created_at: datetime = instant(default_factory=utcnow)
