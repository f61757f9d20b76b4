"""The billing run and the release of a held bill, end to end on the Temporal dev server and PostgreSQL."""

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow

from core.settings import Settings
from models.billing import Bill, BillingRunItem, BillState
from models.contracts import BudgetInstalment, BudgetPlan
from models.process import BillingRunInput, BillReleaseInput, TaskDecision
from rules.calendar import BERLIN
from services.billing import bill_contracts
from tests.end_of_supply import task_of
from tests.test_billing import Portfolio
from worker import build_worker
from workflows.bill_release import BillReleaseWorkflow
from workflows.billing_run import BillingRunWorkflow

D = Decimal
RUN_DATE = date(2026, 1, 5)


async def test_run_bills_holds_reports_and_resumes_without_double_bills(
    engine: Engine, client: Client, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        books = Portfolio(session)
        books.world.tenant.release_limit = D("2000.00")
        session.add(books.world.tenant)
        ids = []
        for i in range(7):
            contract = books.contract(annual="9000" if i == 3 else "3650")
            if i != 5:  # no start reading: cannot be billed
                books.reading(contract, date(2025, 1, 1), "0")
            books.reading(contract, date(2026, 1, 1), "9000" if i == 3 else "3650")
            ids.append(contract.id or 0)
        tenant = books.tenant
        run_id = f"billing-run/{tenant}/{RUN_DATE}"
        # a crashed earlier attempt of this run already billed the first two contracts
        bill_contracts(session, tenant, ids[:2], RUN_DATE, run_id)
        session.commit()

    async with build_worker(client, engine, settings):
        handle = await client.start_workflow(
            BillingRunWorkflow.run,
            BillingRunInput(tenant_id=tenant, on=RUN_DATE, chunk_size=2, parallel=2),
            id=run_id,
            task_queue=settings.task_queue,
        )
        totals = await handle.result()
        assert (totals.due, totals.billed, totals.held, totals.failed) == (5, 3, 1, 1)
        assert totals.delivered == 5  # with the two billed by the crashed attempt

        with Session(engine) as session:
            per_contract = session.exec(
                select(Bill.contract_id, func.count()).where(Bill.tenant_id == tenant).group_by(col(Bill.contract_id))
            ).all()
            assert sorted(count for _, count in per_contract) == [1] * 6  # nobody twice, one failed without bill
            failed = session.exec(
                select(BillingRunItem).where(BillingRunItem.run_id == run_id, BillingRunItem.outcome == "failed")
            ).one()
            assert failed.contract_id == ids[5] and "no meter reading" in failed.reason
            held = session.exec(select(Bill).where(Bill.tenant_id == tenant, Bill.state == BillState.HELD)).one()
            assert held.contract_id == ids[3] and held.number is None
        printed = sorted(p.name for p in (settings.customer_outbox_path / "print").rglob("*.pdf"))
        assert len(printed) == 5 and all(name.startswith(f"{tenant}-2026-") for name in printed)

        release = client.get_workflow_handle_for(BillReleaseWorkflow.run, f"bill-release/{tenant}/{held.id}")

        task = await task_of(engine, client, f"bill-release/{tenant}/{held.id}", "bill_release")
        assert task.queue == "billing" and task.id is not None
        await release.execute_update(
            BillReleaseWorkflow.decide, TaskDecision(task_id=task.id, decision="release", decided_by="clerk.anna")
        )
        outcome = await release.result()
        assert outcome.state == "booked"
        with Session(engine) as session:
            bill = session.get(Bill, held.id)
            assert bill is not None and bill.number == "2026-0000006" and bill.delivered_at is not None
            assert bill.released_by == "clerk.anna"


async def test_release_refuses_a_reading_correction_without_value(
    engine: Engine, client: Client, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "5000")
        books.reading(contract, date(2026, 1, 1), "4000")
        [held] = bill_contracts(session, books.tenant, [contract.id or 0], RUN_DATE, "run:x")
        session.commit()
    async with build_worker(client, engine, settings):
        handle = await client.start_workflow(
            BillReleaseWorkflow.run,
            BillReleaseInput(tenant_id=books.tenant, bill_id=held.bill_id or 0),
            id=f"bill-release/{books.tenant}/{held.bill_id}",
            task_queue=settings.task_queue,
        )

        task = await task_of(engine, client, f"bill-release/{books.tenant}/{held.bill_id}", "bill_release")
        assert task.id is not None
        try:
            await handle.execute_update(
                BillReleaseWorkflow.decide, TaskDecision(task_id=task.id, decision="correct_reading", data={})
            )
        except Exception as refused:  # the validator refuses before anything is recorded
            assert "needs 'value'" in str(refused.__cause__ or refused)
        else:
            raise AssertionError("a correction without value was accepted")
        await handle.execute_update(
            BillReleaseWorkflow.decide,
            TaskDecision(
                task_id=task.id,
                decision="correct_reading",
                data={"value": "8650", "day": "2026-01-01"},
                decided_by="clerk.ben",
            ),
        )
        outcome = await handle.result()
        assert outcome.state == "booked" and outcome.bill_id != held.bill_id


async def test_daily_schedule_runs_billing_for_its_day(engine: Engine, client: Client, settings: Settings) -> None:
    from services.schedules import schedule_billing_run

    with Session(engine, expire_on_commit=False) as session:
        books = Portfolio(session)
        contract = books.contract()
        plan = BudgetPlan(
            tenant_id=books.tenant,
            contract_id=contract.id or 0,
            business_key=f"plan:{contract.id}",
            valid_from=date(2025, 1, 1),
            annual_net=D("100.84"),
            annual_vat=D("19.16"),
            annual_gross=D("120.00"),
            instalment=D("10.00"),
        )
        session.add(plan)
        session.flush()
        due = datetime.now(BERLIN).date() + timedelta(days=3)
        session.add(BudgetInstalment(plan_id=plan.id or 0, due_date=due, amount=D("10.00")))
        session.commit()
    schedule_id = await schedule_billing_run(client, settings.task_queue, books.tenant)
    handle = client.get_schedule_handle(schedule_id)
    try:
        async with build_worker(client, engine, settings):
            await handle.trigger()

            for _ in range(100):
                actions = (await handle.describe()).info.recent_actions
                if actions:
                    break
                await asyncio.sleep(0.1)
            action = actions[0].action
            assert isinstance(action, ScheduleActionExecutionStartWorkflow)
            workflow_id = action.workflow_id
            totals = await client.get_workflow_handle_for(BillingRunWorkflow.run, workflow_id).result()
    finally:
        await handle.delete()
    # the run day is today: the instalment due in three days is requested; the contract (supplied since
    # January 2025, no readings) is due and reported as not billable
    assert (totals.instalments, totals.due, totals.failed) == (1, 1, 1)
