"""An account statement a clerk can explain to a customer: opening balance, every line, running balance."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from models.ledger import LedgerAccount

STATEMENT_SQL = """
WITH cleared AS (
    SELECT line_id, sum(amount) AS amount FROM (
        SELECT item_line_id AS line_id, amount FROM clearing WHERE cleared_on <= :until
        UNION ALL SELECT by_line_id, amount FROM clearing WHERE cleared_on <= :until
    ) parts GROUP BY line_id
)
SELECT l.id, l.posting_date, d.doc_type, d.id AS document_id, coalesce(nullif(l.text, ''), d.text) AS text,
       d.origin, l.debit, l.credit, l.due_date,
       abs(l.debit - l.credit) - coalesce(c.amount, 0) AS open_amount
FROM posting_line l
JOIN posting_document d ON d.id = l.document_id
LEFT JOIN cleared c ON c.line_id = l.id
WHERE l.account_id = :account AND l.posting_date BETWEEN :since AND :until
ORDER BY l.posting_date, l.id
"""


class StatementLine(BaseModel):
    line_id: int
    posting_date: date
    document_id: int
    doc_type: str
    text: str
    origin: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    due_date: date | None
    open_amount: Decimal


class Statement(BaseModel):
    account_id: int
    number: str
    name: str
    kind: str
    division: str
    since: date
    until: date
    opening_balance: Decimal
    closing_balance: Decimal
    lines: list[StatementLine]


def statement(session: Session, account: LedgerAccount, since: date, until: date) -> Statement:
    """Lines dated ``since`` to ``until``; balances are debit minus credit (positive: the customer owes)."""
    assert account.id is not None
    opening = Decimal(
        session.execute(
            text(
                "SELECT coalesce(sum(debit - credit), 0) FROM posting_line "
                "WHERE account_id = :account AND posting_date < :since"
            ),
            {"account": account.id, "since": since},
        ).scalar_one()
    ).quantize(Decimal("0.01"))
    running = opening
    lines = []
    for row in session.execute(text(STATEMENT_SQL), {"account": account.id, "since": since, "until": until}):
        running += row.debit - row.credit
        lines.append(
            StatementLine(
                line_id=row.id,
                posting_date=row.posting_date,
                document_id=row.document_id,
                doc_type=row.doc_type,
                text=row.text,
                origin=row.origin,
                debit=row.debit,
                credit=row.credit,
                balance=running,
                due_date=row.due_date,
                open_amount=row.open_amount,
            )
        )
    return Statement(
        account_id=account.id,
        number=account.number,
        name=account.name,
        kind=account.kind,
        division=account.division,
        since=since,
        until=until,
        opening_balance=opening,
        closing_balance=running,
        lines=lines,
    )
