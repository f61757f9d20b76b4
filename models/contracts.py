"""Market locations, meters, tariffs with dated prices, supply contracts and their budget-billing plans."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, money, price, quantity, text_code, utcnow


class Division(StrEnum):
    STROM = "strom"
    GAS = "gas"


class ContractState(StrEnum):
    ORDERED = "ordered"
    CANCELLING_PREVIOUS = "cancelling_previous"
    REGISTERING = "registering"
    CLEARING = "clearing"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    ENDED = "ended"


class MarketLocation(SQLModel, table=True):
    __tablename__ = "market_location"
    __table_args__ = (UniqueConstraint("tenant_id", "malo_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    malo_id: str = Field(max_length=11)
    division: str = text_code(10)
    grid_operator_id: str = Field(foreign_key="market_partner.id")
    street: str = ""
    house_number: str = ""
    postcode: str = ""
    city: str = ""
    created_at: datetime = instant(default_factory=utcnow)


class Meter(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "meter_number"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    location_id: int = Field(foreign_key="market_location.id", index=True)
    meter_number: str = Field(max_length=40)
    melo_id: str | None = Field(default=None, max_length=33)
    created_at: datetime = instant(default_factory=utcnow)


class Tariff(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    code: str = Field(max_length=40)
    name: str
    division: str = text_code(10)


class TariffPrice(SQLModel, table=True):
    """A price version, valid from its date until the next version of the same tariff."""

    __tablename__ = "tariff_price"
    __table_args__ = (UniqueConstraint("tariff_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    tariff_id: int = Field(foreign_key="tariff.id", index=True)
    valid_from: date
    working_price: Decimal = price(description="EUR per kWh, net")
    base_price_per_year: Decimal = price(description="EUR per year, net")
    demand_price_per_kw_year: Decimal | None = price(default=None, nullable=True, description="RLM: EUR per kW")
    concession_fee: Decimal | None = price(default=None, nullable=True, description="EUR per kWh, if shown")


class Contract(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "contract_number"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    contract_number: str = Field(max_length=40)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_id: int = Field(foreign_key="contract_account.id", index=True)
    location_id: int = Field(foreign_key="market_location.id", index=True)
    tariff_id: int = Field(foreign_key="tariff.id")
    mandate_id: int | None = Field(default=None, foreign_key="sepa_mandate.id")
    division: str = text_code(10)
    state: str = text_code(30, default=ContractState.ORDERED)
    transaction_reason: str = text_code(3, default="E03", description="E01 move-in, E03 supplier switch")
    wished_start: date
    supply_start: date | None = None
    supply_end: date | None = None
    billed_until: date | None = Field(default=None, description="end of the last billed period (exclusive)")
    billing_cycle_months: int = Field(default=12, description="12 for a yearly Turnusabrechnung, 1 for RLM")
    metering: str = text_code(10, default="slp", description="slp (register readings) or rlm (load profile)")
    notice_period_days: int = 28
    minimum_term_until: date | None = Field(default=None, description="earliest end of the contract (exclusive)")
    basic_supply: bool = Field(default=False, description="Grundversorgung (StromGVV/GasGVV)")
    annual_consumption_kwh: Decimal = quantity()
    previous_supplier_id: str | None = Field(default=None, foreign_key="market_partner.id")
    cancel_previous: bool = False
    previous_customer_number: str | None = None
    workflow_id: str | None = None
    created_at: datetime = instant(default_factory=utcnow)
    updated_at: datetime = instant(default_factory=utcnow)


class BudgetPlan(SQLModel, table=True):
    __tablename__ = "budget_plan"
    __table_args__ = (UniqueConstraint("business_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    business_key: str = Field(max_length=120)
    valid_from: date
    annual_net: Decimal = money()
    annual_vat: Decimal = money()
    annual_gross: Decimal = money()
    instalment: Decimal = money()
    ended_on: date | None = Field(default=None, description="replaced by a newer plan: no requests due from then")
    created_at: datetime = instant(default_factory=utcnow)


class BudgetInstalment(SQLModel, table=True):
    __tablename__ = "budget_instalment"
    __table_args__ = (UniqueConstraint("plan_id", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="budget_plan.id", index=True)
    due_date: date
    amount: Decimal = money()
    posting_document_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=True),
        description="the instalment request booked for it",
    )


class ContractTariff(SQLModel, table=True):
    """The contract's tariff from ``valid_from`` on (a product change); without rows the contract's own tariff."""

    __tablename__ = "contract_tariff"
    __table_args__ = (UniqueConstraint("contract_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    tariff_id: int = Field(foreign_key="tariff.id")
    valid_from: date
    changed_by: str = Field(default="", max_length=100)
    created_at: datetime = instant(default_factory=utcnow)


class PriceAdjustment(SQLModel, table=True):
    """A tariff's new prices from a day on, announced to every customer on it (the run keeps its progress)."""

    __tablename__ = "price_adjustment"
    __table_args__ = (UniqueConstraint("tariff_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    tariff_id: int = Field(foreign_key="tariff.id")
    valid_from: date
    reason: str = Field(default="", description="why the prices change, printed in the letter")
    announced_by: str = Field(default="", max_length=100)
    customers: int = Field(default=0, description="contracts on the tariff when the run started")
    notified: int = Field(default=0, description="letters sent so far")
    state: str = text_code(20, default="announced", description="announced, notifying, notified")
    workflow_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = instant(default_factory=utcnow)
