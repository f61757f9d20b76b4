"""Tenants (the client suppliers) and their API keys."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, money, text_code, utcnow


class Role(StrEnum):
    CLIENT = "client"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"


class Tenant(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40, description="short slug, e.g. 'stadtwerke-nord'")
    name: str
    market_partner_id: str = Field(max_length=13, description="BDEW code number (Strom)")
    gas_market_partner_id: str | None = Field(default=None, max_length=13, description="DVGW code number (Gas)")
    street: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""
    release_limit: Decimal | None = money(default=None, nullable=True)
    commercial_register: str = Field(default="", max_length=120, description="e.g. Amtsgericht Musterstadt HRB 4711")
    vat_id: str = Field(default="", max_length=20)
    creditor_id: str = Field(default="", max_length=35, description="SEPA Gläubiger-Identifikationsnummer")
    iban: str = Field(default="", max_length=34, description="the account customers pay to and debits go to")
    bic: str = Field(default="", max_length=11)
    reminder_fee: Decimal = money(default=Decimal("0.00"), description="Mahngebühr of dunning level 1")
    dunning_grace_days: int = Field(default=14, description="days after due before the first reminder")
    max_deferral_days: int = Field(default=90, description="a clerk may defer items by at most this many days")
    disconnect_basic_supply: bool = Field(
        default=False, description="dunning level 3 of basic-supply customers: disconnection (§19 StromGVV/GasGVV)"
    )
    invoice_quantity_tolerance: Decimal = Field(
        default=Decimal("1.0"),
        sa_type=Numeric(5, 2),
        description="grid invoices: a quantity this many percent off ours goes to a clerk; more is rejected",
    )
    webhook_url: str = Field(default="", max_length=500, description="receives client notifications (POST JSON)")
    notification_email: str = Field(default="", max_length=200, description="receives client notifications by e-mail")
    created_at: datetime = instant(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    role: str = text_code(20)
    key_hash: str = Field(max_length=64, description="sha256 of the key; the key itself is never stored")
    prefix: str = Field(max_length=16, description="first characters, to recognise a key in lists")
    label: str = ""
    created_at: datetime = instant(default_factory=utcnow)
    revoked_at: datetime | None = instant(default=None, nullable=True)
