"""Month close: open items per debtor and creditor and daily GL balances at month end, checked and exported.

First the unbilled consumption is accrued (see services.energy_tax); the energy-tax bases are exported too.

A document counts in the month it is booked in (its period): a late posting dated into a closed month counts
in the next open one, from its first day, so a closed month's figures never change. The figures are computed
by set-based SQL over the whole month, so a close over 100,000 accounts takes seconds.
Checks: per division the open items of the debtors and creditors equal the balances of their reconciliation
accounts (debtor control plus doubtful receivables; creditor control), and the GL trial balance is zero.
The exports (CSV per list, one XLSX workbook) are archived as documents; the month is then closed, and later
postings dated into it go to the next open month.
"""

import csv
import hashlib
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from models.base import utcnow
from models.documents import Document
from models.ledger import ClosedPeriod
from services.energy_tax import TaxBase, accrue, tax_bases
from services.ledger import closed_periods, last_day

Rows = Sequence[Any]

OPEN_ITEMS_SQL = """
WITH cleared AS (
    SELECT line_id, sum(amount) AS amount FROM (
        SELECT item_line_id AS line_id, amount FROM clearing WHERE tenant_id = :tenant AND cleared_on <= :key_date
        UNION ALL
        SELECT by_line_id, amount FROM clearing WHERE tenant_id = :tenant AND cleared_on <= :key_date
    ) parts GROUP BY line_id
)
SELECT a.division, a.kind, a.number, a.name,
       count(*) FILTER (WHERE abs(l.debit - l.credit) > coalesce(c.amount, 0)) AS items,
       sum((l.debit - l.credit) - sign(l.debit - l.credit) * coalesce(c.amount, 0)) AS open_amount,
       sum(l.debit - l.credit) AS balance
FROM posting_line l
JOIN posting_document d ON d.id = l.document_id
JOIN ledger_account a ON a.id = l.account_id
LEFT JOIN cleared c ON c.line_id = l.id
WHERE l.tenant_id = :tenant AND d.period <= :period AND a.kind IN ('debtor', 'creditor')
GROUP BY a.division, a.kind, a.number, a.name
HAVING sum(l.debit - l.credit) <> 0
    OR sum((l.debit - l.credit) - sign(l.debit - l.credit) * coalesce(c.amount, 0)) <> 0
ORDER BY a.division, a.kind, a.number
"""

GL_DAILY_SQL = """
WITH accounts AS (
    SELECT id, division, number, name, gl_role FROM ledger_account WHERE tenant_id = :tenant AND kind = 'gl'
), lines AS (
    SELECT coalesce(l.control_account_id, c.id, l.account_id) AS account_id, d.period,
           greatest(l.posting_date, to_date(d.period || '-01', 'YYYY-MM-DD')) AS day, l.debit, l.credit
    FROM posting_line l
    JOIN posting_document d ON d.id = l.document_id
    JOIN ledger_account p ON p.id = l.account_id
    LEFT JOIN accounts c ON p.kind <> 'gl' AND c.division = p.division AND c.gl_role = p.kind || '_control'
    WHERE l.tenant_id = :tenant AND d.period <= :period
), opening AS (
    SELECT account_id, sum(debit - credit) AS amount FROM lines WHERE period < :period GROUP BY account_id
), moves AS (
    SELECT account_id, day AS posting_date, sum(debit) AS debit, sum(credit) AS credit FROM lines
    WHERE period = :period GROUP BY account_id, day
), days AS (
    SELECT generate_series(:first_day, :key_date, interval '1 day')::date AS day
)
SELECT a.division, a.number, a.name, a.gl_role, d.day,
       coalesce(m.debit, 0) AS debit, coalesce(m.credit, 0) AS credit,
       coalesce(o.amount, 0) + sum(coalesce(m.debit, 0) - coalesce(m.credit, 0))
           OVER (PARTITION BY a.id ORDER BY d.day) AS balance
FROM accounts a CROSS JOIN days d
LEFT JOIN opening o ON o.account_id = a.id
LEFT JOIN moves m ON m.account_id = a.id AND m.posting_date = d.day
ORDER BY a.division, a.number, d.day
"""
"""Debtor and creditor lines count on their reconciliation account: the line's own (a doubtful receivable) or
the division's debtor/creditor control account, so the general ledger gets the control accounts' balances."""


class DivisionFigures(BaseModel):
    division: str
    debtor_open_items: Decimal
    debtor_balance: Decimal
    creditor_open_items: Decimal
    creditor_balance: Decimal
    trial_balance: Decimal
    accounts_with_open_items: int

    @property
    def consistent(self) -> bool:
        return (
            self.debtor_open_items == self.debtor_balance
            and self.creditor_open_items == self.creditor_balance
            and self.trial_balance == 0
        )


class MonthClose(BaseModel):
    tenant_id: str
    period: str
    key_date: date
    divisions: list[DivisionFigures]
    energy_tax: list[TaxBase]
    documents: dict[str, int]
    closed: bool


class CloseRefused(ValueError):
    """The month's figures do not reconcile; nothing was closed."""


def gl_daily_balances(session: Session, tenant_id: str, period: str) -> Rows:
    """Per GL account and day of the month: debit, credit and balance, debtor/creditor lines rolled up."""
    key_date = last_day(period)
    params = {"tenant": tenant_id, "key_date": key_date, "first_day": key_date.replace(day=1), "period": period}
    return session.execute(text(GL_DAILY_SQL), params).all()


def close_month(session: Session, tenant_id: str, period: str) -> MonthClose:
    """Accrue unbilled consumption, compute, check, export and archive; then close the month.

    Repeating it returns the same documents."""
    if period not in closed_periods(session, tenant_id):
        accrue(session, tenant_id, period)
    key_date = last_day(period)
    first_day = key_date.replace(day=1)
    params = {"tenant": tenant_id, "key_date": key_date, "first_day": first_day, "period": period}
    open_items = session.execute(text(OPEN_ITEMS_SQL), params).all()
    gl_daily = gl_daily_balances(session, tenant_id, period)
    divisions = _figures(open_items, [row for row in gl_daily if row.day == key_date])
    broken = [d for d in divisions if not d.consistent]
    if broken:
        raise CloseRefused(f"{period} does not reconcile: {', '.join(str(d) for d in broken)}")
    energy_tax = tax_bases(session, tenant_id, period)
    tables = _tables(open_items, gl_daily, energy_tax)
    files = {table.file: _csv(table.header, table.rows) for table in tables}
    files["month_close.xlsx"] = _workbook(period, divisions, tables)
    documents = {name: _archive(session, tenant_id, period, name, content) for name, content in files.items()}
    session.execute(
        insert(ClosedPeriod)
        .values(tenant_id=tenant_id, period=period, closed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id", "period"])
    )
    return MonthClose(
        tenant_id=tenant_id,
        period=period,
        key_date=key_date,
        divisions=divisions,
        energy_tax=energy_tax,
        documents=documents,
        closed=True,
    )


CONTROL_ROLES = {"debtor": ("debtor_control", "doubtful"), "creditor": ("creditor_control",)}


def _figures(open_items: Rows, gl_closing: Rows) -> list[DivisionFigures]:
    """Per division: open items against the reconciliation accounts' closing balances, and the trial balance."""
    result = []
    for division in sorted({*(r.division for r in gl_closing), *(r.division for r in open_items)}):
        items = [r for r in open_items if r.division == division]
        gl = [r for r in gl_closing if r.division == division]
        roles = {r.gl_role for r in gl}
        for kind, (control, *_) in CONTROL_ROLES.items():
            if control not in roles and any(r.kind == kind for r in items):
                raise CloseRefused(f"{division} has {kind} accounts but no GL account with the role {control}")

        def open_total(kind: str, items: Rows = items) -> Decimal:
            return sum((Decimal(r.open_amount) for r in items if r.kind == kind), Decimal("0.00"))

        def gl_total(roles: tuple[str, ...], gl: Rows = gl) -> Decimal:
            return sum((Decimal(r.balance) for r in gl if r.gl_role in roles), Decimal("0.00"))

        result.append(
            DivisionFigures(
                division=division,
                debtor_open_items=open_total("debtor"),
                debtor_balance=gl_total(CONTROL_ROLES["debtor"]),
                creditor_open_items=open_total("creditor"),
                creditor_balance=gl_total(CONTROL_ROLES["creditor"]),
                trial_balance=sum((Decimal(r.balance) for r in gl), Decimal("0.00")),
                accounts_with_open_items=sum(1 for r in items if r.items),
            )
        )
    return result


def _csv(header: list[str], rows: list[tuple[object, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


class Table(BaseModel):
    """One list of the hand-over: a CSV file and a sheet of the workbook."""

    file: str
    title: str
    header: list[str]
    rows: list[tuple[Any, ...]]
    formats: dict[int, str] = {}
    """Column index -> Excel number format (amounts and quantities)."""


MONEY = "#,##0.00"
ENERGY = "#,##0.000"


def _tables(open_items: Rows, gl_daily: Rows, bases: list[TaxBase]) -> list[Table]:
    return [
        Table(
            file="open_items.csv",
            title="Open items",
            header=["division", "kind", "account", "name", "open_items", "open_amount", "balance"],
            rows=[(r.division, r.kind, r.number, r.name, r.items, r.open_amount, r.balance) for r in open_items],
            formats={5: MONEY, 6: MONEY},
        ),
        Table(
            file="gl_daily_balances.csv",
            title="GL daily balances",
            header=["division", "account", "name", "role", "day", "debit", "credit", "balance"],
            rows=[(r.division, r.number, r.name, r.gl_role, r.day, r.debit, r.credit, r.balance) for r in gl_daily],
            formats={5: MONEY, 6: MONEY, 7: MONEY},
        ),
        Table(
            file="energy_tax.csv",
            title="Energy tax",
            header=["division", "billed_kwh", "billed_tax", "accrued_kwh", "reversed_kwh", "delivered_kwh", "tax"],
            rows=[
                (b.division, b.billed_kwh, b.billed_tax, b.accrued_kwh, b.reversed_kwh, b.delivered_kwh, b.tax)
                for b in bases
            ],
            formats={1: ENERGY, 2: MONEY, 3: ENERGY, 4: ENERGY, 5: ENERGY, 6: MONEY},
        ),
    ]


def _workbook(period: str, divisions: list[DivisionFigures], tables: list[Table]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    formats = {pattern: book.add_format({"num_format": pattern}) for pattern in (MONEY, ENERGY)}
    summary = book.add_worksheet("Summary")
    summary.write_row(
        0,
        0,
        [
            "period",
            "division",
            "debtor open items",
            "debtor balance",
            "creditor open items",
            "creditor balance",
            "trial balance",
        ],
    )
    for i, d in enumerate(divisions, start=1):
        summary.write_row(i, 0, [period, d.division])
        for j, value in enumerate(
            (d.debtor_open_items, d.debtor_balance, d.creditor_open_items, d.creditor_balance, d.trial_balance), start=2
        ):
            summary.write_number(i, j, float(value), formats[MONEY])
    for table in tables:
        sheet = book.add_worksheet(table.title)
        sheet.write_row(0, 0, table.header)
        for i, row in enumerate(table.rows, start=1):
            for j, value in enumerate(row):
                if j in table.formats:  # Excel has no decimal type; the CSV is exact
                    sheet.write_number(i, j, float(value), formats[table.formats[j]])
                elif isinstance(value, date):
                    sheet.write(i, j, value.isoformat())
                else:
                    sheet.write(i, j, value)
    book.close()
    return out.getvalue()


def _archive(session: Session, tenant_id: str, period: str, name: str, content: bytes) -> int:
    key = f"month-close:{tenant_id}:{period}:{name}"
    media = (
        "text/csv" if name.endswith(".csv") else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    session.execute(
        insert(Document)
        .values(
            tenant_id=tenant_id,
            business_key=key,
            kind="month_close",
            media_type=media,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["business_key"])
    )
    document_id = session.exec(select(Document.id).where(Document.business_key == key)).one()
    assert document_id is not None
    return document_id
