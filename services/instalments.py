"""Budget billing (Abschläge): instalment requests booked ahead of their due dates; plans renewed by bills.

A request is booked ``LEAD`` days before the instalment is due (§40c (1) EnWG: due at the earliest two weeks
after the request), once per instalment, as an open item of the debtor that the payment side collects. After a
periodic bill the plan is replaced by one with the bill's proposed instalment, from the next month on.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import text
from sqlmodel import Session

from models.billing import Bill, BillKind
from rules.budget import first_instalment_due, vat_rate
from rules.kontierung import assign
from services.chart import debtor_accounts, ensure_chart
from services.ledger import Line, PostingRequest, post_many

LEAD = timedelta(days=14)
INSTALMENTS_PER_PLAN = 12

DUE_SQL = """
SELECT i.id, i.due_date, i.amount, p.contract_id, c.division
FROM budget_instalment i
JOIN budget_plan p ON p.id = i.plan_id
JOIN contract c ON c.id = p.contract_id
WHERE p.tenant_id = :tenant AND i.posting_document_id IS NULL AND i.due_date <= :until
  AND (p.ended_on IS NULL OR i.due_date < p.ended_on)
  AND c.supply_start IS NOT NULL AND (c.supply_end IS NULL OR i.due_date < c.supply_end)
ORDER BY i.id LIMIT :limit
"""


def request_due_instalments(session: Session, tenant_id: str, on: date, limit: int = 5000) -> int:
    """Book the requests of instalments due within ``LEAD`` days of ``on``; returns how many (call until 0)."""
    rows = session.execute(text(DUE_SQL), {"tenant": tenant_id, "until": on + LEAD, "limit": limit}).all()
    if not rows:
        return 0
    debtors = debtor_accounts(session, tenant_id, [row.contract_id for row in rows])
    charts = {division: ensure_chart(session, tenant_id, division) for division in {row.division for row in rows}}
    requests = []
    for row in rows:
        lines = []
        for leg in assign("instalment_request", row.division, {"amount": row.amount}):
            account = debtors[row.contract_id] if leg.account == "debtor" else charts[row.division][leg.account]
            due = row.due_date if leg.open_item else None
            if leg.side == "debit":
                lines.append(Line(account_id=account, debit=leg.amount, due_date=due))
            else:
                lines.append(Line(account_id=account, credit=leg.amount, due_date=due))
        requests.append(
            PostingRequest(
                tenant_id=tenant_id,
                division=row.division,
                doc_type="instalment_request",
                posting_date=min(on, row.due_date),
                idempotency_key=f"instalment:{row.id}",
                origin=f"budget-instalment:{row.id}",
                text=f"Abschlag fällig am {row.due_date:%d.%m.%Y}",
                lines=lines,
            )
        )
    documents = post_many(session, requests)
    session.execute(
        text("UPDATE budget_instalment SET posting_document_id = :document WHERE id = :id"),
        [{"document": document, "id": row.id} for row, document in zip(rows, documents, strict=True)],
    )
    return len(rows)


def renew_plans(session: Session, bills: Sequence[Bill], on: date) -> int:
    """A new plan per periodic bill with the proposed instalment; the old plan ends where the new one starts.

    Set-based (a billing chunk renews hundreds of plans at once); a bill renews its contract's plan once."""
    renewals = [bill for bill in bills if bill.kind == BillKind.PERIODIC and bill.next_instalment]
    done = set(
        session.execute(
            text("SELECT business_key FROM budget_plan WHERE business_key = ANY(:keys)"),
            {"keys": [f"bill:{bill.id}" for bill in renewals]},
        ).scalars()
    )
    renewals = [bill for bill in renewals if f"bill:{bill.id}" not in done]
    if not renewals:
        return 0
    plans = []
    for bill in renewals:
        assert bill.next_instalment is not None
        first_due = first_instalment_due(bill.period_end, issued_on=on)
        gross = bill.next_instalment * INSTALMENTS_PER_PLAN
        net = (gross / (1 + vat_rate(first_due, bill.division))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        plans.append((bill, first_due, gross, net))
    session.execute(
        text(
            "UPDATE budget_plan p SET ended_on = n.first_due"
            " FROM unnest(CAST(:contracts AS int[]), CAST(:first_due AS date[])) AS n(contract_id, first_due)"
            " WHERE p.contract_id = n.contract_id AND p.ended_on IS NULL"
        ),
        {"contracts": [b.contract_id for b, *_ in plans], "first_due": [due for _, due, _, _ in plans]},
    )
    created = session.execute(
        text(
            """
            INSERT INTO budget_plan (tenant_id, contract_id, business_key, valid_from, annual_net, annual_vat,
                                     annual_gross, instalment, created_at)
            SELECT p.*, now() FROM unnest(
                CAST(:tenant AS text[]), CAST(:contract AS int[]), CAST(:key AS text[]), CAST(:valid_from AS date[]),
                CAST(:net AS numeric[]), CAST(:vat AS numeric[]), CAST(:gross AS numeric[]),
                CAST(:instalment AS numeric[])
            ) AS p
            RETURNING business_key, id
            """
        ),
        {
            "tenant": [b.tenant_id for b, *_ in plans],
            "contract": [b.contract_id for b, *_ in plans],
            "key": [f"bill:{b.id}" for b, *_ in plans],
            "valid_from": [b.period_end for b, *_ in plans],
            "net": [net for *_, net in plans],
            "vat": [gross - net for _, _, gross, net in plans],
            "gross": [gross for _, _, gross, _ in plans],
            "instalment": [b.next_instalment for b, *_ in plans],
        },
    )
    plan_ids = {key: plan_id for key, plan_id in created}
    rows = [
        (plan_ids[f"bill:{bill.id}"], first_due + relativedelta(months=i), bill.next_instalment)
        for bill, first_due, _, _ in plans
        for i in range(INSTALMENTS_PER_PLAN)
    ]
    session.execute(
        text(
            "INSERT INTO budget_instalment (plan_id, due_date, amount)"
            " SELECT * FROM unnest(CAST(:plan AS int[]), CAST(:due AS date[]), CAST(:amount AS numeric[]))"
        ),
        {"plan": [r[0] for r in rows], "due": [r[1] for r in rows], "amount": [r[2] for r in rows]},
    )
    return len(plans)
