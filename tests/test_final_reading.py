"""Messdateninkasso on the time-skipping server: the final reading on time, after the reminder, after the
escalation, never (a clerk chooses an estimate or the customer's reading), and twice."""

import asyncio
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from models.billing import Bill, BillKind
from models.process import FinalReadingInput
from tests import market
from tests.end_of_supply import Supplied, decide, task_of
from tests.flow import eventually
from worker import build_worker
from workflows import search
from workflows.final_reading import FinalReadingWorkflow

START = date(2025, 1, 1)


async def begin(
    engine: Engine, env: WorkflowEnvironment, settings: Settings, days_ago: int
) -> tuple[Supplied, str, date]:
    today = (await env.get_current_time()).date()
    end = today - timedelta(days=days_ago)
    supplied = Supplied.create(engine, env.client, settings, start=START)
    supplied.set_supply_end(end)
    workflow_id = f"final-reading/{supplied.world.tenant.id}/{supplied.contract.contract_number}"
    await env.client.start_workflow(
        FinalReadingWorkflow.run,
        FinalReadingInput(contract_id=supplied.contract_id, supply_end=end),
        id=workflow_id,
        task_queue=settings.task_queue,
    )
    return supplied, workflow_id, end


def final_bills(engine: Engine, contract_id: int) -> list[Bill]:
    with Session(engine) as session:
        return list(
            session.exec(select(Bill).where(Bill.contract_id == contract_id, Bill.kind == BillKind.FINAL)).all()
        )


def sent(engine: Engine, workflow_id: str) -> Counter[str]:
    return Counter(row.pruefidentifikator or "" for row in market.sent(engine, workflow_id))


async def test_reading_on_time_twice_gives_one_final_bill(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied, workflow_id, end = await begin(engine, time_env, settings, days_ago=3)
        days = (end - START).days
        await supplied.send_final_reading(end, str(1000 + 10 * days))
        await supplied.send_final_reading(end, str(1000 + 10 * days))  # the duplicate
        status = await time_env.client.get_workflow_handle_for(FinalReadingWorkflow.run, workflow_id).result()
    [bill] = final_bills(engine, supplied.contract_id)
    assert status.state == "final_bill_billed", bill.hold_reasons
    assert bill.period_end == end and bill.consumption_kwh == 10 * days and not bill.estimated
    assert sent(engine, workflow_id) == Counter()  # nothing had to be asked


async def test_reading_after_the_reminder(engine: Engine, time_env: WorkflowEnvironment, settings: Settings) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied, workflow_id, end = await begin(engine, time_env, settings, days_ago=30)  # already overdue
        await eventually(lambda: market.sent(engine, workflow_id, "17102"), what="ORDERS 17102")
        request = market.sent(engine, workflow_id, "17102")[0]
        handle = time_env.client.get_workflow_handle(workflow_id)

        async def waiting_for() -> str | None:
            attributes = (await handle.describe()).typed_search_attributes
            return attributes.get(search.WAITING_FOR)

        for _ in range(100):  # the attribute is set with the workflow task that sent the request
            if (reason := await waiting_for()) and "17102" in reason:
                break
            await asyncio.sleep(0.1)
        assert reason is not None and reason.startswith("the asked-for values (17102) until")
        assert (await handle.describe()).typed_search_attributes.get(search.PROCESS_STATE) == "requesting_final_reading"
        assert request.receiver == supplied.world.grid_operator.id and request.malo_id == supplied.malo_id
        await supplied.send_final_reading(end, str(1000 + 9 * (end - START).days))
        status = await time_env.client.get_workflow_handle_for(FinalReadingWorkflow.run, workflow_id).result()
    assert status.state == "final_bill_billed"
    assert sent(engine, workflow_id) == Counter({"17102": 1})
    [bill] = final_bills(engine, supplied.contract_id)
    assert bill.consumption_kwh == 9 * (end - START).days


async def test_reading_after_the_complaint(engine: Engine, time_env: WorkflowEnvironment, settings: Settings) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied, workflow_id, end = await begin(engine, time_env, settings, days_ago=30)
        await eventually(lambda: market.sent(engine, workflow_id, "17102"), what="ORDERS 17102")
        await time_env.sleep(timedelta(days=7))  # four working days pass
        await eventually(lambda: market.sent(engine, workflow_id, "17113"), what="ORDERS 17113")
        await supplied.send_final_reading(end, str(1000 + 11 * (end - START).days))
        status = await time_env.client.get_workflow_handle_for(FinalReadingWorkflow.run, workflow_id).result()
    assert status.state == "final_bill_billed" and sent(engine, workflow_id) == Counter({"17102": 1, "17113": 1})


async def test_never_arrives_clerk_chooses_estimate(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied, workflow_id, end = await begin(engine, time_env, settings, days_ago=30)
        await eventually(lambda: market.sent(engine, workflow_id, "17102"), what="ORDERS 17102")
        await time_env.sleep(timedelta(days=7))
        await eventually(lambda: market.sent(engine, workflow_id, "17113"), what="ORDERS 17113")
        await time_env.sleep(timedelta(days=6))  # three more working days
        task = await task_of(engine, time_env.client, workflow_id, "final_reading_missing")
        assert task.allowed_decisions == ["request_again", "accept_estimate", "customer_reading"]
        await decide(time_env.client, workflow_id, task, "accept_estimate")
        status = await time_env.client.get_workflow_handle_for(FinalReadingWorkflow.run, workflow_id).result()
    assert status.state == "final_bill_billed"
    [bill] = final_bills(engine, supplied.contract_id)
    assert bill.estimated and bill.consumption_kwh == 10 * (end - START).days  # the forecast, 10 kWh a day


async def test_never_arrives_clerk_enters_the_customers_reading(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied, workflow_id, _end = await begin(engine, time_env, settings, days_ago=30)
        await eventually(lambda: market.sent(engine, workflow_id, "17102"), what="ORDERS 17102")
        await time_env.sleep(timedelta(days=7))
        await eventually(lambda: market.sent(engine, workflow_id, "17113"), what="ORDERS 17113")
        await time_env.sleep(timedelta(days=6))
        task = await task_of(engine, time_env.client, workflow_id, "final_reading_missing")
        await decide(time_env.client, workflow_id, task, "customer_reading", {"value": "4200"})
        status = await time_env.client.get_workflow_handle_for(FinalReadingWorkflow.run, workflow_id).result()
    assert status.state in ("final_bill_billed", "final_bill_held")
    [bill] = final_bills(engine, supplied.contract_id)
    assert bill.consumption_kwh == 3200 and not bill.estimated
