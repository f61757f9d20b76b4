"""Handing a rendered bill to the customer's channel: an e-mail file in the outbox, or the print batch.

The mail server and the print shop pick the files up from ``var_dir/customer-outbox`` (``email/`` and
``print/YYYY-MM-DD/``). A file is written under its final name only when complete (write, then rename), and a
bill is delivered once: ``delivered_at`` is set in the same transaction that wrote the file's name down. Prints to
an address known to be wrong (returned mail) are held until the address is cleared.
"""

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlmodel import Session, col, select

from models.billing import Bill
from models.contracts import Contract
from models.customers import Customer
from models.documents import Document
from models.tenancy import Tenant
from services.bill_document import render_bill

LETTER_SUBJECTS = {
    "bill": "Ihre Rechnung",
    "bill_correction": "Korrektur Ihrer Rechnung",
    "welcome_letter": "Ihre Vertragsbestätigung",
    "order_cancelled": "Ihr Auftrag",
    "cancellation_confirmation": "Ihre Kündigungsbestätigung",
    "supply_end_letter": "Das Ende Ihrer Belieferung",
    "payment_reminder": "Zahlungserinnerung",
    "dunning_termination": "Kündigung Ihres Vertrags",
    "disconnection_threat": "Androhung der Versorgungsunterbrechung",
    "disconnection_notice": "Ankündigung der Versorgungsunterbrechung",
    "callback_missed": "Wir haben Sie nicht erreicht",
}


def deliver_bill(session: Session, bill_id: int, outbox: Path) -> Path | None:
    """Render (if not yet) and hand a booked bill to delivery once; returns the file written, None if it was
    handed over before or is held (address unreliable, see the document's ``delivery``)."""
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


def deliver_letter(session: Session, document: Document, outbox: Path) -> Path | None:
    """Deliver an archived letter once (a repeated call does nothing); None when held or sent before."""
    if document.delivery != "archived":
        return None
    subject = LETTER_SUBJECTS.get(document.kind, "Ein Schreiben")
    return deliver_document(session, document, outbox, f"{document.tenant_id}-{document.kind}-{document.id}", subject)


def deliver_document(session: Session, document: Document, outbox: Path, name: str, subject: str) -> Path | None:
    """Write an archived customer document to the customer's channel (rewriting the same file is harmless).

    E-mail customers (by their billing channel, or by having an address) get an e-mail; the others a print.
    A print to an address that came back as undeliverable is held (``delivery = "held"``) until the address is
    cleared (`release_held`)."""
    customer = _customer(session, document)
    tenant = session.get(Tenant, document.tenant_id)
    assert tenant is not None
    now = datetime.now(UTC)
    by_email = customer.billing_channel == "email" or (customer.billing_channel == "" and bool(customer.email))
    if by_email and customer.email:
        path = write_file(outbox / "email" / f"{name}.eml", _email(tenant, customer, document, name, subject))
        document.delivery = "email"
    elif customer.address_unreliable_since is not None:
        document.delivery, path = "held", None
    else:
        path = write_file(outbox / "print" / f"{now:%Y-%m-%d}" / f"{name}.pdf", document.content)
        document.delivery = "print"
    document.delivered_at = None if path is None else now
    session.add(document)
    session.flush()
    return path


def release_held(session: Session, customer_id: int, outbox: Path) -> list[Path]:
    """Deliver the customer's held letters (after the address was cleared), oldest first."""
    held = session.exec(
        select(Document)
        .where(Document.customer_id == customer_id, Document.delivery == "held")
        .order_by(col(Document.id))
        .with_for_update()
    ).all()
    paths = []
    for document in held:
        subject = LETTER_SUBJECTS.get(document.kind, "Ein Schreiben")
        path = deliver_document(
            session, document, outbox, f"{document.tenant_id}-{document.kind}-{document.id}", subject
        )
        if path is not None:
            paths.append(path)
    return paths


def _customer(session: Session, document: Document) -> Customer:
    customer_id = document.customer_id
    if customer_id is None:
        contract = session.get(Contract, document.contract_id)
        assert contract is not None
        customer_id = contract.customer_id
    customer = session.get(Customer, customer_id)
    assert customer is not None
    return customer


def _email(tenant: Tenant, customer: Customer, document: Document, name: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = tenant.email or f"rechnung@{tenant.id}.invalid"
    message["To"] = customer.email
    message["Subject"] = f"{subject} von {tenant.name}"
    message.set_content(
        f"Guten Tag {customer.display_name},\n\nim Anhang finden Sie: {subject}.\n\n"
        f"Mit freundlichen Grüßen\n{tenant.name}\n"
    )
    message.add_attachment(document.content, maintype="application", subtype="pdf", filename=f"{name}.pdf")
    return message.as_bytes()


def write_file(path: Path, content: bytes) -> Path:
    """Write under the final name only when complete (write, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)
    return path
