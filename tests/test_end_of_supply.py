"""End of supply on the time-skipping server: a new supplier's cancellation confirmed, rejected and cleared,
the grid operator's announcement and request, and a customer's cancellation through to the final bill."""

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from models.billing import Bill, BillKind
from models.contracts import Contract
from models.documents import Document
from models.messages import MarketMessage
from models.process import CustomerCancellationInput, PartnerRequestOutcome
from rules.calendar import BERLIN, day_start
from tests import market
from tests.end_of_supply import Supplied, decide, partner_request, task_of
from tests.factories import partner_id
from tests.flow import deliver, eventually
from worker import build_worker
from workflows.customer_cancellation import CustomerCancellationWorkflow
from workflows.supply_end import SupplyEndWorkflow

START = date(2025, 1, 1)
NEW_SUPPLIER = partner_id("99")


def contract_state(engine: Engine, contract_id: int) -> str:
    with Session(engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return contract.state


async def today_on(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(BERLIN).date()


async def receive(env: WorkflowEnvironment, engine: Engine, settings: Settings, supplied: Supplied, raw: bytes) -> str:
    """Deliver the partner's request; returns the id of the process it started."""
    received = await deliver(engine, env.client, settings.task_queue, supplied.world.tenant, raw)

    def started() -> str | None:
        with Session(engine) as session:
            row = session.get(MarketMessage, received.message_id)
            return row.workflow_id if row else None

    return await eventually(started, what="the started process")


async def outcome_of(env: WorkflowEnvironment, workflow_id: str) -> PartnerRequestOutcome:
    outcome: PartnerRequestOutcome = await env.client.get_workflow_handle(
        workflow_id, result_type=PartnerRequestOutcome
    ).result()
    return outcome


def answered(engine: Engine, workflow_id: str, pid: str) -> market.UtilmdMessage:
    [row] = market.sent(engine, workflow_id, pid)
    return market.request_of(row)


async def test_new_suppliers_cancellation_confirmed_starts_the_supply_end(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        end = await today_on(time_env) + timedelta(days=60)
        raw = partner_request(supplied, "55016", NEW_SUPPLIER, end=end)
        workflow_id = await receive(time_env, engine, settings, supplied, raw)
        assert workflow_id.startswith(f"incoming-cancellation/{supplied.world.tenant.id}/")
        outcome = await outcome_of(time_env, workflow_id)
        assert outcome.state == "confirmed" and outcome.answer == "55017" and outcome.end == end
        confirmation = answered(engine, workflow_id, "55017")
        assert (confirmation.answer_code, confirmation.answer_code_list) == ("A09", "E_0614")
        assert confirmation.receiver == NEW_SUPPLIER and confirmation.end_at == day_start(end, "strom")
        assert confirmation.annual_consumption_kwh == 3650
        supply_end = f"supply-end/{supplied.world.tenant.id}/{supplied.contract.contract_number}"
        [abmeldung] = await eventually(lambda: market.sent(engine, supply_end, "55004"), what="Abmeldung 55004")
        request = market.request_of(abmeldung)
        assert request.end == day_start(end, "strom") and request.receiver == supplied.world.grid_operator.id
        assert request.transaction_reason == "E03"


async def test_new_suppliers_cancellation_too_short_notice_is_rejected_with_next_date(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        today = await today_on(time_env)
        raw = partner_request(supplied, "55016", NEW_SUPPLIER, end=today + timedelta(days=5))
        workflow_id = await receive(time_env, engine, settings, supplied, raw)
        outcome = await outcome_of(time_env, workflow_id)
        assert outcome.state == "rejected" and outcome.answer == "55018"
        rejection = answered(engine, workflow_id, "55018")
        assert rejection.answer_code in ("A05", "A06") and rejection.answer_code_list == "E_0614"
        assert rejection.next_possible_date == day_start(today + timedelta(days=28), "strom")
        assert rejection.notice_period == "01MQ"
        assert market.sent(engine, f"supply-end/{supplied.world.tenant.id}/{supplied.contract.contract_number}") == []


async def test_cancellation_the_rules_cannot_decide_is_cleared_before_the_deadline(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        with Session(engine) as session:  # the contract starts only after the requested end: a wrong MaLo?
            session.get(Contract, supplied.contract_id).supply_start = date(2099, 1, 1)  # type: ignore[union-attr]
            session.commit()
        end = await today_on(time_env) + timedelta(days=60)
        workflow_id = await receive(
            time_env, engine, settings, supplied, partner_request(supplied, "55016", NEW_SUPPLIER, end=end)
        )
        task = await task_of(engine, time_env.client, workflow_id, "cancellation_undecidable")
        assert task.allowed_decisions == ["confirm", "reject"] and task.priority == 1
        assert task.due_at is not None
        await decide(time_env.client, workflow_id, task, "reject", {"code": "A04"})
        outcome = await outcome_of(time_env, workflow_id)
        assert outcome.state == "rejected"
        assert answered(engine, workflow_id, "55018").answer_code == "A04"


async def test_grid_operators_announcement_is_confirmed_and_ends_the_supply(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        end = await today_on(time_env) + timedelta(days=30)
        raw = partner_request(supplied, "55007", supplied.world.grid_operator.id, end=end, reason="Z33")
        workflow_id = await receive(time_env, engine, settings, supplied, raw)
        outcome = await outcome_of(time_env, workflow_id)
        assert outcome.state == "ending" and outcome.answer == "55008"
        assert answered(engine, workflow_id, "55008").answer_code == "A10"
        supply_end = f"supply-end/{supplied.world.tenant.id}/{supplied.contract.contract_number}"

        def ending() -> bool:
            with Session(engine) as session:
                contract = session.get(Contract, supplied.contract_id)
                return contract is not None and contract.state == "ending" and contract.supply_end == end

        await eventually(ending, what="contract ending")
        assert market.sent(engine, supply_end, "55004") == []  # the grid operator ended it: no Abmeldung


async def test_grid_operators_request_to_end_our_assignment_is_confirmed_when_we_end_anyway(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        end = await today_on(time_env) + timedelta(days=20)
        with Session(engine) as session:
            contract = session.get(Contract, supplied.contract_id)
            assert contract is not None
            contract.state, contract.supply_end = "ending", end
            session.commit()
        raw = partner_request(supplied, "55010", supplied.world.grid_operator.id, end=end)
        workflow_id = await receive(time_env, engine, settings, supplied, raw)
        outcome = await outcome_of(time_env, workflow_id)
        assert outcome.answer == "55011"
        assert answered(engine, workflow_id, "55011").answer_code == "A36"


async def test_customer_cancellation_to_final_bill(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        today = await today_on(time_env)
        requested = today + timedelta(days=40)
        handle = await time_env.client.start_workflow(
            CustomerCancellationWorkflow.run,
            CustomerCancellationInput(contract_id=supplied.contract_id, received_on=today, requested_end=requested),
            id=f"cancellation/{supplied.world.tenant.id}/{supplied.contract.contract_number}",
            task_queue=settings.task_queue,
        )
        outcome = await handle.result()
        assert outcome.state == "confirmed" and outcome.end == requested
        supply_end = f"supply-end/{supplied.world.tenant.id}/{supplied.contract.contract_number}"
        [abmeldung] = await eventually(lambda: market.sent(engine, supply_end, "55004"), what="Abmeldung 55004")
        await deliver(
            engine,
            time_env.client,
            settings.task_queue,
            supplied.world.tenant,
            market.answer(abmeldung, "55005", answer_code="A01", answer_code_list="E_0611", end=requested),
        )
        await eventually(lambda: contract_state(engine, supplied.contract_id) == "ending", what="ending")
        await time_env.sleep(timedelta(days=41))  # past the end of supply
        status = await time_env.client.get_workflow_handle_for(SupplyEndWorkflow.run, supply_end).query(
            SupplyEndWorkflow.status
        )
        assert status.state == "ended" and contract_state(engine, supplied.contract_id) == "ended"
        final = f"final-reading/{supplied.world.tenant.id}/{supplied.contract.contract_number}"
        await supplied.send_final_reading(requested, str(1000 + 10 * (requested - START).days))
        await time_env.client.get_workflow_handle(final).result()

    with Session(engine) as session:
        contract = session.get(Contract, supplied.contract_id)
        assert contract is not None and contract.state == "ended" and contract.supply_end == requested
        kinds = Counter(
            d.kind for d in session.exec(select(Document).where(Document.contract_id == supplied.contract_id)).all()
        )
        assert kinds["cancellation_confirmation"] == 1 and kinds["bill"] == 1
        [bill] = session.exec(
            select(Bill).where(Bill.contract_id == supplied.contract_id, Bill.kind == BillKind.FINAL)
        ).all()
        assert bill.period_end == requested and not bill.estimated
    assert Counter(r.pruefidentifikator for r in market.sent(engine, supply_end)) == Counter({"55004": 1})


async def test_cancellation_inside_the_minimum_term_is_rejected_to_its_end(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        supplied = Supplied.create(engine, time_env.client, settings, start=START)
        today = await today_on(time_env)
        term_end = today + timedelta(days=200)
        with Session(engine) as session:
            contract = session.get(Contract, supplied.contract_id)
            assert contract is not None
            contract.minimum_term_until = term_end
            session.commit()
        raw = partner_request(supplied, "55016", NEW_SUPPLIER, end=today + timedelta(days=60))
        workflow_id = await receive(time_env, engine, settings, supplied, raw)
        outcome = await outcome_of(time_env, workflow_id)
        assert outcome.state == "rejected"
        rejection = answered(engine, workflow_id, "55018")
        assert rejection.next_possible_date == day_start(term_end, "strom")
