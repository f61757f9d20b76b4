"""The subledger (Nebenbuch): accounts, balanced posting documents, open items and their clearings.

Append-only: documents and lines are never updated or deleted (the database refuses it); a correction is a
reversal. Every document balances (debit = credit), checked in code and by a deferred constraint trigger.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import instant, money, quantity, text_code, utcnow


class AccountKind(StrEnum):
    DEBTOR = "debtor"
    CREDITOR = "creditor"
    GL = "gl"


class GlRole(StrEnum):
    """What a general-ledger account is for; the account assignment rules name accounts by role."""

    DEBTOR_CONTROL = "debtor_control"
    CREDITOR_CONTROL = "creditor_control"
    REVENUE = "revenue"
    VAT = "vat"
    ELECTRICITY_TAX = "electricity_tax"
    ENERGY_TAX = "energy_tax"
    BANK = "bank"
    CLEARING = "clearing"
    DOUBTFUL = "doubtful"
    WRITE_OFF = "write_off"
    GRID_USAGE = "grid_usage"
    MMM = "mmm"
    FEES = "fees"
    ACCRUAL = "accrual"
    INSTALMENTS = "instalments"
    TRANSIT = "transit"
    BANK_CHARGES = "bank_charges"


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "division", "number"),
        Index(
            "ux_ledger_account_role",
            "tenant_id",
            "division",
            "gl_role",
            unique=True,
            postgresql_where=text("gl_role IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    division: str = text_code(10)
    kind: str = text_code(10)
    number: str = Field(max_length=40, description="debtor: contract account; creditor: partner code; GL: number")
    name: str
    gl_role: str | None = text_code(30, default=None, nullable=True)
    contract_account_id: int | None = Field(default=None, foreign_key="contract_account.id")
    partner_id: str | None = Field(default=None, foreign_key="market_partner.id")
    created_at: datetime = instant(default_factory=utcnow)


class PostingDocument(SQLModel, table=True):
    __tablename__ = "posting_document"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    division: str = text_code(10)
    doc_type: str = text_code(30)
    posting_date: date = Field(description="the date the entry counts for (its period may be later, see period)")
    value_date: date
    period: str = Field(max_length=7, description="YYYY-MM the document is booked in (first open month)")
    idempotency_key: str = Field(max_length=200)
    origin: str = Field(default="", max_length=200, description="bill, payment, workflow id, ...")
    text: str = ""
    reversal_of_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=True, unique=True)
    )
    quantity_kwh: Decimal | None = quantity(
        default=None, nullable=True, description="energy billed or accrued, signed like the revenue; tax base"
    )
    created_at: datetime = instant(default_factory=utcnow)


class PostingLine(SQLModel, table=True):
    __tablename__ = "posting_line"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)", name="one_side"),
        Index("ix_posting_line_account_date", "account_id", "posting_date"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    document_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=False, index=True)
    )
    tenant_id: str = Field(foreign_key="tenant.id")
    account_id: int = Field(foreign_key="ledger_account.id")
    posting_date: date
    debit: Decimal = money(default=Decimal("0.00"))
    credit: Decimal = money(default=Decimal("0.00"))
    due_date: date | None = Field(default=None, description="set on debtor/creditor lines: an open item")
    control_account_id: int | None = Field(
        default=None,
        foreign_key="ledger_account.id",
        description="a debtor/creditor line's reconciliation account when not the division's default control "
        "account (a doubtful receivable)",
    )
    text: str = ""


class Clearing(SQLModel, table=True):
    """Part or all of an open item settled by another line (a payment, credit or reversal)."""

    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        Index("ix_clearing_item", "item_line_id"),
        Index("ix_clearing_by", "by_line_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id")
    item_line_id: int = Field(sa_column=Column(BigInteger, ForeignKey("posting_line.id"), nullable=False))
    by_line_id: int = Field(sa_column=Column(BigInteger, ForeignKey("posting_line.id"), nullable=False))
    amount: Decimal = money()
    cleared_on: date
    created_at: datetime = instant(default_factory=utcnow)


class ClosedPeriod(SQLModel, table=True):
    __tablename__ = "closed_period"
    __table_args__ = (UniqueConstraint("tenant_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    period: str = Field(max_length=7)
    closed_at: datetime = instant(default_factory=utcnow)
