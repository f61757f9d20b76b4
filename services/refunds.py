"""Paying out credit balances (pain.001): a customer who has overpaid, with nothing open, gets the credit back.

Only accounts whose balance is a credit and that owe nothing are paid out, to the IBAN of their newest mandate
(§40c (3) EnWG: a credit is paid out within two weeks). The payout is booked (debtor to bank) and settles the
credit items; the run is idempotent per key and archives its pain.001.
"""

import hashlib
import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from models.base import utcnow
from models.documents import Document
from models.tenancy import Tenant
from services.chart import book
from services.ledger import net_open_items
from services.sepa import Debtor, Transfer, credit_transfer_file

CREDITS_SQL = """
SELECT a.id AS account_id, a.division, a.number, m.iban, m.account_holder,
       sum(l.credit - l.debit) AS credit
FROM ledger_account a
JOIN posting_line l ON l.account_id = a.id
JOIN contract_account ca ON ca.tenant_id = a.tenant_id AND ca.account_number = a.number
JOIN LATERAL (
    SELECT iban, account_holder FROM sepa_mandate sm WHERE sm.account_id = ca.id ORDER BY sm.signed_on DESC LIMIT 1
) m ON true
WHERE a.tenant_id = :tenant AND a.kind = 'debtor'
GROUP BY a.id, a.division, a.number, m.iban, m.account_holder
HAVING sum(l.credit - l.debit) > 0
ORDER BY a.id
"""


class RefundRun(BaseModel):
    refunds: int
    total: Decimal
    document_id: int | None


def pay_out_credits(session: Session, tenant_id: str, on: date, key: str) -> RefundRun:
    """Refund every credit balance once per ``key``; returns what was paid out."""
    business_key = f"pain.001:{tenant_id}:{key}"
    existing = session.exec(select(Document).where(Document.business_key == business_key)).first()
    if existing is not None:
        return RefundRun(refunds=-1, total=Decimal("0.00"), document_id=existing.id)
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not tenant.iban or not tenant.bic:
        raise ValueError(f"tenant {tenant_id} has no bank account (IBAN and BIC) to pay from")
    transfers, accounts = [], []
    for row in session.execute(text(CREDITS_SQL), {"tenant": tenant_id}):
        end_to_end = f"RF{uuid.uuid4().hex.upper()}"[:35]
        book(
            session,
            tenant_id=tenant_id,
            division=row.division,
            doc_type="refund",
            key=f"refund:{key}:{row.account_id}",
            posting_date=on,
            amounts={"amount": Decimal(row.credit)},
            party_account_id=row.account_id,
            due_date=on,
            text="Auszahlung Guthaben",
        )
        accounts.append(row.account_id)
        transfers.append(
            Transfer(
                end_to_end_id=end_to_end,
                amount=Decimal(row.credit),
                creditor_name=row.account_holder,
                creditor_iban=row.iban,
                remittance=f"Guthaben Vertragskonto {row.number}",
            )
        )
    if not transfers:
        return RefundRun(refunds=0, total=Decimal("0.00"), document_id=None)
    net_open_items(session, accounts, on)
    xml = credit_transfer_file(
        Debtor(name=tenant.name, iban=tenant.iban, bic=tenant.bic),
        transfers,
        on,
        f"RF{uuid.uuid4().hex.upper()}"[:35],
    )
    session.execute(
        insert(Document)
        .values(
            tenant_id=tenant_id,
            business_key=business_key,
            kind="pain.001",
            media_type="application/xml",
            content=xml,
            sha256=hashlib.sha256(xml).hexdigest(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["business_key"])
    )
    document = session.exec(select(Document.id).where(Document.business_key == business_key)).one()
    return RefundRun(
        refunds=len(transfers), total=sum((t.amount for t in transfers), Decimal("0.00")), document_id=document
    )
