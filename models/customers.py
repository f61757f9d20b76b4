"""Customers, their contract accounts and SEPA mandates."""

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, text_code, utcnow


class Customer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "customer_number"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    customer_number: str = Field(max_length=40)
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street: str = ""
    house_number: str = ""
    postcode: str = ""
    city: str = ""
    email: str = ""
    phone: str = ""
    billing_channel: str = text_code(
        10, default="", description="email or print; empty: e-mail when an address is known, else print"
    )
    address_unreliable_since: datetime | None = instant(
        default=None, nullable=True, description="set by returned mail: letters by post are held until cleared"
    )
    created_at: datetime = instant(default_factory=utcnow)

    @property
    def display_name(self) -> str:
        return self.company or f"{self.first_name} {self.last_name}".strip()


class ContractAccount(SQLModel, table=True):
    __tablename__ = "contract_account"
    __table_args__ = (UniqueConstraint("tenant_id", "account_number"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    account_number: str = Field(max_length=40)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    created_at: datetime = instant(default_factory=utcnow)


class SepaMandate(SQLModel, table=True):
    __tablename__ = "sepa_mandate"
    __table_args__ = (UniqueConstraint("tenant_id", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    account_id: int = Field(foreign_key="contract_account.id", index=True)
    reference: str = Field(max_length=35, description="mandate reference (max. 35 characters)")
    iban: str = Field(max_length=34)
    bic: str | None = Field(default=None, max_length=11)
    account_holder: str
    signed_on: date
    state: str = text_code(20, default="active", description="active, or stopped after returns (see reason)")
    first_collected_on: date | None = Field(default=None, description="set once: later debits are RCUR, not FRST")
    returns: int = Field(default=0, description="return debits so far; direct debit stops after the second")
    stopped_reason: str = Field(default="", max_length=200)
    created_at: datetime = instant(default_factory=utcnow)
