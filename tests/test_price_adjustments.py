"""A price adjustment on the time-skipping server: refused when the notice period cannot be kept, announced to
every customer on the tariff in time (a new budget plan and the notice), and a customer cancelling on it."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from models.contracts import BudgetPlan, Contract, ContractState, PriceAdjustment
from models.documents import Document
from models.orders import ContractOrder
from models.process import CustomerCancellationInput, PartnerRequestOutcome, PriceRun
from rules.calendar import BERLIN
from rules.price_changes import earliest_change, latest_letter_day
from services.intake import intake
from services.price_changes import PriceChangeRefused, announce, pending_for
from tests.cases import pdf_text
from tests.end_of_supply import finished
from tests.factories import World
from worker import build_worker
from workflows.customer_cancellation import CustomerCancellationWorkflow
from workflows.price_adjustment import PriceAdjustmentRunWorkflow

D = Decimal


def customers(engine: Engine) -> tuple[World, list[Contract]]:
    """One tenant: two Strom customers on STROM-BASIS (the second in basic supply) and one on gas."""
    with Session(engine, expire_on_commit=False) as session:
        world = World(session)
        contracts = []
        for division, basic in (("strom", False), ("strom", True), ("gas", False)):
            order = ContractOrder.model_validate(world.order(date(2025, 1, 1), division=division))
            contract, _ = intake(session, world.tenant, order, date(2024, 11, 1))
            contract.state, contract.supply_start, contract.basic_supply = ContractState.ACTIVE, date(2025, 1, 1), basic
            session.add(contract)
            contracts.append(contract)
        session.commit()
        return world, contracts


async def test_price_adjustment_is_announced_in_time_and_a_customer_cancels_on_it(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    world, (special, basic, gas) = customers(engine)
    today = (await time_env.get_current_time()).astimezone(BERLIN).date()
    change_on = earliest_change(today, basic_supply=True)
    with Session(engine) as session:
        with pytest.raises(PriceChangeRefused, match="six weeks"):
            announce(
                session,
                world.tenant.id,
                "STROM-BASIS",
                change_on - timedelta(days=1),
                D("0.35"),
                D("130"),
                reason="",
                announced_by="client",
                today=today,
            )
        adjustment = announce(
            session,
            world.tenant.id,
            "STROM-BASIS",
            change_on,
            D("0.3500"),
            D("130.00"),
            reason="Die Beschaffungskosten sind gestiegen.",
            announced_by="client",
            today=today,
        )
        session.commit()
        assert adjustment.id is not None and adjustment.workflow_id is not None
    async with build_worker(time_env.client, engine, settings):
        status = await time_env.client.execute_workflow(
            PriceAdjustmentRunWorkflow.run,
            PriceRun(tenant_id=world.tenant.id, adjustment_id=adjustment.id),
            id=adjustment.workflow_id,
            task_queue=settings.task_queue,
        )
        assert status.state == "notified" and status.waiting_for == "2 of 2 customers notified"
        with Session(engine) as session:
            row = session.get(PriceAdjustment, adjustment.id)
            assert row is not None and (row.customers, row.notified, row.state) == (2, 2, "notified")
            letters = {
                d.contract_id: d
                for d in session.exec(select(Document).where(Document.kind == "price_adjustment")).all()
                if d.contract_id in (special.id, basic.id, gas.id)
            }
            plans = session.exec(
                select(BudgetPlan).where(BudgetPlan.contract_id == special.id).order_by(col(BudgetPlan.id))
            ).all()
        assert set(letters) == {special.id, basic.id}  # the gas customer is on another tariff
        for contract in (special, basic):
            sent = letters[contract.id].created_at.astimezone(BERLIN).date()
            assert sent <= latest_letter_day(change_on, contract.basic_supply)
            assert letters[contract.id].delivery == "print"
        text = pdf_text(letters[basic.id])
        assert "Sonderkündigungsrecht" in text and "StromGVV" in text and "Beschaffungskosten" in text
        assert "StromGVV" not in pdf_text(letters[special.id])
        [plan] = plans
        assert plan.valid_from >= change_on  # 3,500 kWh x 0.35 + 130 = 1,355.00 net, 1,612.45 gross
        assert plan.annual_gross == D("1612.45")

        with Session(engine) as session:
            pending = pending_for(session, session.get(Contract, special.id), today)  # type: ignore[arg-type]
        assert pending is not None and pending.valid_from == change_on
        cancellation = f"cancellation/{world.tenant.id}/{special.contract_number}"
        await time_env.client.start_workflow(
            CustomerCancellationWorkflow.run,
            CustomerCancellationInput(
                contract_id=special.id or 0, received_on=today, price_change_on=change_on, channel="letter"
            ),
            id=cancellation,
            task_queue=settings.task_queue,
        )
        outcome = await finished(time_env, cancellation, PartnerRequestOutcome)
    assert outcome.state == "confirmed" and outcome.end == change_on  # no notice period, no minimum term
