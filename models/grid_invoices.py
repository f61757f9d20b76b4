"""Invoices of grid operators (Netznutzung, Mehr-/Mindermengen) and their price sheets."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import instant, money, price, text_code, utcnow


class PriceSheet(SQLModel, table=True):
    """One price of a grid operator's Preisblatt for an article id, valid from a day until the next version."""

    __tablename__ = "price_sheet"
    __table_args__ = (UniqueConstraint("tenant_id", "partner_id", "article_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    partner_id: str = Field(foreign_key="market_partner.id", description="the grid operator (NAD+MS)")
    article_id: str = Field(max_length=35, description="Artikel-ID, e.g. 1-01-7-001, or BDEW article number")
    valid_from: date
    unit_price: Decimal = price()
    price_unit: str = text_code(5, default="", description="time basis of the price: DAY, MON, ANN; empty per unit")
    description: str = ""
    created_at: datetime = instant(default_factory=utcnow)


class InvoiceState:
    RECEIVED = "received"
    CLEARING = "clearing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    CANCELLED = "cancelled"
    """An accepted invoice its grid operator cancelled (Storno); its booking is reversed."""


class GridInvoice(SQLModel, table=True):
    """An INVOIC from a grid operator, its check result, answer (REMADV), booking and payment."""

    __tablename__ = "grid_invoice"
    __table_args__ = (UniqueConstraint("message_id", "invoice_number"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    message_id: int = Field(foreign_key="market_message.id", description="the inbound interchange")
    partner_id: str = Field(max_length=35, description="the sender (NAD+MS)")
    invoice_number: str = Field(max_length=70, index=True)
    pruefidentifikator: str = text_code(5)
    category: str = text_code(5, description="BGM: 380 invoice, 457 Storno, 389/Z25 self-billed")
    invoice_type: str = text_code(5, default="", description="IMD: JVR, MVR, ABR, ABS, MMM, ...")
    division: str = text_code(10)
    malo_id: str | None = Field(default=None, max_length=11, index=True)
    invoice_date: date
    received_on: date
    period_start: date | None = None
    period_end: date | None = Field(default=None, description="exclusive")
    due_date: date | None = None
    total: Decimal | None = money(default=None, nullable=True)
    due_amount: Decimal | None = money(default=None, nullable=True)
    vat: Decimal | None = money(default=None, nullable=True)
    cancels: str | None = Field(default=None, max_length=70, description="Storno: the cancelled invoice's number")
    state: str = text_code(20, default=InvoiceState.RECEIVED, index=True)
    answer_pid: str = text_code(5, default="", description="REMADV sent: 33001 accepted, 33002-33004 rejected")
    rejection_code: str = text_code(5, default="")
    rejection_list: str = text_code(10, default="", description="the decision tree, e.g. E_0406")
    rejection_text: str = ""
    rejected_position: str | None = Field(default=None, max_length=10, description="33004: the position rejected")
    content: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="the INVOIC as read")
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="check notes, MMM differences")
    workflow_id: str | None = Field(default=None, max_length=200)
    posting_document_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("posting_document.id"), nullable=True)
    )
    payment_key: str | None = Field(default=None, max_length=120, description="the transfer run that paid it")
    paid_on: date | None = None
    decided_by: str = Field(default="", max_length=100)
    created_at: datetime = instant(default_factory=utcnow)
