"""One timeline of a customer: contacts, letters, market messages, bills, bookings (payments) and clerk tasks.

The processes themselves (from Temporal's visibility) are added by the API; everything here is read from the
database, newest first.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, text
from sqlmodel import Session, col, select

from models.billing import Bill
from models.contacts import Contact
from models.contracts import Contract, MarketLocation
from models.documents import Document
from models.messages import MarketMessage
from models.tasks import Task
from services.delivery import LETTER_SUBJECTS

BOOKINGS_SQL = """
SELECT d.id, d.doc_type, d.text, d.posting_date, d.created_at, d.division,
       SUM(l.debit) - SUM(l.credit) AS amount
FROM posting_document d
JOIN posting_line l ON l.document_id = d.id
JOIN ledger_account a ON a.id = l.account_id
JOIN contract_account ca ON ca.tenant_id = a.tenant_id AND ca.account_number = a.number
WHERE ca.customer_id = :customer AND a.kind = 'debtor' AND d.doc_type <> 'bill'
GROUP BY d.id
ORDER BY d.created_at DESC
LIMIT :limit
"""


@dataclass
class Event:
    at: datetime
    kind: str
    """contact, letter, bill, message, booking, task, process"""
    title: str
    reference: str
    details: dict[str, Any] = field(default_factory=dict)


def customer_history(session: Session, customer_id: int, limit: int = 500) -> list[Event]:
    """Everything on the customer's file, newest first (at most ``limit`` entries of each kind)."""
    contracts = list(session.exec(select(Contract).where(Contract.customer_id == customer_id)))
    contract_ids = [c.id for c in contracts if c.id is not None]
    malos = list(
        session.exec(
            select(MarketLocation.malo_id).where(col(MarketLocation.id).in_([c.location_id for c in contracts]))
        )
    )
    events = [
        *_contacts(session, customer_id, limit),
        *_letters(session, customer_id, contract_ids, limit),
        *_bills(session, contract_ids, limit),
        *_messages(session, contracts[0].tenant_id if contracts else "", malos, limit),
        *_bookings(session, customer_id, limit),
        *_tasks(session, customer_id, contract_ids, limit),
    ]
    return sorted(events, key=lambda e: e.at, reverse=True)


def _contacts(session: Session, customer_id: int, limit: int) -> list[Event]:
    rows = session.exec(
        select(Contact).where(Contact.customer_id == customer_id).order_by(col(Contact.received_at).desc()).limit(limit)
    )
    return [
        Event(
            c.received_at,
            "contact",
            f"{c.channel} · {c.category}: {c.subject}".rstrip(": "),
            str(c.id),
            {"state": c.state, "complaint": c.complaint, "outcome": c.outcome, "workflow_id": c.workflow_id},
        )
        for c in rows
    ]


def _letters(session: Session, customer_id: int, contract_ids: list[int], limit: int) -> list[Event]:
    rows = session.exec(
        select(Document)
        .where(
            or_(col(Document.customer_id) == customer_id, col(Document.contract_id).in_(contract_ids)),
            Document.kind != "bill",
        )
        .order_by(col(Document.created_at).desc())
        .limit(limit)
    )
    return [
        Event(
            d.created_at,
            "letter",
            LETTER_SUBJECTS.get(d.kind, d.kind),
            str(d.id),
            {"kind": d.kind, "delivery": d.delivery, "delivered_at": d.delivered_at},
        )
        for d in rows
    ]


def _bills(session: Session, contract_ids: list[int], limit: int) -> list[Event]:
    rows = session.exec(
        select(Bill).where(col(Bill.contract_id).in_(contract_ids)).order_by(col(Bill.created_at).desc()).limit(limit)
    )
    return [
        Event(
            b.booked_at or b.created_at,
            "bill",
            f"{'Stornorechnung' if b.kind == 'cancellation' else 'Rechnung'} {b.number or '(draft)'}: "
            f"{b.gross} EUR, {b.period_start} – {b.period_end}",
            b.number or f"draft-{b.id}",
            {"state": b.state, "balance": b.balance, "hold_reasons": b.hold_reasons},
        )
        for b in rows
    ]


def _messages(session: Session, tenant_id: str, malos: list[str], limit: int) -> list[Event]:
    if not malos:
        return []
    rows = session.exec(
        select(MarketMessage)
        .where(MarketMessage.tenant_id == tenant_id, col(MarketMessage.malo_id).in_(malos))
        .order_by(col(MarketMessage.id).desc())
        .limit(limit)
    )
    return [
        Event(
            m.created_at,
            "message",
            f"{'from' if m.direction == 'in' else 'to'} {m.sender if m.direction == 'in' else m.receiver}: "
            f"{m.message_type} {m.pruefidentifikator or ''}".rstrip(),
            str(m.id),
            {"state": m.state, "direction": m.direction, "malo_id": m.malo_id, "workflow_id": m.workflow_id},
        )
        for m in rows
    ]


def _bookings(session: Session, customer_id: int, limit: int) -> list[Event]:
    rows = session.execute(text(BOOKINGS_SQL), {"customer": customer_id, "limit": limit})
    return [
        Event(
            r.created_at,
            "booking",
            f"{r.doc_type}: {r.text}".rstrip(": "),
            str(r.id),
            {"amount": Decimal(r.amount), "posting_date": r.posting_date, "division": r.division},
        )
        for r in rows
    ]


def _tasks(session: Session, customer_id: int, contract_ids: list[int], limit: int) -> list[Event]:
    rows = session.exec(
        select(Task)
        .where(or_(col(Task.customer_id) == customer_id, col(Task.contract_id).in_(contract_ids)))
        .order_by(col(Task.created_at).desc())
        .limit(limit)
    )
    events = []
    for t in rows:
        details = {"queue": t.queue, "state": t.state, "workflow_id": t.workflow_id, "assigned_to": t.assigned_to}
        events.append(Event(t.created_at, "task", t.title, str(t.id), details))
        if t.decided_at is not None:
            decided = {"decision": t.decision, "by": t.decided_by, "workflow_id": t.workflow_id}
            events.append(Event(t.decided_at, "task", f"decided: {t.decision} — {t.title}", str(t.id), decided))
    return events
