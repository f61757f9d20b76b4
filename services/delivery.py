"""Handing a rendered bill to the customer's channel: an e-mail file in the outbox, or the print batch.

The mail server and the print shop pick the files up from ``var_dir/customer-outbox`` (``email/`` and
``print/YYYY-MM-DD/``). A file is written under its final name only when complete (write, then rename), and a
bill is delivered once: ``delivered_at`` is set in the same transaction that wrote the file's name down.
"""

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlmodel import Session

from models.billing import Bill
from models.contracts import Contract
from models.customers import Customer
from models.documents import Document
from models.tenancy import Tenant
from services.bill_document import render_bill


def deliver_bill(session: Session, bill_id: int, outbox: Path) -> Path | None:
    """Render (if not yet) and deliver a booked bill; returns the file written, None if already delivered."""
    bill = session.get(Bill, bill_id, with_for_update=True)
    if bill is None:
        raise ValueError(f"bill {bill_id} does not exist")
    if bill.delivered_at is not None:
        return None
    document = session.get(Document, render_bill(session, bill_id))
    assert document is not None
    title = "Stornorechnung" if bill.kind == "cancellation" else "Rechnung"
    path = deliver_document(session, document, outbox, f"{bill.tenant_id}-{bill.number}", f"Ihre {title} {bill.number}")
    bill.delivered_at = datetime.now(UTC)
    session.add(bill)
    session.flush()
    return path


def deliver_document(session: Session, document: Document, outbox: Path, name: str, subject: str) -> Path:
    """Write an archived customer document to the customer's channel (rewriting the same file is harmless)."""
    contract = session.get(Contract, document.contract_id)
    assert contract is not None
    customer = session.get(Customer, contract.customer_id)
    tenant = session.get(Tenant, document.tenant_id)
    assert customer is not None and tenant is not None
    if not customer.email:
        return _write(outbox / "print" / f"{datetime.now(UTC):%Y-%m-%d}" / f"{name}.pdf", document.content)
    message = EmailMessage()
    message["From"] = tenant.email or f"rechnung@{tenant.id}.invalid"
    message["To"] = customer.email
    message["Subject"] = f"{subject} von {tenant.name}"
    message.set_content(
        f"Guten Tag {customer.display_name},\n\nim Anhang finden Sie: {subject}.\n\n"
        f"Mit freundlichen Grüßen\n{tenant.name}\n"
    )
    message.add_attachment(document.content, maintype="application", subtype="pdf", filename=f"{name}.pdf")
    return _write(outbox / "email" / f"{name}.eml", message.as_bytes())


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)
    return path
