"""Direct-debit runs: the due open items of customers with a valid mandate, collected in one pain.008.

Per debtor account one collection of everything due by the collection date that is not on hold (disputed,
deferred). The collection is booked as payment in transit (Geldtransit) and clears the items at once; the bank
statement later books transit to bank, or a return reopens the amount (services.bank_transactions). A run is
idempotent per key: a repeated run returns the one made first.
"""

import hashlib
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from models.base import utcnow
from models.customers import SepaMandate
from models.documents import Document
from models.payments import DirectDebit, PaymentRun
from models.tenancy import Tenant
from rules.kontierung import assign
from services.chart import ensure_chart
from services.ledger import Line, PostingRequest, post_many
from services.sepa import Collection, Creditor, direct_debit_file

COLLECTABLE_SQL = """
SELECT l.id AS line_id, l.account_id, a.division, a.number AS account_number, m.id AS mandate_id,
       abs(l.debit - l.credit) - coalesce(
           (SELECT sum(c.amount) FROM clearing c WHERE c.item_line_id = l.id OR c.by_line_id = l.id), 0
       ) AS open_amount
FROM posting_line l
JOIN ledger_account a ON a.id = l.account_id AND a.kind = 'debtor'
JOIN contract_account ca ON ca.tenant_id = a.tenant_id AND ca.account_number = a.number
JOIN LATERAL (
    SELECT id FROM sepa_mandate sm
    WHERE sm.account_id = ca.id AND sm.state = 'active' AND sm.signed_on <= :collection_date
    ORDER BY sm.signed_on DESC, sm.id DESC LIMIT 1
) m ON true
WHERE l.tenant_id = :tenant AND l.debit > 0 AND l.due_date IS NOT NULL AND l.due_date <= :collection_date
  AND NOT EXISTS (
      SELECT 1 FROM item_hold h WHERE h.line_id = l.id AND h.released_at IS NULL
        AND (h.kind = 'dispute' OR h.due_date > :collection_date)
  )
ORDER BY l.account_id, l.due_date, l.id
FOR UPDATE OF l
"""
"""Open debit items due by the collection date of accounts with an active mandate, not disputed or deferred.
Locked: a payment allocated at the same time waits and never clears what this run collects."""


class RunResult(BaseModel):
    run_id: int
    debits: int
    total: Decimal
    document_id: int | None
    created: bool


def collect(session: Session, tenant_id: str, collection_date: date, run_key: str) -> RunResult:
    """Make the run for ``collection_date`` once per ``run_key``: debits, postings, clearings, the pain.008."""
    existing = session.exec(
        select(PaymentRun).where(PaymentRun.tenant_id == tenant_id, PaymentRun.run_key == run_key)
    ).first()
    if existing is not None:
        assert existing.id is not None
        return RunResult(
            run_id=existing.id,
            debits=existing.debits,
            total=existing.total,
            document_id=existing.document_id,
            created=False,
        )
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise ValueError(f"unknown tenant {tenant_id}")
    items = [
        row
        for row in session.execute(text(COLLECTABLE_SQL), {"tenant": tenant_id, "collection_date": collection_date})
        if row.open_amount > 0
    ]
    by_account: dict[int, list[Row[Any]]] = {}
    for row in items:
        by_account.setdefault(row.account_id, []).append(row)
    run = PaymentRun(
        tenant_id=tenant_id, run_key=run_key, collection_date=collection_date, message_id=_reference("MSG")
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    debits, requests, collections = [], [], []
    charts = {division: ensure_chart(session, tenant_id, division) for division in {row.division for row in items}}
    for account_id, rows in by_account.items():
        first = rows[0]
        amount = sum((Decimal(r.open_amount) for r in rows), Decimal("0.00"))
        mandate = session.get(SepaMandate, first.mandate_id)
        assert mandate is not None
        sequence = "RCUR" if mandate.first_collected_on else "FRST"
        debit = DirectDebit(
            tenant_id=tenant_id,
            run_id=run.id,
            account_id=account_id,
            mandate_id=mandate.id or 0,
            end_to_end_id=_reference("DD"),
            amount=amount,
            sequence=sequence,
        )
        debits.append((debit, rows, mandate))
        gl = charts[first.division]
        legs = assign("direct_debit", first.division, {"amount": amount})
        requests.append(
            PostingRequest(
                tenant_id=tenant_id,
                division=first.division,
                doc_type="direct_debit",
                posting_date=collection_date,
                idempotency_key=f"direct-debit:{debit.end_to_end_id}",
                origin=f"payment-run:{run.id}",
                text=f"Lastschrift {collection_date:%d.%m.%Y}",
                lines=[
                    Line(
                        account_id=account_id if leg.account == "debtor" else gl[leg.account], **{leg.side: leg.amount}
                    )
                    for leg in legs
                ],
            )
        )
        collections.append(
            Collection(
                end_to_end_id=debit.end_to_end_id,
                amount=amount,
                mandate_reference=mandate.reference,
                mandate_signed_on=mandate.signed_on,
                debtor_name=mandate.account_holder,
                debtor_iban=mandate.iban,
                debtor_bic=mandate.bic,
                sequence=sequence,
                remittance=f"{tenant.name} Vertragskonto {first.account_number}",
            )
        )
    if not debits:
        return RunResult(run_id=run.id, debits=0, total=Decimal("0.00"), document_id=None, created=True)
    documents = post_many(session, requests)
    for (debit, rows, mandate), document_id in zip(debits, documents, strict=True):
        debit.posting_document_id = document_id
        session.add(debit)
        if mandate.first_collected_on is None:
            mandate.first_collected_on = collection_date
            session.add(mandate)
        _clear(session, document_id, debit.account_id, rows, collection_date)
    creditor = Creditor(name=tenant.name, iban=tenant.iban, bic=tenant.bic or None, creditor_id=tenant.creditor_id)
    xml = direct_debit_file(creditor, collections, collection_date, run.message_id)
    run.debits, run.total = len(debits), sum((d.amount for d, _, _ in debits), Decimal("0.00"))
    run.document_id = _archive(session, tenant_id, run, xml)
    session.add(run)
    session.flush()
    return RunResult(run_id=run.id, debits=run.debits, total=run.total, document_id=run.document_id, created=True)


def _clear(session: Session, document_id: int, account_id: int, rows: list[Row[Any]], on: date) -> None:
    """The collection's credit line settles the items it collects, each fully."""
    credit = session.execute(
        text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
        {"d": document_id, "a": account_id},
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO clearing (tenant_id, item_line_id, by_line_id, amount, cleared_on, created_at)"
            " SELECT tenant_id, :item, :by, :amount, :on, now() FROM posting_line WHERE id = :item"
        ),
        [{"item": r.line_id, "by": credit, "amount": r.open_amount, "on": on} for r in rows],
    )


def _archive(session: Session, tenant_id: str, run: PaymentRun, xml: bytes) -> int:
    key = f"pain.008:{tenant_id}:{run.run_key}"
    session.execute(
        insert(Document)
        .values(
            tenant_id=tenant_id,
            business_key=key,
            kind="pain.008",
            media_type="application/xml",
            content=xml,
            sha256=hashlib.sha256(xml).hexdigest(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["business_key"])
    )
    document_id = session.exec(select(Document.id).where(Document.business_key == key)).one()
    assert document_id is not None
    return document_id


def _reference(prefix: str) -> str:
    """A SEPA-safe reference (letters and digits, at most 35 characters)."""
    return f"{prefix}{uuid.uuid4().hex.upper()}"[:35]
