"""The supply-start process end to end on the real servers, driven like the market would."""

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from core.settings import Settings
from models.contracts import BudgetInstalment, BudgetPlan
from models.documents import Document
from rules.calendar import earliest_supply_start
from tests import market
from tests.factories import World
from tests.flow import contract_row, deliver, eventually, start_order, today
from worker import build_worker
from workflows.supply_start import SupplyStartWorkflow


async def test_happy_path_strom(engine: Engine, client: Client, settings: Settings) -> None:
    with Session(engine, expire_on_commit=False) as session:
        world = World(session)
    start = earliest_supply_start(today()) + timedelta(days=10)
    contract = await start_order(engine, client, settings.task_queue, world.tenant, world.order(start))
    wf = contract.workflow_id
    assert wf is not None
    async with build_worker(client, engine, settings):
        cancellation = (await eventually(lambda: market.sent(engine, wf, "55016"), what="55016"))[0]
        await deliver(
            engine,
            client,
            settings.task_queue,
            world.tenant,
            market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614", end=start),
        )
        registration = (await eventually(lambda: market.sent(engine, wf, "55001"), what="55001"))[0]
        await deliver(
            engine,
            client,
            settings.task_queue,
            world.tenant,
            market.answer(registration, "55002", answer_code="A51", answer_code_list="E_0623", start=start),
        )
        status = await client.get_workflow_handle_for(SupplyStartWorkflow.run, wf).result()
    assert status.state == "active"
    row = contract_row(engine, contract.id or 0)
    assert row.state == "active" and row.supply_start == start
    with Session(engine) as session:
        plan = session.exec(select(BudgetPlan).where(BudgetPlan.contract_id == contract.id)).one()
        instalments = session.exec(
            select(BudgetInstalment).where(BudgetInstalment.plan_id == plan.id).order_by(col(BudgetInstalment.due_date))
        ).all()
        assert len(instalments) == 12 and sum(i.amount for i in instalments) == plan.annual_gross
        letter = session.exec(select(Document).where(Document.contract_id == contract.id)).one()
        assert letter.kind == "welcome_letter" and letter.content.startswith(b"%PDF")
