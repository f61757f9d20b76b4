"""Budget billing on the real database: requests booked ahead of due dates, plans renewed by the bill."""

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from models.billing import Bill
from models.contracts import BudgetInstalment, BudgetPlan
from services.billing import Outcome, bill_contracts
from services.instalments import request_due_instalments
from services.ledger import balance
from tests.test_billing import Portfolio

D = Decimal


def test_requests_are_booked_once_ahead_of_due_and_the_bill_renews_the_plan(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract(annual="3650", start=date(2025, 1, 1))
        plan = BudgetPlan(
            tenant_id=books.tenant,
            contract_id=contract.id or 0,
            business_key=f"plan:{contract.id}",
            valid_from=date(2025, 1, 1),
            annual_net=D("1008.40"),
            annual_vat=D("191.60"),
            annual_gross=D("1200.00"),
            instalment=D("100.00"),
        )
        session.add(plan)
        session.flush()
        session.add_all(
            BudgetInstalment(plan_id=plan.id or 0, due_date=date(2025, month, 1), amount=D("100.00"))
            for month in range(2, 13)
        )
        session.add(BudgetInstalment(plan_id=plan.id or 0, due_date=date(2026, 1, 1), amount=D("100.00")))
        session.flush()

        assert request_due_instalments(session, books.tenant, date(2025, 2, 20)) == 2  # 1 February and 1 March
        assert request_due_instalments(session, books.tenant, date(2025, 2, 20)) == 0  # booked once
        debtor = session.execute(
            text("SELECT id FROM ledger_account WHERE tenant_id = :t AND kind = 'debtor'"), {"t": books.tenant}
        ).scalar_one()
        assert balance(session, debtor, date(2025, 3, 31)) == D("200.00")
        assert request_due_instalments(session, books.tenant, date(2025, 12, 31)) == 10  # April to January

        books.reading(contract, date(2025, 1, 1), "0")
        books.reading(contract, date(2026, 1, 1), "3650")
        [billed] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert billed.outcome is Outcome.BILLED
        bill = session.get(Bill, billed.bill_id)
        assert bill is not None and bill.next_instalment is not None
        assert bill.instalments_paid == 0  # requested, but nobody paid

        session.refresh(plan)
        new = session.exec(select(BudgetPlan).where(BudgetPlan.business_key == f"bill:{bill.id}")).one()
        assert plan.ended_on == date(2026, 2, 1) and new.ended_on is None
        assert new.instalment == bill.next_instalment and new.annual_gross == bill.next_instalment * 12
        dues = [
            i.due_date
            for i in session.exec(
                select(BudgetInstalment)
                .where(BudgetInstalment.plan_id == new.id)
                .order_by(col(BudgetInstalment.due_date))
            ).all()
        ]
        assert dues[0] == date(2026, 2, 1) and dues[-1] == date(2027, 1, 1) and len(dues) == 12

        # the old plan's January instalment was requested before the bill; from February the new plan counts
        assert request_due_instalments(session, books.tenant, date(2026, 1, 20)) == 1
        amount = session.execute(
            text(
                "SELECT i.amount FROM budget_instalment i WHERE i.posting_document_id IS NOT NULL"
                " AND i.due_date = '2026-02-01'"
            )
        ).scalar_one()
        assert amount == bill.next_instalment
