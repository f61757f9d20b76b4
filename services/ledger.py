"""Booking into the subledger: balanced documents (idempotent per key), reversals, clearing of open items.

Amounts are Decimal with two places; every document balances before it reaches the database, and the database
checks again. Documents dated into a closed month are booked into the first open month after it.
"""

from calendar import monthrange
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, text, tuple_
from sqlmodel import Session, col, select

import models.tables  # noqa: F401  (every table the ledger refers to must be known when flushing)
from models.base import utcnow
from models.ledger import Clearing, ClosedPeriod, PostingDocument, PostingLine

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LINE_COLUMNS = (
    "document_id",
    "tenant_id",
    "account_id",
    "posting_date",
    "debit",
    "credit",
    "due_date",
    "control_account_id",
    "text",
)
INSERT_DOCUMENTS = text(
    """
    INSERT INTO posting_document
        (tenant_id, division, doc_type, posting_date, value_date, period, idempotency_key, origin, text,
         reversal_of_id, quantity_kwh, created_at)
    SELECT d.*, :created_at FROM unnest(
        CAST(:tenant_id AS text[]), CAST(:division AS text[]), CAST(:doc_type AS text[]),
        CAST(:posting_date AS date[]), CAST(:value_date AS date[]), CAST(:period AS text[]),
        CAST(:idempotency_key AS text[]), CAST(:origin AS text[]), CAST(:text AS text[]),
        CAST(:reversal_of_id AS bigint[]), CAST(:quantity_kwh AS numeric[])
    ) AS d
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING tenant_id, idempotency_key, id
    """
)
"""A row per array element: twelve parameters whatever the batch size (a multi-row VALUES has twelve per
document, costs SQLAlchemy and psycopg time per parameter, and fails beyond PostgreSQL's 65,535)."""


class LedgerError(ValueError):
    """A booking the ledger refuses (unbalanced, over-cleared, wrong account); the message says why."""


class Line(BaseModel):
    account_id: int
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    due_date: date | None = None
    """Set on a debtor or creditor line: it is an open item due then."""
    control_account_id: int | None = None
    """A debtor line's reconciliation account when not the division's debtor control account (doubtful)."""
    text: str = ""

    @model_validator(mode="after")
    def _one_side(self) -> "Line":
        for amount in (self.debit, self.credit):
            if amount < 0 or amount != amount.quantize(CENT):
                raise ValueError(f"amounts are non-negative with two decimal places, not {amount}")
        if (self.debit == 0) == (self.credit == 0):
            raise ValueError("a line is either a debit or a credit, and not zero")
        return self


class PostingRequest(BaseModel):
    tenant_id: str
    division: str
    doc_type: str
    posting_date: date
    value_date: date | None = None
    idempotency_key: str = Field(min_length=1, max_length=200)
    origin: str = ""
    text: str = ""
    lines: list[Line] = Field(min_length=2)
    reversal_of_id: int | None = None
    quantity_kwh: Decimal | None = None
    """Energy the document bills or accrues (positive for a bill): the energy-tax base."""

    @model_validator(mode="after")
    def _balanced(self) -> "PostingRequest":
        debit, credit = sum(line.debit for line in self.lines), sum(line.credit for line in self.lines)
        if debit != credit:
            raise ValueError(f"document {self.idempotency_key} does not balance: debit {debit} <> credit {credit}")
        return self


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def last_day(period: str) -> date:
    """The last calendar day of a month ``YYYY-MM``: its key date."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, monthrange(year, month)[1])


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def open_period(closed: set[str], day: date) -> str:
    """The month of ``day``, or the first month after it that is not closed."""
    period = period_of(day)
    while period in closed:
        period = next_period(period)
    return period


def closed_periods(session: Session, tenant_id: str) -> set[str]:
    return set(session.exec(select(ClosedPeriod.period).where(ClosedPeriod.tenant_id == tenant_id)).all())


def post(session: Session, request: PostingRequest) -> int:
    """Book one document; a repeated key (per tenant) returns the document booked first. The caller commits."""
    return post_many(session, [request])[0]


def post_many(session: Session, requests: Sequence[PostingRequest]) -> list[int]:
    """Book many documents in two statements (documents, then all their lines by COPY); ids in request order."""
    if not requests:
        return []
    closed = {tenant_id: closed_periods(session, tenant_id) for tenant_id in {r.tenant_id for r in requests}}
    columns = {
        "tenant_id": [r.tenant_id for r in requests],
        "division": [r.division for r in requests],
        "doc_type": [r.doc_type for r in requests],
        "posting_date": [r.posting_date for r in requests],
        "value_date": [r.value_date or r.posting_date for r in requests],
        "period": [open_period(closed[r.tenant_id], r.posting_date) for r in requests],
        "idempotency_key": [r.idempotency_key for r in requests],
        "origin": [r.origin for r in requests],
        "text": [r.text for r in requests],
        "reversal_of_id": [r.reversal_of_id for r in requests],
        "quantity_kwh": [r.quantity_kwh for r in requests],
        "created_at": utcnow(),
    }
    created = {(tenant, key): id_ for tenant, key, id_ in session.execute(INSERT_DOCUMENTS, columns).all()}
    if created:
        _copy_lines(session, [(created[_key(r)], r) for r in requests if _key(r) in created])
    missing = [_key(r) for r in requests if _key(r) not in created]
    if missing:
        stored = select(col(PostingDocument.tenant_id), col(PostingDocument.idempotency_key), col(PostingDocument.id))
        pairs = tuple_(col(PostingDocument.tenant_id), col(PostingDocument.idempotency_key))
        created |= {(tenant, key): id_ for tenant, key, id_ in session.execute(stored.where(pairs.in_(missing)))}
    return [created[_key(r)] for r in requests]


def _key(request: PostingRequest) -> tuple[str, str]:
    return request.tenant_id, request.idempotency_key


def _copy_lines(session: Session, documents: list[tuple[int, PostingRequest]]) -> None:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    statement = f"COPY posting_line ({', '.join(LINE_COLUMNS)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for document_id, r in documents:
            for line in r.lines:
                copy.write_row(
                    (
                        document_id,
                        r.tenant_id,
                        line.account_id,
                        r.posting_date,
                        line.debit,
                        line.credit,
                        line.due_date,
                        line.control_account_id,
                        line.text,
                    )
                )


def reverse(session: Session, document_id: int, posting_date: date, key: str | None = None) -> int:
    """Post the mirror image of a document; its open items are cleared against the reversal's lines."""
    original = session.get(PostingDocument, document_id)
    if original is None:
        raise LedgerError(f"posting document {document_id} does not exist")
    lines = session.exec(select(PostingLine).where(PostingLine.document_id == document_id)).all()
    reversal_id = post(
        session,
        PostingRequest(
            tenant_id=original.tenant_id,
            division=original.division,
            doc_type="reversal",
            posting_date=posting_date,
            idempotency_key=key or f"reversal:{document_id}",
            origin=f"document:{document_id}",
            text=f"Storno {original.doc_type} {document_id}",
            reversal_of_id=document_id,
            quantity_kwh=None if original.quantity_kwh is None else -original.quantity_kwh,
            lines=[
                Line(
                    account_id=line.account_id,
                    debit=line.credit,
                    credit=line.debit,
                    due_date=line.due_date,
                    control_account_id=line.control_account_id,
                )
                for line in lines
            ],
        ),
    )
    mirrors = session.exec(select(PostingLine).where(PostingLine.document_id == reversal_id)).all()
    for line, mirror in zip(sorted(lines, key=_line_id), sorted(mirrors, key=_line_id), strict=True):
        if line.due_date is not None:
            remaining = open_amount(session, _line_id(line))
            if remaining:
                clear(session, _line_id(line), _line_id(mirror), remaining, posting_date)
    return reversal_id


def _line_id(line: PostingLine) -> int:
    assert line.id is not None
    return line.id


def open_amount(session: Session, line_id: int, key_date: date | None = None) -> Decimal:
    """What is still open of a line (its amount less clearings on it, up to ``key_date``)."""
    line = session.get(PostingLine, line_id)
    if line is None:
        raise LedgerError(f"posting line {line_id} does not exist")
    amount = line.debit or line.credit
    cleared = select(func.coalesce(func.sum(Clearing.amount), 0)).where(
        (col(Clearing.item_line_id) == line_id) | (col(Clearing.by_line_id) == line_id)
    )
    if key_date is not None:
        cleared = cleared.where(col(Clearing.cleared_on) <= key_date)
    return Decimal(amount) - Decimal(session.execute(cleared).scalar_one())


def clear(session: Session, item_line_id: int, by_line_id: int, amount: Decimal, on: date) -> int:
    """Settle ``amount`` of an open item with a line on the other side of the same account."""
    items = session.exec(
        select(PostingLine)
        .where(col(PostingLine.id).in_([item_line_id, by_line_id]))
        .order_by(col(PostingLine.id))
        .with_for_update()
    ).all()
    by_id = {line.id: line for line in items}
    item, by = by_id.get(item_line_id), by_id.get(by_line_id)
    if item is None or by is None:
        raise LedgerError(f"posting line {item_line_id if item is None else by_line_id} does not exist")
    if item.account_id != by.account_id:
        raise LedgerError("a clearing settles lines of the same account")
    if (item.debit > 0) == (by.debit > 0):
        raise LedgerError("a clearing settles a debit with a credit")
    if amount <= 0 or amount != amount.quantize(CENT):
        raise LedgerError(f"clearing amount {amount} must be positive with two decimal places")
    if on < max(item.posting_date, by.posting_date):
        raise LedgerError(f"a clearing on {on} cannot precede the lines it settles")
    for line_id in (item_line_id, by_line_id):
        available = open_amount(session, line_id)
        if amount > available:
            raise LedgerError(f"line {line_id} has only {available} open, cannot clear {amount}")
    clearing = Clearing(
        tenant_id=item.tenant_id, item_line_id=item_line_id, by_line_id=by_line_id, amount=amount, cleared_on=on
    )
    session.add(clearing)
    session.flush()
    assert clearing.id is not None
    if item.control_account_id != by.control_account_id:
        _transfer_control(session, clearing, item, by)
    return clearing.id


def _transfer_control(session: Session, clearing: Clearing, item: PostingLine, by: PostingLine) -> None:
    """Settle on the item's reconciliation account: a payment clearing a doubtful receivable reduces the
    doubtful-receivables account, not the debtor control account it was booked to."""
    document = session.get(PostingDocument, item.document_id)
    assert document is not None
    side = "credit" if item.debit > 0 else "debit"
    post(
        session,
        PostingRequest(
            tenant_id=item.tenant_id,
            division=document.division,
            doc_type="control_transfer",
            posting_date=clearing.cleared_on,
            idempotency_key=f"control-transfer:{clearing.id}",
            origin=f"clearing:{clearing.id}",
            text="Umbuchung Abstimmkonto beim Ausgleich",
            lines=[
                Line(account_id=item.account_id, control_account_id=item.control_account_id, **{side: clearing.amount}),
                Line(
                    account_id=item.account_id,
                    control_account_id=by.control_account_id,
                    **{"debit" if side == "credit" else "credit": clearing.amount},
                ),
            ],
        ),
    )


def allocate(session: Session, payment_line_id: int, on: date, item_line_id: int | None = None) -> Decimal:
    """Clear open items of the payment's account with it: the named item, else the oldest due first.

    A clearing is dated ``on``, or later if a line it settles is dated later. Returns what is left of the
    payment (a credit on the account)."""
    payment = session.get(PostingLine, payment_line_id, with_for_update=True)
    if payment is None:
        raise LedgerError(f"posting line {payment_line_id} does not exist")
    side = col(PostingLine.debit) > 0 if payment.credit > 0 else col(PostingLine.credit) > 0
    query = select(col(PostingLine.id), col(PostingLine.posting_date)).where(
        PostingLine.account_id == payment.account_id, col(PostingLine.due_date).is_not(None), side
    )
    if item_line_id is not None:
        query = query.where(PostingLine.id == item_line_id)
    left = open_amount(session, payment_line_id)
    for line_id, posted in session.exec(query.order_by(col(PostingLine.due_date), col(PostingLine.id))).all():
        if left <= 0:
            break
        assert line_id is not None
        due = open_amount(session, line_id)
        if due > 0:
            amount = min(due, left)
            clear(session, line_id, payment_line_id, amount, max(on, posted, payment.posting_date))
            left -= amount
    return left


def balance(session: Session, account_id: int, key_date: date) -> Decimal:
    """Debit minus credit of the account's lines dated up to ``key_date``."""
    total = session.execute(
        select(func.coalesce(func.sum(PostingLine.debit - PostingLine.credit), 0)).where(
            PostingLine.account_id == account_id, col(PostingLine.posting_date) <= key_date
        )
    ).scalar_one()
    return Decimal(total).quantize(CENT)


def open_items_total(session: Session, account_id: int, key_date: date) -> Decimal:
    """Sum of the open items of an account at ``key_date``, signed like its balance (debit positive)."""
    rows = session.execute(
        text(
            """
            SELECT coalesce(sum((l.debit - l.credit) - sign(l.debit - l.credit) * coalesce(c.cleared, 0)), 0)
            FROM posting_line l
            LEFT JOIN LATERAL (
                SELECT sum(amount) AS cleared FROM clearing
                WHERE (item_line_id = l.id OR by_line_id = l.id) AND cleared_on <= :key_date
            ) c ON true
            WHERE l.account_id = :account AND l.posting_date <= :key_date
            """
        ),
        {"account": account_id, "key_date": key_date},
    ).scalar_one()
    return Decimal(rows).quantize(CENT)


OPEN_LINES_SQL = """
SELECT * FROM (
    SELECT l.id, l.account_id, l.control_account_id, l.debit > 0 AS is_debit, l.due_date, l.posting_date,
           abs(l.debit - l.credit) - coalesce(
               (SELECT sum(c.amount) FROM clearing c WHERE c.item_line_id = l.id OR c.by_line_id = l.id), 0
           ) AS open_amount
    FROM posting_line l
    WHERE l.account_id = ANY(:accounts) AND l.due_date IS NOT NULL
    ORDER BY l.id
    FOR UPDATE OF l
) lines WHERE open_amount > 0
"""


def net_open_items(session: Session, account_ids: Sequence[int], on: date) -> int:
    """Clear each account's open credits against its open debits, oldest due first; returns the clearings made.

    A bill's instalment settlement, a credit note or a reversal's remainder thus settles what is open, and what
    is left is what the customer owes or is owed. The open lines are locked first, so a payment being allocated
    at the same time waits and never clears the same euro twice."""
    if not account_ids:
        return 0
    rows = session.execute(text(OPEN_LINES_SQL), {"accounts": list(account_ids)}).all()
    by_account: dict[int, list[Any]] = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(row)
    plan: list[tuple[Any, Any, Decimal]] = []
    for lines in by_account.values():
        debits = sorted((r for r in lines if r.is_debit), key=lambda r: (r.due_date, r.id))
        credits = sorted((r for r in lines if not r.is_debit), key=lambda r: (r.due_date, r.id))
        left = {r.id: Decimal(r.open_amount) for r in lines}
        for credit in credits:
            for debit in debits:
                amount = min(left[credit.id], left[debit.id])
                if amount > 0:
                    plan.append((debit, credit, amount))
                    left[credit.id] -= amount
                    left[debit.id] -= amount
    simple = [(d, c, a) for d, c, a in plan if d.control_account_id == c.control_account_id]
    if simple:
        session.execute(
            text(
                "INSERT INTO clearing (tenant_id, item_line_id, by_line_id, amount, cleared_on, created_at)"
                " SELECT tenant_id, :item, :by, :amount, :on, now() FROM posting_line WHERE id = :item"
            ),
            [
                {"item": d.id, "by": c.id, "amount": a, "on": max(on, d.posting_date, c.posting_date)}
                for d, c, a in simple
            ],
        )
    for debit, credit, amount in plan:
        if debit.control_account_id != credit.control_account_id:  # rare: keep the reconciliation accounts right
            clear(session, debit.id, credit.id, amount, max(on, debit.posting_date, credit.posting_date))
    return len(plan)
