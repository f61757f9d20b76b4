"""Contacts: recognise the customer, classify, store once with attachments; e-mails read from RFC 822 files."""

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.base import utcnow
from models.contact_input import AttachmentIn, ContactIn, CustomerHints, Sender
from models.contacts import Contact, ContactAttachment, ServiceLevel
from models.contracts import Contract, MarketLocation
from models.customers import ContractAccount, Customer, SepaMandate
from rules import contacts as rules
from rules.contacts import Category, Channel, ComplaintKind, Level

CURRENT_STATES = ("active", "ending", "registered", "confirmed", "ordered")


@dataclass(frozen=True)
class Identified:
    customer: Customer
    contract: Contract | None
    by: str


def identify(session: Session, tenant_id: str, hints: CustomerHints, sender: Sender) -> Identified | None:
    """The customer a contact is from: customer number, contract account, MaLo, IBAN, e-mail address, then name
    and postcode. A hint that matches several customers does not identify anyone."""
    found = (
        _by_customer_number(session, tenant_id, hints.customer_number)
        or _by_account(session, tenant_id, hints.account_number)
        or _by_malo(session, tenant_id, hints.malo_id)
        or _by_iban(session, tenant_id, hints.iban)
        or _by_email(session, tenant_id, sender.email)
        or _by_name_and_postcode(session, tenant_id, sender)
    )
    if found is None:
        return None
    customer, contract, by = found
    return Identified(customer, contract or current_contract(session, customer), by)


def current_contract(session: Session, customer: Customer) -> Contract | None:
    """The customer's contract in supply (or about to be), else the latest one."""
    contracts = session.exec(
        select(Contract).where(Contract.customer_id == customer.id).order_by(col(Contract.id).desc())
    ).all()
    return next((c for c in contracts if c.state in CURRENT_STATES), contracts[0] if contracts else None)


Found = tuple[Customer, Contract | None, str] | None


def _unique(rows: list[Customer], by: str) -> Found:
    return (rows[0], None, by) if len(rows) == 1 else None


def _by_customer_number(session: Session, tenant_id: str, number: str | None) -> Found:
    if not number:
        return None
    rows = session.exec(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.customer_number == number)
    ).all()
    return _unique(list(rows), "customer_number")


def _by_account(session: Session, tenant_id: str, number: str | None) -> Found:
    if not number:
        return None
    rows = session.exec(
        select(Customer)
        .join(ContractAccount, col(ContractAccount.customer_id) == col(Customer.id))
        .where(ContractAccount.tenant_id == tenant_id, ContractAccount.account_number == number)
    ).all()
    return _unique(list(rows), "account_number")


def _by_malo(session: Session, tenant_id: str, malo_id: str | None) -> Found:
    if not malo_id:
        return None
    contracts = session.exec(
        select(Contract)
        .join(MarketLocation, col(MarketLocation.id) == col(Contract.location_id))
        .where(Contract.tenant_id == tenant_id, MarketLocation.malo_id == malo_id)
        .order_by(col(Contract.id).desc())
    ).all()
    if not contracts:
        return None
    contract = next((c for c in contracts if c.state in CURRENT_STATES), contracts[0])
    customer = session.get(Customer, contract.customer_id)
    assert customer is not None
    return customer, contract, "malo_id"


def _by_iban(session: Session, tenant_id: str, iban: str | None) -> Found:
    if not iban:
        return None
    rows = session.exec(
        select(Customer)
        .distinct()
        .join(ContractAccount, col(ContractAccount.customer_id) == col(Customer.id))
        .join(SepaMandate, col(SepaMandate.account_id) == col(ContractAccount.id))
        .where(SepaMandate.tenant_id == tenant_id, SepaMandate.iban == iban)
    ).all()
    return _unique(list(rows), "iban")


def _by_email(session: Session, tenant_id: str, email: str) -> Found:
    if "@" not in email:
        return None
    rows = session.exec(
        select(Customer).where(Customer.tenant_id == tenant_id, func.lower(Customer.email) == email.strip().lower())
    ).all()
    return _unique(list(rows), "email")


def _by_name_and_postcode(session: Session, tenant_id: str, sender: Sender) -> Found:
    """Last name (or company) and a postcode both written in the sender's name and address."""
    words = {w.strip(",.").lower() for w in f"{sender.name} {sender.address}".split()}
    postcodes = {w for w in words if len(w) == 5 and w.isdigit()}
    if not postcodes or not sender.name:
        return None
    rows = session.exec(
        select(Customer).where(Customer.tenant_id == tenant_id, col(Customer.postcode).in_(postcodes))
    ).all()
    matches = [c for c in rows if (c.last_name or c.company) and _name_in(c, sender.name.lower())]
    return _unique(matches, "name_address")


def _name_in(customer: Customer, name: str) -> bool:
    return all(part.lower() in name for part in (customer.company or customer.last_name).split())


def service_level(session: Session, tenant_id: str, topic: str) -> Level:
    """The tenant's own level for the topic, or the default."""
    own = session.exec(
        select(ServiceLevel).where(ServiceLevel.tenant_id == tenant_id, ServiceLevel.topic == topic)
    ).first()
    if own is not None:
        return Level(own.working_days, own.priority)
    return rules.DEFAULT_LEVELS.get(topic, rules.DEFAULT_LEVELS[Channel.LETTER])


def record(session: Session, tenant_id: str, contact: ContactIn) -> tuple[Contact, bool]:
    """Store the contact once (by its reference); returns it and whether it is new. Commits."""
    reference = contact.reference or f"contact:{uuid.uuid4()}"
    existing = _stored(session, tenant_id, reference)
    if existing is not None:
        return existing, False
    received_at = contact.received_at or utcnow()
    content = f"{contact.subject}\n{contact.text}"
    hints = contact.customer
    if not any(hints.model_dump().values()):
        hints = CustomerHints.model_validate(rules.extract_hints(content))
    identified = identify(session, tenant_id, hints, contact.sender)
    complaint = contact.complaint
    if complaint is None:
        complaint = rules.complaint_kind(
            contact.subject, contact.text, f"{contact.sender.name} {contact.sender.address}"
        )
    category = contact.category or (Category.COMPLAINT if complaint else rules.classify(contact.subject, contact.text))
    if category == Category.COMPLAINT and complaint == ComplaintKind.NONE:
        complaint = ComplaintKind.CUSTOMER
    answer_by = contact.answer_by
    if complaint and answer_by is None:
        answer_by = rules.complaint_answer_by(received_at)
    values = {
        "tenant_id": tenant_id,
        "reference": reference,
        "channel": contact.channel,
        "received_at": received_at,
        "customer_id": identified.customer.id if identified else None,
        "contract_id": identified.contract.id if identified and identified.contract else None,
        "identified_by": identified.by if identified else "",
        "sender_name": contact.sender.name,
        "sender_address": contact.sender.address,
        "sender_email": contact.sender.email,
        "sender_phone": contact.sender.phone,
        "subject": contact.subject,
        "text": contact.text,
        "category": category,
        "complaint": complaint,
        "settled": contact.settled,
        "answer_by": answer_by,
        "request": contact.request.model_dump(mode="json") if contact.request else {},
        "created_at": utcnow(),
    }
    inserted = session.execute(
        insert(Contact)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "reference"])
        .returning(col(Contact.id))
    ).scalar()
    if inserted is not None:
        for attachment in contact.attachments:
            session.add(_attachment(inserted, attachment))
    session.commit()
    stored = _stored(session, tenant_id, reference)
    assert stored is not None
    return stored, inserted is not None


def _stored(session: Session, tenant_id: str, reference: str) -> Contact | None:
    return session.exec(select(Contact).where(Contact.tenant_id == tenant_id, Contact.reference == reference)).first()


def _attachment(contact_id: int, attachment: AttachmentIn) -> ContactAttachment:
    return ContactAttachment(
        contact_id=contact_id,
        filename=attachment.filename,
        media_type=attachment.media_type,
        content=attachment.content,
        sha256=hashlib.sha256(attachment.content).hexdigest(),
    )


def workflow_id(tenant_id: str, contact_id: int) -> str:
    return f"contact/{tenant_id}/{contact_id}"


class NotAnEmail(ValueError):
    """The file is no RFC 822 message we can take (no sender, nothing to read)."""


def from_email(raw: bytes) -> ContactIn:
    """A contact from an e-mail file: sender, subject, date, Message-ID as reference, text and attachments."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(str(message.get("From", "")))
    if "@" not in address:
        raise NotAnEmail("the message has no sender address (From)")
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    if body is not None and body.get_content_subtype() == "html":
        text = _strip_html(text)
    attachments = [
        AttachmentIn(
            filename=(part.get_filename() or "attachment")[:200],
            media_type=part.get_content_type(),
            content=_b64(part.get_content() if part.get_content_maintype() != "text" else part.get_content().encode()),
        )
        for part in message.iter_attachments()
    ]
    subject = " ".join(str(message.get("Subject", "")).split())[:200]
    if not (subject or text.strip() or attachments):
        raise NotAnEmail("the message has neither subject, text nor attachment")
    message_id = str(message.get("Message-ID", "")).strip()
    return ContactIn(
        channel=Channel.EMAIL,
        reference=f"email:{message_id}" if message_id else f"email-sha256:{hashlib.sha256(raw).hexdigest()}",
        received_at=_date(message.get("Date")),
        sender=Sender(name=name[:200], email=address[:200]),
        subject=subject,
        text=text.strip()[:100_000],
        attachments=attachments,
    )


def _b64(content: object) -> bytes:
    """AttachmentIn takes base64 (as the API does); an attached message is kept as its bytes."""
    if isinstance(content, EmailMessage):
        content = content.as_bytes()
    if not isinstance(content, bytes):
        raise NotAnEmail(f"an attachment cannot be read ({type(content).__name__})")
    return base64.b64encode(content)


def _date(header: object) -> datetime | None:
    if not header:
        return None
    try:
        parsed = parsedate_to_datetime(str(header))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _strip_html(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())
