"""Supply start when the market stays silent: answer deadlines and clerk escalation on the time-skipping server.

Each test has a test server of its own (``time_env``): its clock jumps when we ``sleep`` on it or await a result.
Deadlines run from the moment the request was sent (its ``created_at`` is within seconds of it).
"""

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from rules.calendar import answer_deadline, day_start
from tests import market
from tests.cases import Case, pdf_text, task_row
from tests.flow import contract_row, open_task
from worker import build_worker
from workflows.supply_start import CLERK_GRACE

MARGIN = timedelta(minutes=5)


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    """Let the test server's clock jump to ``moment`` (timers due on the way fire)."""
    now = await env.get_current_time()
    assert moment > now, f"{moment} already passed on the test server ({now})"
    await env.sleep(moment - now)


async def test_previous_supplier_silent_clerk_proceeds(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        deadline = answer_deadline(cancellation.created_at, None)  # end of the 1st working day after sending

        await sleep_until(time_env, deadline - MARGIN)
        assert open_task(engine, case.wf) is None
        status = await case.status()
        assert status.state == "cancelling_previous" and status.waiting_for is not None

        await time_env.sleep(2 * MARGIN)
        task = await case.task("previous_supplier_no_answer")
        assert task.queue == "clearing" and task.data == {}
        assert task.allowed_decisions == ["resend_cancellation", "proceed", "take_next_date", "cancel_order"]
        assert contract_row(engine, case.contract_id).state == "clearing"
        assert market.sent(engine, case.wf, "55001") == []

        await case.decide(task, "proceed")
        registration = await case.sent("55001")
        assert market.request_of(registration).start == day_start(case.start, "strom")
        await case.deliver(
            market.answer(registration, "55002", answer_code="A51", answer_code_list="E_0623", start=case.start)
        )
        status = await case.result()

    assert status.state == "active" and status.supply_start == case.start
    assert contract_row(engine, case.contract_id).state == "active"
    assert task_row(engine, task).decision == "proceed"
    assert not [t for t in case.tasks() if t.state == "open"]
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})


async def _registration_overdue(case: Case, time_env: WorkflowEnvironment) -> int:
    """Cancellation confirmed at once, then the grid operator stays silent past 11:00 of the 1st working day."""
    engine = case.engine
    cancellation = await case.sent("55016")
    await case.deliver(
        market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
    )
    registration = await case.sent("55001")
    deadline = answer_deadline(registration.created_at, 11)

    await sleep_until(time_env, deadline - MARGIN)
    assert open_task(engine, case.wf) is None
    assert (await case.status()).state == "registering"

    await time_env.sleep(2 * MARGIN)
    task = await case.task("grid_operator_no_answer")
    assert task.queue == "supervisor" and task.priority == 1
    assert task.allowed_decisions == ["resend", "keep_waiting", "cancel_order"]
    assert contract_row(engine, case.contract_id).state == "clearing"
    assert task.id is not None
    return task.id


async def test_grid_operator_silent_late_confirmation_still_completes(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        task_id = await _registration_overdue(case, time_env)
        registration = await case.sent("55001")
        await case.deliver(
            market.answer(registration, "55002", answer_code="A51", answer_code_list="E_0623", start=case.start)
        )
        status = await case.result()

    assert status.state == "active" and status.supply_start == case.start
    assert contract_row(engine, case.contract_id).state == "active"
    closed = task_row(engine, task_id)
    assert closed.state == "cancelled" and closed.decision is None and closed.decided_by is None
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})


async def test_grid_operator_silent_supervisor_keeps_waiting(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        task_id = await _registration_overdue(case, time_env)
        assert await case.decide(task_id, "keep_waiting", decided_by="supervisor.braun") == "accepted"
        status = await case.status()
        assert status.open_task_ids == [] and status.waiting_for == "registration answer (overdue)"
        await time_env.sleep(timedelta(days=3))
        assert (await case.status()).waiting_for == "registration answer (overdue)"

        registration = await case.sent("55001")
        await case.deliver(
            market.answer(registration, "55002", answer_code="A51", answer_code_list="E_0623", start=case.start)
        )
        status = await case.result()

    assert status.state == "active"
    decided = task_row(engine, task_id)
    assert decided.state == "done" and decided.decision == "keep_waiting" and decided.decided_by == "supervisor.braun"
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})


async def test_grid_operator_silent_supervisor_cancels_order(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        task_id = await _registration_overdue(case, time_env)
        await case.decide(task_id, "cancel_order", decided_by="supervisor.braun")
        status = await case.result()

    assert status.state == "cancelled"
    row = contract_row(engine, case.contract_id)
    assert row.state == "cancelled" and row.supply_start is None
    [letter] = case.documents()
    assert letter.kind == "order_cancelled"
    text = pdf_text(letter)
    assert case.contract.contract_number in text and "nicht beantwortet" in text
    assert task_row(engine, task_id).decision == "cancel_order"
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})


async def test_undecided_rejection_moves_to_supervisors(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        await case.deliver(
            market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
        )
        registration = await case.sent("55001")
        await case.deliver(market.answer(registration, "55003", answer_code="A06", answer_code_list="E_0622"))
        task = await case.task("registration_rejected")
        assert task.queue == "clearing" and task.priority == 2 and task.id is not None

        await time_env.sleep(CLERK_GRACE - MARGIN)
        assert task_row(engine, task).queue == "clearing"
        await time_env.sleep(2 * MARGIN)
        escalated = await case.task("registration_rejected")
        for _ in range(100):
            escalated = task_row(engine, task)
            if escalated.queue == "supervisor":
                break
            await time_env.sleep(timedelta(seconds=1))
        assert escalated.queue == "supervisor" and escalated.priority == 1 and escalated.state == "open"

        await case.decide(task.id, "cancel_order", decided_by="supervisor.braun")
        status = await case.result()

    assert status.state == "cancelled"
    assert [d.kind for d in case.documents()] == ["order_cancelled"]
    assert task_row(engine, task).decided_by == "supervisor.braun"


async def test_grid_operator_silent_supervisor_resends(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        task_id = await _registration_overdue(case, time_env)
        await case.decide(task_id, "resend", decided_by="supervisor.braun")
        first, second = market.request_of(await case.sent("55001", 1)), market.request_of(await case.sent("55001", 2))
        assert second.transaction_id != first.transaction_id
        assert second.malo_id == first.malo_id and second.start == first.start == day_start(case.start, "strom")
        await case.deliver(
            market.answer(await case.sent("55001", 2), "55002", answer_code="A51", answer_code_list="E_0623")
        )
        status = await case.result()

    assert status.state == "active" and status.supply_start == case.start
    assert task_row(engine, task_id).decision == "resend"
    assert not [t for t in case.tasks() if t.state == "open"]
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 2})


async def test_previous_supplier_answers_late_the_clerk_task_is_withdrawn(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = time_env.client
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        await sleep_until(time_env, answer_deadline(cancellation.created_at, None) + MARGIN)
        task = await case.task("previous_supplier_no_answer")
        await case.deliver(
            market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
        )
        registration = await case.sent("55001")
        assert task_row(engine, task).state == "cancelled"
        await case.deliver(
            market.answer(registration, "55002", answer_code="A51", answer_code_list="E_0623", start=case.start)
        )
        status = await case.result()
    assert status.state == "active" and status.supply_start == case.start
    assert case.outbound_counts() == Counter({"55016": 1, "55001": 1})
