"""What is overdue on a debtor account, and the holds that take items out of collection and dunning.

An item is overdue when its due date (or the later date of a deferral) plus the grace period has passed, it is
still open, and no dispute holds it. Holds never change the ledger: the item stays as booked.
"""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from models.base import utcnow
from models.payments import HoldKind, ItemHold

OVERDUE_SQL = """
SELECT l.id AS line_id, coalesce(h.due_date, l.due_date) AS due_date,
       abs(l.debit - l.credit) - coalesce(
           (SELECT sum(c.amount) FROM clearing c WHERE c.item_line_id = l.id OR c.by_line_id = l.id), 0
       ) AS open_amount
FROM posting_line l
LEFT JOIN LATERAL (
    SELECT max(due_date) AS due_date, bool_or(kind = 'dispute') AS disputed FROM item_hold
    WHERE line_id = l.id AND released_at IS NULL
) h ON true
WHERE l.account_id = :account AND l.debit > 0 AND l.due_date IS NOT NULL
  AND coalesce(h.disputed, false) = false
  AND coalesce(h.due_date, l.due_date) + :grace < :on
ORDER BY 2, 1
"""

ARREARS_SQL = """
SELECT l.account_id, min(l.id) AS first_line
FROM posting_line l
JOIN ledger_account a ON a.id = l.account_id AND a.kind = 'debtor'
WHERE l.tenant_id = :tenant AND l.debit > 0 AND l.due_date IS NOT NULL AND l.due_date + :grace < :on
  AND abs(l.debit - l.credit) > coalesce(
      (SELECT sum(c.amount) FROM clearing c WHERE c.item_line_id = l.id OR c.by_line_id = l.id), 0)
  AND NOT EXISTS (
      SELECT 1 FROM item_hold h WHERE h.line_id = l.id AND h.released_at IS NULL
        AND (h.kind = 'dispute' OR h.due_date + :grace >= :on))
GROUP BY l.account_id ORDER BY l.account_id
"""


class Overdue(BaseModel):
    total: Decimal
    items: list[tuple[int, date, Decimal]]
    """(line id, effective due date, open amount), oldest first."""


def overdue(session: Session, account_id: int, on: date, grace_days: int) -> Overdue:
    rows = [
        row
        for row in session.execute(text(OVERDUE_SQL), {"account": account_id, "on": on, "grace": grace_days})
        if row.open_amount > 0
    ]
    return Overdue(
        total=sum((Decimal(r.open_amount) for r in rows), Decimal("0.00")),
        items=[(r.line_id, r.due_date, Decimal(r.open_amount)) for r in rows],
    )


def open_debits(session: Session, account_id: int) -> list[int]:
    """The account's open debit items (due or not), the ones a deferral moves."""
    rows = session.execute(
        text(
            "SELECT l.id FROM posting_line l WHERE l.account_id = :account AND l.debit > 0"
            " AND l.due_date IS NOT NULL AND l.debit > coalesce((SELECT sum(c.amount) FROM clearing c"
            " WHERE c.item_line_id = l.id OR c.by_line_id = l.id), 0) ORDER BY l.due_date, l.id"
        ),
        {"account": account_id},
    )
    return list(rows.scalars())


def accounts_in_arrears(session: Session, tenant_id: str, on: date, grace_days: int) -> list[tuple[int, int]]:
    """(debtor account, its oldest overdue item) of every account with something overdue."""
    rows = session.execute(text(ARREARS_SQL), {"tenant": tenant_id, "on": on, "grace": grace_days})
    return [(row.account_id, row.first_line) for row in rows]


def hold(
    session: Session,
    tenant_id: str,
    line_ids: list[int],
    kind: HoldKind,
    by: str,
    reason: str,
    due_date: date | None = None,
) -> list[int]:
    """Dispute or defer items; returns the hold ids. A deferral needs its new due date."""
    if kind is HoldKind.DEFERRAL and due_date is None:
        raise ValueError("a deferral needs the new due date")
    holds = [
        ItemHold(tenant_id=tenant_id, line_id=line_id, kind=kind, due_date=due_date, reason=reason, created_by=by)
        for line_id in line_ids
    ]
    session.add_all(holds)
    session.flush()
    return [h.id for h in holds if h.id is not None]


def release(session: Session, line_ids: list[int], kind: HoldKind) -> int:
    """End the holds of this kind on the items (a dispute decided); returns how many ended."""
    result = session.execute(
        text(
            "UPDATE item_hold SET released_at = :now WHERE line_id = ANY(:lines) AND kind = :kind"
            " AND released_at IS NULL"
        ),
        {"now": utcnow(), "lines": line_ids, "kind": kind.value},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
