"""Payments: direct-debit runs and their debits, bank statements and their entries, holds on open items.

The money itself is booked in the subledger (models/ledger.py); these tables say what was collected, what the
bank reported, and which open items must not be collected or dunned (disputed, deferred, in a plan).
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, money, text_code, utcnow


class DebitState(StrEnum):
    SUBMITTED = "submitted"
    """In the pain.008 handed to the bank; booked as payment in transit."""
    COLLECTED = "collected"
    """The bank statement shows the collection."""
    RETURNED = "returned"


class PaymentRun(SQLModel, table=True):
    """One direct-debit submission of a tenant: the pain.008 file for a collection date."""

    __tablename__ = "payment_run"
    __table_args__ = (UniqueConstraint("tenant_id", "run_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    run_key: str = Field(max_length=100, description="idempotency: one run per tenant and key (e.g. the day)")
    collection_date: date
    message_id: str = Field(max_length=35)
    debits: int = 0
    total: Decimal = money(default=Decimal("0.00"))
    document_id: int | None = Field(default=None, foreign_key="document.id", description="the pain.008 file")
    created_at: datetime = instant(default_factory=utcnow)


class DirectDebit(SQLModel, table=True):
    """One collection from one debtor in a run; its end-to-end id comes back on the statement and on a return."""

    __tablename__ = "direct_debit"
    __table_args__ = (UniqueConstraint("end_to_end_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    run_id: int = Field(foreign_key="payment_run.id", index=True)
    account_id: int = Field(foreign_key="ledger_account.id", index=True, description="the debtor account")
    mandate_id: int = Field(foreign_key="sepa_mandate.id", index=True)
    end_to_end_id: str = Field(max_length=35)
    amount: Decimal = money()
    sequence: str = text_code(4)
    state: str = text_code(20, default=DebitState.SUBMITTED)
    posting_document_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=True)
    )
    return_reason: str | None = text_code(4, default=None, nullable=True)
    retry_of_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("direct_debit.id"), nullable=True),
        description="a second attempt after a return for lack of funds (AM04/MS03)",
    )
    created_at: datetime = instant(default_factory=utcnow)


class BankStatement(SQLModel, table=True):
    """An imported camt.053/054 file, kept as received (a broken one stays for clearing)."""

    __tablename__ = "bank_statement"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    filename: str = Field(default="", max_length=200)
    raw: bytes = Field(sa_type=LargeBinary)
    sha256: str = Field(max_length=64)
    state: str = text_code(20, default="received")
    error: str | None = None
    entries: int = 0
    created_at: datetime = instant(default_factory=utcnow)


class BankTransaction(SQLModel, table=True):
    """One transaction of a statement and what became of it: matched, a debit's collection or return, or clearing."""

    __tablename__ = "bank_transaction"
    __table_args__ = (UniqueConstraint("tenant_id", "bank_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    statement_id: int = Field(foreign_key="bank_statement.id", index=True)
    bank_key: str = Field(max_length=200, description="the bank's reference and the transaction's place: one booking")
    booking_date: date
    value_date: date
    amount: Decimal = money()
    credit: bool
    end_to_end_id: str | None = Field(default=None, max_length=35)
    mandate_id: str | None = Field(default=None, max_length=35)
    remittance: str = Field(default="", max_length=500)
    counterparty_name: str = Field(default="", max_length=140)
    counterparty_iban: str | None = Field(default=None, max_length=34)
    return_reason: str | None = text_code(4, default=None, nullable=True)
    charges: Decimal | None = money(default=None, nullable=True)
    outcome: str = text_code(20, default="new", description="matched, collected, returned, unassigned, ignored")
    account_id: int | None = Field(default=None, foreign_key="ledger_account.id")
    posting_document_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=True)
    )
    note: str = Field(default="", max_length=500)
    created_at: datetime = instant(default_factory=utcnow)


class HoldKind(StrEnum):
    DISPUTE = "dispute"
    """The customer objects (Widerspruch): no collection, no dunning until a clerk decides."""
    DEFERRAL = "deferral"
    """Stundung: due later."""


class ItemHold(SQLModel, table=True):
    """An open item that must not be collected or dunned for now: disputed, or deferred to a new due date."""

    __tablename__ = "item_hold"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(foreign_key="tenant.id")
    line_id: int = Field(sa_column=Column(BigInteger, ForeignKey("posting_line.id"), nullable=False, index=True))
    kind: str = text_code(20)
    due_date: date | None = Field(default=None, description="deferral: the new due date")
    until: date | None = Field(default=None, description="the hold ends (None: until released)")
    reason: str = Field(default="", max_length=300)
    created_by: str = Field(default="", max_length=100)
    released_at: datetime | None = instant(default=None, nullable=True)
    created_at: datetime = instant(default_factory=utcnow)
