"""Supply start off the happy path, on the real servers: rejections, clerk decisions, a restarted worker,
repeated and stray inbound messages, the shared sample answers and gas.

Every test has its own tenant and contract and answers as the market would, through the inbox.
"""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from models.contracts import BudgetPlan, MarketLocation
from models.messages import MessageState
from models.process import TaskDecision
from rules.calendar import day_start
from services.inbox import inbound_workflow_id, receive_interchange, start_processing
from tests import market
from tests.cases import Case, message_row, pdf_text, task_row
from tests.conftest import samples_dir
from tests.factories import malo_id, partner_id
from tests.flow import contract_row, eventually, open_task, today
from worker import build_worker
from workflows import search
from workflows.inbound import InboundMessageWorkflow

CONFIRM_CANCELLATION = {"strom": ("55017", "A09", "E_0614"), "gas": ("44017", "E15", "G_0006")}
CONFIRM_REGISTRATION = {"strom": ("55002", "A51", "E_0623"), "gas": ("44002", "E15", "G_0012")}


async def confirm_cancellation(case: Case, division: str = "strom") -> None:
    request = "55016" if division == "strom" else "44016"
    pid, code, code_list = CONFIRM_CANCELLATION[division]
    row = await case.sent(request)
    await case.deliver(market.answer(row, pid, answer_code=code, answer_code_list=code_list, end=case.start))


async def reject_registration(case: Case, nth: int = 1) -> None:
    row = await case.sent("55001", nth)
    await case.deliver(market.answer(row, "55003", answer_code="A06", answer_code_list="E_0622"))


async def confirm_registration(case: Case, start: date, nth: int = 1, division: str = "strom") -> None:
    pid, code, code_list = CONFIRM_REGISTRATION[division]
    row = await case.sent("55001" if division == "strom" else "44001", nth)
    await case.deliver(market.answer(row, pid, answer_code=code, answer_code_list=code_list, start=start))


def assert_active(case: Case, status_state: str, start: date) -> None:
    assert status_state == "active"
    row = contract_row(case.engine, case.contract_id)
    assert row.state == "active" and row.supply_start == start
    with Session(case.engine) as session:
        plan = session.exec(select(BudgetPlan).where(BudgetPlan.contract_id == case.contract_id)).one()
    assert plan.valid_from == start
    assert [d.kind for d in case.documents()] == ["welcome_letter"]
    assert not [t for t in case.tasks() if t.state == "open"]


# ---------------------------------------------------------------- registration rejected, clerk corrects


async def test_registration_rejected_clerk_corrects_malo_and_start(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    new_malo, new_start = malo_id(), case.start + timedelta(days=7)
    async with build_worker(client, engine, settings):
        await confirm_cancellation(case)
        await reject_registration(case)
        task = await case.task("registration_rejected")
        assert task.queue == "clearing" and task.contract_id == case.contract_id
        assert task.allowed_decisions == ["correct_and_resend", "take_next_date", "cancel_order"]
        assert task.data["answer"]["answer_code"] == "A06" and "A06:E_0622" in task.title
        assert contract_row(engine, case.contract_id).state == "clearing"
        assert (await case.status()).open_task_ids == [task.id]

        correction = {"malo_id": new_malo, "start": new_start.isoformat()}
        assert await case.decide(task, "correct_and_resend", correction, decided_by="clerk.schmidt") == "accepted"

        first, second = market.request_of(await case.sent("55001", 1)), market.request_of(await case.sent("55001", 2))
        assert second.malo_id == new_malo != first.malo_id
        assert second.start == day_start(new_start, "strom") and first.start == day_start(case.start, "strom")
        assert second.transaction_id != first.transaction_id
        assert second.receiver == first.receiver == case.world.grid_operator.id
        await confirm_registration(case, new_start, nth=2)
        status = await case.result()

    assert status.supply_start == new_start
    assert_active(case, status.state, new_start)
    assert contract_row(engine, case.contract_id).wished_start == new_start
    with Session(engine) as session:
        location = session.get(MarketLocation, case.contract.location_id)
        assert location is not None and location.malo_id == new_malo
    decided = task_row(engine, task)
    assert decided.state == "done" and decided.decision == "correct_and_resend"
    assert decided.decided_by == "clerk.schmidt" and decided.decision_data == correction
    assert decided.decided_at is not None and abs(datetime.now(UTC) - decided.decided_at) < timedelta(minutes=5)
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 2})


# ---------------------------------------------------------------- previous supplier rejects, next possible date


async def test_cancellation_rejected_clerk_takes_next_possible_date(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    proposal = case.start + timedelta(days=31)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        assert market.request_of(cancellation).end == day_start(case.start, "strom")
        await case.deliver(
            market.answer(
                cancellation, "55018", answer_code="A05", answer_code_list="E_0614", next_possible_date=proposal
            )
        )
        task = await case.task("previous_supplier_rejected")
        assert task.data["proposed_start"] == proposal.isoformat() and "A05:E_0614" in task.title
        assert task.allowed_decisions == ["resend_cancellation", "proceed", "take_next_date", "cancel_order"]
        assert market.sent(engine, case.wf, "55001") == []
        await case.decide(task, "take_next_date")

        registration = await case.sent("55001")
        assert market.request_of(registration).start == day_start(proposal, "strom")
        # 55036 (existing assignment) is information only: the process keeps waiting for 55002/55003.
        info = await case.deliver(market.answer(registration, "55036"))
        await eventually(lambda: message_row(engine, info.message_id).state == "processed", what="55036 processed")
        status = await case.status()
        assert status.state == "registering" and (status.waiting_for or "").startswith("registration answer")
        await confirm_registration(case, proposal)
        status = await case.result()

    assert status.supply_start == proposal
    assert_active(case, status.state, proposal)
    assert task_row(engine, task).decision == "take_next_date"
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})


# ---------------------------------------------------------------- a worker stopped in the middle


async def test_worker_restart_mid_process_sends_every_message_once(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
    # No worker runs: the answer is stored and its processing waits for the next worker.
    received = await case.deliver(
        market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
    )
    assert received.state == "received"
    assert message_row(engine, received.message_id).state == "received"
    assert market.sent(engine, case.wf, "55001") == []

    async with build_worker(client, engine, settings):
        await confirm_registration(case, case.start)
        status = await case.result()

    assert_active(case, status.state, case.start)
    assert message_row(engine, received.message_id).state == "processed"
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})
    rows = market.sent(engine, case.wf)
    assert all(row.state == "sent" for row in rows)
    files = [f.read_bytes() for f in case.outbox_files()]
    assert sorted(f for f in files if b"UTILMD" in f) == sorted(row.raw for row in rows)
    assert len([f for f in files if b"APERAK" in f]) == 2, "each answer is acknowledged once (Strom)"


# ---------------------------------------------------------------- the inbox: repeats and stray answers


async def test_same_interchange_twice_is_a_duplicate_and_processed_once(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        raw = market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
        first = await case.deliver(raw)
        second = await case.deliver(raw)
        assert first.state == "received" and second.state == "duplicate"
        assert second.duplicate_of == first.message_id != second.message_id

        await confirm_registration(case, case.start)
        status = await case.result()
        with pytest.raises(RPCError) as not_started:
            await client.get_workflow_handle(inbound_workflow_id(case.world.tenant.id, second.message_id)).describe()
        assert not_started.value.status == RPCStatusCode.NOT_FOUND

    assert_active(case, status.state, case.start)
    original, duplicate = message_row(engine, first.message_id), message_row(engine, second.message_id)
    assert original.state == "processed" and original.workflow_id == case.wf
    assert duplicate.state == "duplicate" and duplicate.duplicate_of_id == original.id
    assert duplicate.processed_at is None and duplicate.workflow_id is None and duplicate.raw == raw
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})


async def test_answer_to_no_request_goes_to_clearing_and_can_be_dismissed(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    stray_reference = uuid.uuid4().hex.upper()
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        received = await case.deliver(
            market.answer(
                cancellation,
                "55017",
                answer_code="A09",
                answer_code_list="E_0614",
                end=case.start,
                reference_transaction=stray_reference,
            )
        )
        inbound_wf = inbound_workflow_id(case.world.tenant.id, received.message_id)
        task = await eventually(
            lambda: open_task(engine, inbound_wf, "inbound_message_clearing"), what="inbound clearing task"
        )
        assert task.queue == "market-communication" and task.allowed_decisions == ["reprocess", "dismiss"]
        assert f"no request with transaction {stray_reference}" in task.description
        assert task.data["message_id"] == received.message_id
        stray = message_row(engine, received.message_id)
        assert stray.state == MessageState.CLEARING and stray_reference in (stray.error or "")
        # The process did not take the stray answer for its own.
        status = await case.status()
        assert status.state == "cancelling_previous" and (status.waiting_for or "").startswith("cancellation answer")

        inbound = client.get_workflow_handle_for(InboundMessageWorkflow.run, inbound_wf)
        assert task.id is not None
        for _ in range(300):  # the row is written by an activity; the process counts it open once it saw the result
            if task.id in (await inbound.query(InboundMessageWorkflow.status)).open_task_ids:
                break
            await asyncio.sleep(0.1)
        decision = TaskDecision(task_id=task.id, decision="dismiss", decided_by="clerk.weber")
        assert await inbound.execute_update(InboundMessageWorkflow.decide, decision) == "accepted"
        assert (await inbound.result()).state == "processed"

        # The right answer still moves the process on.
        await confirm_cancellation(case)
        await confirm_registration(case, case.start)
        status = await case.result()

    stray = message_row(engine, received.message_id)
    assert stray.state == "processed" and (stray.error or "").startswith("dismissed:")
    assert stray.processed_at is not None and stray.reference_transaction == stray_reference
    dismissed = task_row(engine, task)
    assert dismissed.state == "done" and dismissed.decision == "dismiss" and dismissed.decided_by == "clerk.weber"
    assert_active(case, status.state, case.start)


# ---------------------------------------------------------------- the shared sample answers


async def test_sample_answers_strom_rejection_then_confirmation(
    engine: Engine, client: Client, settings: Settings
) -> None:
    samples = samples_dir()
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        await case.deliver(market.from_sample(samples / "55017_UTILMD_bestaetigung-kuendigung.edi", cancellation))
        registration = await case.sent("55001")
        await case.deliver(market.from_sample(samples / "55003_UTILMD_ablehnung-anmeldung.edi", registration))
        task = await case.task("registration_rejected")
        assert "A06:E_0622" in task.title and task.data["answer"]["sender"] == case.world.grid_operator.id
        await case.decide(task, "correct_and_resend")
        again = await case.sent("55001", 2)
        assert market.request_of(again).start == day_start(case.start, "strom")
        confirmation = market.from_sample(
            samples / "55002_UTILMD_bestaetigung-anmeldung.edi", again, dates={"92": case.start}
        )
        assert f"LOC+Z16+{market.request_of(again).malo_id}'" in confirmation.decode()
        await case.deliver(confirmation)
        status = await case.result()
    assert_active(case, status.state, case.start)
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 2})


async def test_sample_answers_strom_cancellation_rejected_with_next_date(
    engine: Engine, client: Client, settings: Settings
) -> None:
    samples = samples_dir()
    case = await Case.begin(engine, client, settings)
    proposal = case.start + timedelta(days=20)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        rejection = market.from_sample(
            samples / "55018_UTILMD_ablehnung-kuendigung.edi", cancellation, dates={"Z06": proposal}
        )
        await case.deliver(rejection)
        task = await case.task("previous_supplier_rejected")
        assert "A14:E_0614" in task.title and task.data["proposed_start"] == proposal.isoformat()
        await case.decide(task, "take_next_date")
        registration = await case.sent("55001")
        assert market.request_of(registration).start == day_start(proposal, "strom")
        await case.deliver(
            market.from_sample(
                samples / "55002_UTILMD_bestaetigung-anmeldung.edi", registration, dates={"92": proposal}
            )
        )
        status = await case.result()
    assert_active(case, status.state, proposal)


async def test_sample_answers_gas(engine: Engine, client: Client, settings: Settings) -> None:
    samples = samples_dir()
    case = await Case.begin(engine, client, settings, division="gas")
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("44016")
        # The 44017 sample names one partner as sender and receiver; from_sample sets both by position.
        await case.deliver(market.from_sample(samples / "44017_UTILMD_gas-bestaetigung-kuendigung.edi", cancellation))
        registration = await case.sent("44001")
        await case.deliver(
            market.from_sample(
                samples / "44002_UTILMD_gas-bestaetigung-anmeldung.edi", registration, dates={"92": case.start}
            )
        )
        status = await case.result()
    assert_active(case, status.state, case.start)
    assert case.outbound_counts() == Counter({"44016": 1, "44001": 1})


# ---------------------------------------------------------------- gas


async def test_gas_happy_path(engine: Engine, client: Client, settings: Settings) -> None:
    case = await Case.begin(engine, client, settings, division="gas")
    world = case.world
    async with build_worker(client, engine, settings):
        cancellation = market.request_of(await case.sent("44016"))
        assert cancellation.receiver == world.previous_gas_supplier.id
        assert cancellation.sender == world.tenant.gas_market_partner_id
        assert cancellation.association == "G1.1" and cancellation.end_at == day_start(case.start, "gas")
        await confirm_cancellation(case, "gas")
        registration = market.request_of(await case.sent("44001"))
        assert registration.receiver == world.gas_grid_operator.id and registration.category == "E01"
        assert registration.start == day_start(case.start, "gas")
        assert registration.start.astimezone(UTC) != day_start(case.start, "strom")
        await confirm_registration(case, case.start, division="gas")
        status = await case.result()
    assert_active(case, status.state, case.start)
    assert case.outbound_counts() == Counter({"44016": 1, "44001": 1})
    assert not market.sent(engine, case.wf, "55016") and not market.sent(engine, case.wf, "55001")


# ---------------------------------------------------------------- clerk cancels the order


async def test_clerk_cancels_order_after_registration_rejection(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        await confirm_cancellation(case)
        await reject_registration(case)
        task = await case.task("registration_rejected")
        await case.decide(task, "cancel_order", decided_by="clerk.schmidt")
        status = await case.result()

    assert status.state == "cancelled" and status.supply_start is None
    row = contract_row(engine, case.contract_id)
    assert row.state == "cancelled" and row.supply_start is None
    [letter] = case.documents()
    assert letter.kind == "order_cancelled"
    text = pdf_text(letter)
    assert case.contract.contract_number in text and "A06" in text
    with Session(engine) as session:
        assert session.exec(select(BudgetPlan).where(BudgetPlan.contract_id == case.contract_id)).first() is None
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})
    assert len([f for f in case.outbox_files() if b"UTILMD" in f.read_bytes()]) == 2
    decided = task_row(engine, task)
    assert decided.state == "done" and decided.decision == "cancel_order" and decided.decided_by == "clerk.schmidt"


# ---------------------------------------------------------------- invalid decisions are refused


async def test_invalid_decisions_are_refused_and_the_task_stays_open(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        await confirm_cancellation(case)
        await reject_registration(case)  # no next possible date in the answer
        task = await case.task("registration_rejected")
        assert task.id is not None and task.data["proposed_start"] is None
        valid = malo_id()
        wrong_check_digit = valid[:10] + str((int(valid[10]) + 1) % 10)
        yesterday = (today() - timedelta(days=1)).isoformat()

        refusals = [
            (task.id, "proceed", {}, "not allowed"),
            (task.id + 100_000, "cancel_order", {}, "not open"),
            (task.id, "take_next_date", {}, "no date was proposed"),
            (task.id, "take_next_date", {"start": "31.12.2026"}, "isoformat"),
            (task.id, "take_next_date", {"start": yesterday}, "can no longer be registered"),
            (task.id, "correct_and_resend", {"malo_id": wrong_check_digit}, "check digit"),
            (task.id, "correct_and_resend", {"grid_operator_id": "99123"}, "exactly 13 digits"),
        ]
        for task_id, decision, data, reason in refusals:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await case.decide(task_id, decision, data)
            assert reason in str(refused.value.cause), (decision, data, refused.value.cause)

        still_open = task_row(engine, task)
        assert still_open.state == "open" and still_open.decision is None and still_open.decided_at is None
        status = await case.status()
        assert status.state == "clearing" and status.open_task_ids == [task.id]
        assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})

        new_start = case.start + timedelta(days=3)
        assert await case.decide(task, "take_next_date", {"start": new_start.isoformat()}) == "accepted"
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await case.decide(task, "cancel_order")
        assert "not open" in str(twice.value.cause)
        assert market.request_of(await case.sent("55001", 2)).start == day_start(new_start, "strom")
        await confirm_registration(case, new_start, nth=2)
        status = await case.result()
    assert_active(case, status.state, new_start)
    assert task_row(engine, task).decision == "take_next_date"
    with pytest.raises(RPCError) as finished:
        await case.decide(task, "cancel_order")
    assert finished.value.status == RPCStatusCode.NOT_FOUND and "already completed" in finished.value.message


async def test_correction_the_directory_refuses_is_asked_again(
    engine: Engine, client: Client, settings: Settings
) -> None:
    """A well-formed but unknown grid operator cannot be checked by the validator; the process asks again."""
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        await confirm_cancellation(case)
        await reject_registration(case)
        first = await case.task("registration_rejected")
        await case.decide(first, "correct_and_resend", {"grid_operator_id": partner_id("99")})
        second = await case.task("registration_rejected")
        assert second.id != first.id and "not in the partner directory" in second.title
        await case.decide(second, "correct_and_resend", {"grid_operator_id": case.world.grid_operator.id})
        await confirm_registration(case, case.start, nth=2)
        status = await case.result()
    assert_active(case, status.state, case.start)
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 2})


async def test_search_attributes_follow_the_case(engine: Engine, client: Client, settings: Settings) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        await confirm_cancellation(case)
        await reject_registration(case)
        task = await case.task("registration_rejected")
        attributes = (await case.handle().describe()).typed_search_attributes
        assert attributes.get(search.PROCESS_STATE) == "clearing"
        assert attributes.get(search.CLEARING_REASON) == "registration_rejected"
        assert attributes.get(search.TENANT) == case.world.tenant.id
        assert attributes.get(search.MALO) == market.request_of(await case.sent("55001")).malo_id
        await case.decide(task, "correct_and_resend")
        await confirm_registration(case, case.start, nth=2)
        await case.result()
        attributes = (await case.handle().describe()).typed_search_attributes
    assert attributes.get(search.PROCESS_STATE) == "active"
    assert attributes.get(search.CLEARING_REASON) is None


async def test_a_duplicate_is_never_routed_even_when_processing_is_started(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        row = await case.sent("55016")
        raw = market.answer(row, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
        await case.deliver(raw)
        with Session(engine) as session:
            duplicate = receive_interchange(session, case.world.tenant, raw)
        assert duplicate.state == MessageState.DUPLICATE
        workflow_id = await start_processing(client, settings.task_queue, case.world.tenant.id, duplicate.message_id)
        outcome = await client.get_workflow_handle_for(InboundMessageWorkflow.run, workflow_id).result()
        assert outcome.state == MessageState.DUPLICATE
        assert message_row(engine, duplicate.message_id).state == MessageState.DUPLICATE
        await case.sent("55001")
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})
