"""Dunning on the time-skipping server: 1 → 2 → 3 to the supply end, payment stops it, an objection pauses it,
an instalment plan kept and broken, a deferral."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from edifact.envelope import Party, serialize_interchange
from edifact.ordrsp import OrdrspMessage, ordrsp_interchange
from models.contracts import Contract
from models.documents import Document
from models.payments import HoldKind, ItemHold
from models.process import DunningInput, ProcessStatus
from models.tenancy import Tenant
from rules.calendar import BERLIN
from services.chart import book, party_account
from services.ledger import allocate
from services.receivable_terms import hold
from tests import market
from tests.end_of_supply import Supplied, decide, finished, task_of
from tests.flow import deliver, eventually
from worker import build_worker
from workflows.dunning import DunningWorkflow

D = Decimal


class Debt:
    """A supplied customer with an unpaid bill, due a month ago."""

    def __init__(self, engine: Engine, env: WorkflowEnvironment, settings: Settings, today: date) -> None:
        self.engine = engine
        self.supplied = Supplied.create(engine, env.client, settings, start=date(2025, 1, 1))
        self.tenant = self.supplied.world.tenant.id
        with Session(engine) as session:
            tenant = session.get(Tenant, self.tenant)
            assert tenant is not None
            tenant.reminder_fee, tenant.iban = D("1.50"), "DE02120300000000202051"
            number = session.execute(
                text("SELECT account_number FROM contract_account WHERE id = :id"),
                {"id": self.supplied.contract.account_id},
            ).scalar_one()
            self.account = party_account(session, self.tenant, "strom", "debtor", number, "Kunde")
            self.bill = book(
                session,
                tenant_id=self.tenant,
                division="strom",
                doc_type="bill",
                key=f"bill:{self.account}",
                posting_date=today - timedelta(days=45),
                amounts={"net": D("200.00"), "vat": D("38.00")},
                party_account_id=self.account,
                due_date=today - timedelta(days=30),
                text="Rechnung 2026-0000042",
            )
            self.item = session.execute(
                text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
                {"d": self.bill, "a": self.account},
            ).scalar_one()
            session.commit()
        self.workflow_id = f"dunning/{self.tenant}/{self.account}"

    async def start(self, env: WorkflowEnvironment, settings: Settings, level: int = 1) -> None:
        await env.client.start_workflow(
            DunningWorkflow.run,
            DunningInput(tenant_id=self.tenant, account_id=self.account, case_key=str(self.item), level=level),
            id=self.workflow_id,
            task_queue=settings.task_queue,
        )

    def pay(self, amount: str, on: date) -> None:
        with Session(self.engine) as session:
            payment = book(
                session,
                tenant_id=self.tenant,
                division="strom",
                doc_type="payment",
                key=f"pay:{self.account}:{amount}:{on}",
                posting_date=on,
                amounts={"amount": D(amount)},
                party_account_id=self.account,
            )
            line = session.execute(
                text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
                {"d": payment, "a": self.account},
            ).scalar_one()
            allocate(session, line, on)
            session.commit()

    def documents(self) -> Counter[str]:
        with Session(self.engine) as session:
            rows = session.exec(select(Document.kind).where(Document.tenant_id == self.tenant)).all()
            return Counter(rows)


async def today_on(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(BERLIN).date()


async def result(env: WorkflowEnvironment, workflow_id: str) -> str:
    status = await finished(env, workflow_id, ProcessStatus)
    return status.state


async def test_levels_one_two_three_to_the_supply_end(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        debt = Debt(engine, time_env, settings, await today_on(time_env))
        await debt.start(time_env, settings)
        await eventually(lambda: debt.documents()["payment_reminder"], what="reminder letter")
        await time_env.sleep(timedelta(days=15))
        task = await task_of(engine, time_env.client, debt.workflow_id, "dunning_call")
        assert task.queue == "dunning" and "unreachable" in task.allowed_decisions
        await decide(time_env.client, debt.workflow_id, task, "unreachable")
        assert await result(time_env, debt.workflow_id) == "handed_over"
    kinds = debt.documents()
    assert kinds["payment_reminder"] == 1 and kinds["dunning_termination"] == 1 and kinds["collection_handover"] == 1
    supply_end = f"supply-end/{debt.tenant}/{debt.supplied.contract.contract_number}"
    assert market.sent(engine, supply_end, "55004")
    with Session(engine) as session:  # the reminder fee is an open item of the customer
        fees = session.execute(
            text(
                "SELECT l.debit FROM posting_line l JOIN posting_document d ON d.id = l.document_id"
                " WHERE d.doc_type = 'fee' AND l.account_id = :a"
            ),
            {"a": debt.account},
        ).scalars()
        assert list(fees) == [D("1.50")]


async def test_payment_during_dunning_ends_it(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        today = await today_on(time_env)
        debt = Debt(engine, time_env, settings, today)
        await debt.start(time_env, settings)
        await eventually(lambda: debt.documents()["payment_reminder"], what="reminder letter")
        debt.pay("239.50", today)  # the bill and the reminder fee
        assert await result(time_env, debt.workflow_id) == "settled"
    assert debt.documents()["dunning_termination"] == 0


async def test_objection_pauses_until_a_clerk_decides(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        debt = Debt(engine, time_env, settings, await today_on(time_env))
        await debt.start(time_env, settings)
        await eventually(lambda: debt.documents()["payment_reminder"], what="reminder letter")
        handle = time_env.client.get_workflow_handle_for(DunningWorkflow.run, debt.workflow_id)
        assert await handle.execute_update(DunningWorkflow.object, "Rechnung ist falsch") == "paused"
        task = await task_of(engine, time_env.client, debt.workflow_id, "dunning_objection")
        with Session(engine) as session:
            holds = session.exec(select(ItemHold).where(ItemHold.line_id == debt.item)).all()
            assert [(h.kind, h.released_at) for h in holds] == [("dispute", None)]
        await time_env.sleep(timedelta(days=40))  # paused: no level 2 while the clerk looks at it
        assert debt.documents()["dunning_termination"] == 0
        await decide(time_env.client, debt.workflow_id, task, "stop_dunning")
        assert await result(time_env, debt.workflow_id) == "stopped"
    with Session(engine) as session:
        [released] = session.exec(select(ItemHold).where(ItemHold.line_id == debt.item)).all()
        assert released.released_at is not None


async def test_instalment_plan_kept(engine: Engine, time_env: WorkflowEnvironment, settings: Settings) -> None:
    async with build_worker(time_env.client, engine, settings):
        today = await today_on(time_env)
        debt = Debt(engine, time_env, settings, today)
        await debt.start(time_env, settings, level=2)
        task = await task_of(engine, time_env.client, debt.workflow_id, "dunning_call")
        first_due = today + timedelta(days=10)
        await decide(
            time_env.client, debt.workflow_id, task, "instalment_plan", {"rates": 3, "first_due": first_due.isoformat()}
        )
        assert await result(time_env, debt.workflow_id) == "instalment_plan"
        plan = f"instalment-plan/{debt.tenant}/{debt.item}"
        await eventually(lambda: _rates(engine, debt.account), what="rates booked")
        assert [amount for _, amount in _rates(engine, debt.account)] == [D("79.34"), D("79.33"), D("79.33")]
        debt.pay("238.00", today)  # all three rates at once
        status = await finished(time_env, plan, ProcessStatus)
    assert status.state == "kept"


async def test_instalment_plan_broken_is_revoked_and_dunning_resumes(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        today = await today_on(time_env)
        debt = Debt(engine, time_env, settings, today)
        await debt.start(time_env, settings, level=2)
        task = await task_of(engine, time_env.client, debt.workflow_id, "dunning_call")
        first_due = today + timedelta(days=10)
        await decide(
            time_env.client, debt.workflow_id, task, "instalment_plan", {"rates": 2, "first_due": first_due.isoformat()}
        )
        plan = f"instalment-plan/{debt.tenant}/{debt.item}"
        status = await finished(time_env, plan, ProcessStatus)
        assert status.state == "revoked"
        resumed = await task_of(engine, time_env.client, debt.workflow_id, "dunning_call")
        assert resumed.id != task.id
    with Session(engine) as session:
        revocation = session.execute(
            text(
                "SELECT l.debit FROM posting_line l JOIN posting_document d ON d.id = l.document_id"
                " WHERE d.doc_type = 'plan_revocation' AND l.debit > 0 AND l.account_id = :a"
            ),
            {"a": debt.account},
        ).scalar_one()
        assert revocation == D("238.00")


async def test_deferred_item_is_not_dunned(engine: Engine, time_env: WorkflowEnvironment, settings: Settings) -> None:
    async with build_worker(time_env.client, engine, settings):
        today = await today_on(time_env)
        debt = Debt(engine, time_env, settings, today)
        with Session(engine) as session:
            hold(
                session,
                debt.tenant,
                [debt.item],
                HoldKind.DEFERRAL,
                "clerk.anna",
                "Stundung",
                today + timedelta(days=60),
            )
            session.commit()
        await debt.start(time_env, settings)
        assert await result(time_env, debt.workflow_id) == "settled"
    assert debt.documents()["payment_reminder"] == 0


def _rates(engine: Engine, account_id: int) -> list[tuple[date, Decimal]]:
    with Session(engine) as session:
        rows = session.execute(
            text(
                "SELECT l.due_date, l.debit FROM posting_line l JOIN posting_document d ON d.id = l.document_id"
                " WHERE d.doc_type = 'instalment_plan' AND l.debit > 0 AND l.account_id = :a ORDER BY l.due_date"
            ),
            {"a": account_id},
        ).all()
        return [(r.due_date, r.debit) for r in rows]


async def test_basic_supply_customer_is_threatened_then_disconnected_through_the_grid_operator(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        debt = Debt(engine, time_env, settings, await today_on(time_env))
        with Session(engine) as session:
            tenant = session.get(Tenant, debt.tenant)
            contract = session.get(Contract, debt.supplied.contract_id)
            assert tenant is not None and contract is not None
            tenant.disconnect_basic_supply, contract.basic_supply = True, True
            session.commit()
        await debt.start(time_env, settings, level=3)
        await eventually(lambda: debt.documents()["disconnection_threat"], what="threat letter")
        await time_env.sleep(timedelta(days=29))  # four weeks after the threat
        [order] = await eventually(lambda: market.sent(engine, debt.workflow_id, "17115"), what="Sperrauftrag")
        assert order.receiver == debt.supplied.world.grid_operator.id and order.malo_id == debt.supplied.malo_id
        assert debt.documents()["disconnection_notice"] == 1
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        grid, supplier = debt.supplied.world.grid_operator.id, debt.supplied.world.tenant.market_partner_id
        answer = OrdrspMessage(
            pruefidentifikator="19116",
            message_reference="ORD1",
            category="Z51",
            document_number="NB-4711",
            document_date=now,
            order_reference=order.document_number,
            answer_code="A09",
            answer_code_list="E_0470",
            sender=grid,
            receiver=supplier,
        )
        raw = serialize_interchange(
            ordrsp_interchange(
                [answer],
                sender=Party(id=grid, qualifier="500"),
                receiver=Party(id=supplier, qualifier="500"),
                reference="ORDRSP1",
                prepared_at=now,
            )
        )
        await deliver(engine, time_env.client, settings.task_queue, debt.supplied.world.tenant, raw)
        assert await result(time_env, debt.workflow_id) == "disconnection_ordered"
    assert debt.documents()["dunning_termination"] == 0
