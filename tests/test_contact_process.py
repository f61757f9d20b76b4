"""The contact process on the time-skipping server: each kind of contact driving its process, service-level
escalation, callbacks, returned mail holding letters, and a regulator complaint notifying the client at once."""

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.documents import DocumentActivities
from core.settings import Settings
from models.contacts import ClientNotification
from models.contracts import Contract
from models.customers import Customer, SepaMandate
from models.documents import Document
from models.master_data import CustomerVersion
from models.process import LetterRequest, PartnerRequestOutcome
from models.readings import MeterReading, ReadingWait
from rules.calendar import BERLIN
from tests.cases import task_row
from tests.contacts import contact_row, documents, done, send_for, task
from tests.end_of_supply import Supplied, decide, finished
from tests.factories import malo_id
from tests.flow import eventually, open_task
from tests.test_dunning import Debt
from tests.test_final_reading import begin, final_bills
from worker import build_worker
from workflows.final_reading import FinalReadingWorkflow

START = date(2025, 1, 1)


async def today_on(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(BERLIN).date()


async def started(env: WorkflowEnvironment, workflow_id: str) -> None:
    """Wait until the process exists (it is started by an activity)."""
    for _ in range(100):
        try:
            await env.client.get_workflow_handle(workflow_id).describe()
            return
        except RPCError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"process {workflow_id} was not started")


def version_workflow(version: CustomerVersion) -> str:
    return f"customer-data/{version.tenant_id}/{version.id}"


def supplied(engine: Engine, env: WorkflowEnvironment, settings: Settings) -> Supplied:
    return Supplied.create(engine, env.client, settings, start=START)


def customer_of(engine: Engine, s: Supplied) -> Customer:
    with Session(engine) as session:
        customer = session.get(Customer, s.contract.customer_id)
        assert customer is not None
        return customer


def readings(engine: Engine, malo: str) -> list[MeterReading]:
    with Session(engine) as session:
        query = select(MeterReading).where(MeterReading.location_id == malo, MeterReading.source == "customer")
        return list(session.exec(query))


async def test_web_form_meter_reading_is_stored_at_once(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        today = await today_on(time_env)
        value = Decimal(1000) + Decimal((today - START).days * 10)  # 10 kWh a day, as forecast
        contact = await send_for(
            s,
            channel="web",
            reference=f"web-{s.malo_id}",
            customer={"malo_id": s.malo_id},
            subject="Zählerstand",
            request={"action": "meter_reading", "value": str(value), "read_on": today.isoformat()},
        )
        assert contact.identified_by == "malo_id" and contact.category == "meter_reading"
        closed = await eventually(lambda: done(engine, contact.id), what="contact done")
    assert "stored" in closed.outcome
    [reading] = readings(engine, s.malo_id)
    assert reading.value == value and reading.quality == "220"


async def test_implausible_reading_waits_for_a_clerk(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        today = await today_on(time_env)
        contact = await send_for(
            s,
            channel="web",
            customer={"customer_number": customer_of(engine, s).customer_number},
            request={"action": "meter_reading", "value": "999", "read_on": today.isoformat()},
        )
        check = await task(engine, time_env.client, contact, "review")
        assert "lower than the last reading" in check.data["problem"] and "confirm_reading" in check.allowed_decisions
        assert check.queue == "second_level" and check.customer_id == s.contract.customer_id
        assert readings(engine, s.malo_id) == []
        await decide(time_env.client, contact.workflow_id or "", check, "confirm_reading")
        await eventually(lambda: done(engine, contact.id), what="contact done")
    [reading] = readings(engine, s.malo_id)
    assert reading.value == Decimal("999") and reading.entered_by == "clerk.anna"


async def test_cancellation_by_letter_reviewed_handed_to_first_level_and_ending_the_supply(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        customer = customer_of(engine, s)
        contact = await send_for(
            s,
            channel="letter",
            sender={"name": f"Erika {customer.last_name}", "address": f"Lindenweg 7, {customer.postcode} Musterstadt"},
            subject="Kündigung",
            text=f"Hiermit kündige ich meinen Stromvertrag. Kundennummer: {customer.customer_number}",
        )
        assert contact.category == "move_cancellation" and contact.identified_by == "customer_number"
        review = await task(engine, time_env.client, contact, "review")
        assert review.queue == "second_level" and "to_first_level" in review.allowed_decisions
        await decide(time_env.client, contact.workflow_id or "", review, "to_first_level", {"priority": 1})
        first = await task(engine, time_env.client, contact, "first_level")
        assert first.queue == "first_level" and "to_first_level" not in first.allowed_decisions
        assert first.priority == 1 and review.priority == 3
        end = await today_on(time_env) + timedelta(days=60)
        await decide(time_env.client, contact.workflow_id or "", first, "cancellation", {"requested_end": str(end)})
        await eventually(lambda: done(engine, contact.id), what="contact done")
        cancellation = f"cancellation/{s.world.tenant.id}/{s.contract.contract_number}"
        outcome = await finished(time_env, cancellation, PartnerRequestOutcome)
        assert outcome.state == "confirmed" and outcome.end == end
        await started(time_env, f"supply-end/{s.world.tenant.id}/{s.contract.contract_number}")
    assert documents(engine, customer.id or 0, "cancellation_confirmation")


async def test_clerk_decision_with_incomplete_data_is_refused(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        contact = await send_for(
            s,
            channel="email",
            sender={"email": "someone@example.org"},
            customer={"customer_number": customer_of(engine, s).customer_number},
            subject="Neue Bankverbindung",
            text="Bitte buchen Sie ab sofort von meinem neuen Konto ab.",
        )
        review = await task(engine, time_env.client, contact, "review")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(
                time_env.client,
                contact.workflow_id or "",
                review,
                "bank_details",
                {"iban": "DE00370400440532013000", "account_holder": "Erika", "signed_on": "2026-11-01"},
            )
        assert "iban" in str(refused.value.cause).lower()
        await decide(
            time_env.client,
            contact.workflow_id or "",
            review,
            "bank_details",
            {"iban": "DE02120300000000202051", "account_holder": "Erika Mustermann", "signed_on": "2026-11-20"},
        )
        await eventually(lambda: done(engine, contact.id), what="contact done")
    with Session(engine) as session:
        mandates = session.exec(select(SepaMandate).where(SepaMandate.account_id == s.contract.account_id)).all()
        contract = session.get(Contract, s.contract_id)
        assert contract is not None
    states = {m.iban: m.state for m in mandates}
    assert states == {"DE89370400440532013000": "replaced", "DE02120300000000202051": "active"}
    assert contract.mandate_id == next(m.id for m in mandates if m.state == "active")


async def test_move_with_new_supply_ends_the_old_and_starts_the_new(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        moved_out = await today_on(time_env) + timedelta(days=30)
        new_malo = malo_id()
        contact = await send_for(
            s,
            channel="phone",
            settled=True,
            customer={"malo_id": s.malo_id},
            subject="Umzug",
            request={
                "action": "move",
                "moved_out_on": moved_out.isoformat(),
                "street": "Birkenallee",
                "house_number": "3",
                "postcode": "54321",
                "city": "Neustadt",
                "new_supply": {"malo_id": new_malo, "grid_operator_id": s.world.grid_operator.id},
            },
        )
        closed = await eventually(lambda: done(engine, contact.id), what="contact done")
        assert "new contract" in closed.outcome
        with Session(engine) as session:
            new = session.exec(
                select(Contract).where(Contract.customer_id == s.contract.customer_id, Contract.id != s.contract_id)
            ).one()
            customer = session.get(Customer, s.contract.customer_id)
        assert new.transaction_reason == "E01" and new.wished_start == moved_out
        assert customer is not None and customer.street == "Lindenweg"  # the new address counts from the move
        with Session(engine) as session:
            [version] = session.exec(
                select(CustomerVersion).where(
                    CustomerVersion.customer_id == customer.id, CustomerVersion.source != "intake"
                )
            ).all()
        assert version.valid_from == moved_out and version.data["street"] == "Birkenallee"
        await started(time_env, version_workflow(version))
        await started(time_env, new.workflow_id or "")
        cancellation = f"cancellation/{s.world.tenant.id}/{s.contract.contract_number}"
        outcome = await finished(time_env, cancellation, PartnerRequestOutcome)
        assert outcome.end == moved_out  # moving with us: no notice period
        await time_env.sleep(timedelta(days=31))
        moved = await eventually(lambda: customer_of(engine, s).street == "Birkenallee", what="address in effect")
        assert moved and customer_of(engine, s).city == "Neustadt"


async def test_instalment_request_starts_a_payment_plan(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        today = await today_on(time_env)
        debt = Debt(engine, time_env, settings, today)
        contact = await send_for(
            debt.supplied,
            channel="phone",
            customer={"customer_number": customer_of(engine, debt.supplied).customer_number},
            subject="Ratenzahlung",
            text="Kunde bittet um Ratenzahlung der offenen Rechnung",
        )
        follow_up = await task(engine, time_env.client, contact, "phone_followup")
        assert follow_up.queue == "second_level"
        first_due = today + timedelta(days=14)
        await decide(
            time_env.client,
            contact.workflow_id or "",
            follow_up,
            "instalment_plan",
            {"rates": 3, "first_due": first_due.isoformat()},
        )
        await eventually(lambda: done(engine, contact.id), what="contact done")
        await started(time_env, f"instalment-plan/{debt.tenant}/contact-{contact.id}")

        def rates() -> list[Any]:
            with Session(engine) as session:
                return list(
                    session.execute(
                        text(
                            "SELECT l.due_date FROM posting_line l JOIN posting_document d ON d.id = l.document_id"
                            " WHERE d.doc_type = 'instalment_plan' AND l.debit > 0 AND l.account_id = :a"
                        ),
                        {"a": debt.account},
                    ).scalars()
                )

        assert len(await eventually(rates, what="rates booked")) == 3


async def test_master_data_change_in_a_settled_call(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        contact = await send_for(
            s,
            channel="phone",
            settled=True,
            customer={"customer_number": customer_of(engine, s).customer_number},
            request={"action": "master_data", "email": "erika@example.org", "phone": "0170 1234567"},
        )
        closed = await eventually(lambda: done(engine, contact.id), what="contact done")
    assert closed.outcome == "master data changed: email, phone"
    customer = customer_of(engine, s)
    assert (customer.email, customer.phone) == ("erika@example.org", "0170 1234567")


async def test_overdue_review_moves_to_the_supervisors(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        contact = await send_for(
            s,
            channel="email",
            sender={"email": "x@example.org"},
            customer={"customer_number": customer_of(engine, s).customer_number},
            subject="Frage zum Tarif",
            text="Welcher Preis gilt ab Januar?",
        )
        review = await task(engine, time_env.client, contact, "review")
        assert review.due_at is not None and review.priority == 3
        # e-mail: two working days (default service level)
        received = contact.received_at.astimezone(BERLIN).date()
        assert review.due_at.astimezone(BERLIN).date() > received
        assert task_row(engine, review).queue == "second_level"
        await time_env.sleep(review.due_at - datetime.now(UTC) + timedelta(hours=1))
        escalated = await eventually(
            lambda: (row := task_row(engine, review)).queue == "supervisor" and row, what="escalation"
        )
        assert escalated.priority == 1 and escalated.state == "open"
        await decide(time_env.client, contact.workflow_id or "", escalated, "answered", {"note": "Preisblatt gesendet"})
        closed = await eventually(lambda: done(engine, contact.id), what="contact done")
    assert closed.outcome == "Preisblatt gesendet"


async def test_callback_not_reached_twice_then_a_letter(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        now = (await time_env.get_current_time()).replace(second=0, microsecond=0)
        window = (now + timedelta(hours=1), now + timedelta(hours=3))
        contact = await send_for(
            s,
            channel="web",
            customer={"customer_number": customer_of(engine, s).customer_number},
            subject="Rückruf zur Abrechnung",
            request={
                "action": "callback",
                "phone": "0170 7654321",
                "window_start": window[0].isoformat(),
                "window_end": window[1].isoformat(),
            },
        )
        first = await task(engine, time_env.client, contact, "callback")
        assert first.queue == "first_level" and first.data["attempt"] == 1 and first.due_at == window[1]
        await decide(time_env.client, contact.workflow_id or "", first, "not_reached")
        second = await eventually(
            lambda: (t := open_task(engine, contact.workflow_id or "", "callback")) and t.id != first.id and t,
            what="second attempt",
        )
        second = await task(engine, time_env.client, contact, "callback")
        assert second.data["attempt"] == 2
        second_start = datetime.fromisoformat(second.data["window_start"]).astimezone(BERLIN)
        assert second_start.date() > window[0].astimezone(BERLIN).date()
        assert second_start.time() == window[0].astimezone(BERLIN).time()
        await decide(time_env.client, contact.workflow_id or "", second, "not_reached")
        closed = await eventually(lambda: done(engine, contact.id), what="contact done")
    assert "letter sent" in closed.outcome
    [letter] = documents(engine, s.contract.customer_id, "callback_missed")
    assert letter.delivery == "print"
    printed = list((settings.customer_outbox_path / "print").rglob(f"*callback_missed-{letter.id}.pdf"))
    assert printed and printed[0].read_bytes() == letter.content


async def test_returned_mail_holds_letters_until_the_address_is_researched(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    letters = DocumentActivities(engine, settings.customer_outbox_path)
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        customer = customer_of(engine, s)
        contact = await send_for(
            s,
            channel="letter",
            category="returned_mail",
            customer={"customer_number": customer.customer_number},
            subject="Postrückläufer: Empfänger unbekannt verzogen",
        )
        research = await task(engine, time_env.client, contact, "address_research")
        assert research.queue == "first_level"
        assert customer_of(engine, s).address_unreliable_since is not None
        held = letters.order_cancelled_letter(LetterRequest(contract_id=s.contract_id, reason="Test"))
        with Session(engine) as session:
            document = session.get(Document, held.document_id)
            assert document is not None and document.delivery == "held" and document.delivered_at is None
        assert not list(settings.customer_outbox_path.rglob(f"*-{held.document_id}.pdf"))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(time_env.client, contact.workflow_id or "", research, "new_address", {"street": "X"})
        assert "street, postcode and city" in str(refused.value.cause)
        await decide(
            time_env.client,
            contact.workflow_id or "",
            research,
            "new_address",
            {"street": "Ahornweg", "house_number": "12", "postcode": "12347", "city": "Musterstadt"},
        )
        await eventually(lambda: done(engine, contact.id), what="contact done")
    after = customer_of(engine, s)
    assert after.address_unreliable_since is None and after.street == "Ahornweg"
    with Session(engine) as session:
        document = session.get(Document, held.document_id)
        assert document is not None and document.delivery == "print" and document.delivered_at is not None
    assert list(settings.customer_outbox_path.rglob(f"*-{held.document_id}.pdf"))


class Webhook:
    """A client's webhook endpoint: records what it receives; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.failures = failures
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.failures > 0:
                    hook.failures -= 1
                    self.send_response(503)
                else:
                    hook.received.append({"body": json.loads(body), "key": self.headers["Idempotency-Key"]})
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/bpo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(failures=1)
    yield hook
    hook.server.shutdown()


async def test_regulator_complaint_notifies_the_client_at_once(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings, webhook: Webhook
) -> None:
    s = supplied(engine, time_env, settings)
    with Session(engine) as session:
        session.execute(
            text(
                "UPDATE tenant SET webhook_url = :url, notification_email = 'beschwerden@client.example' WHERE id = :t"
            ),
            {"url": webhook.url, "t": s.world.tenant.id},
        )
        session.commit()
    async with build_worker(time_env.client, engine, settings):
        customer = customer_of(engine, s)
        contact = await send_for(
            s,
            channel="letter",
            sender={"name": "Bundesnetzagentur, Verbraucherservice Energie"},
            customer={"customer_number": customer.customer_number},
            subject="Verbraucherbeschwerde Az. VS-2026-0815",
            text="Die Bundesnetzagentur bittet um Stellungnahme zur Beschwerde Ihres Kunden binnen drei Wochen.",
            answer_by=(date.today() + timedelta(days=21)).isoformat(),
        )
        assert contact.complaint == "regulator" and contact.category == "complaint"
        await eventually(lambda: webhook.received, what="webhook call")  # before any clerk has looked at it
        complaint = await task(engine, time_env.client, contact, "complaint")
        assert complaint.priority == 1 and complaint.queue == "second_level"
        assert "to_first_level" not in complaint.allowed_decisions
        [sent] = webhook.received
        assert sent["key"] == f"complaint:{contact.id}"
        assert sent["body"]["kind"] == "complaint.regulator"
        assert sent["body"]["payload"]["customer_number"] == customer.customer_number
        with Session(engine) as session:
            [row] = session.exec(
                select(ClientNotification).where(ClientNotification.tenant_id == s.world.tenant.id)
            ).all()
        assert row.webhook_state == "delivered" and row.webhook_attempts == 2  # the first call failed
        mail = Path(row.email_file).read_text()
        assert "To: beschwerden@client.example" in mail and "VS-2026-0815" in mail
        # an action does not end a complaint: only its answer does
        await decide(
            time_env.client,
            contact.workflow_id or "",
            complaint,
            "master_data",
            {"phone": "030 1234"},
        )
        again = await eventually(
            lambda: (t := open_task(engine, contact.workflow_id or "", "complaint")) and t.id != complaint.id and t,
            what="complaint still open",
        )
        again = await task(engine, time_env.client, contact, "complaint")
        await decide(time_env.client, contact.workflow_id or "", again, "answered", {"note": "Stellungnahme an BNetzA"})
        closed = await eventually(lambda: done(engine, contact.id), what="contact done")
    assert closed.outcome == "master data changed: phone; Stellungnahme an BNetzA"


async def test_unknown_sender_is_identified_by_a_clerk(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s = supplied(engine, time_env, settings)
        contact = await send_for(
            s,
            channel="email",
            sender={"email": "unknown@example.org", "name": "Max Unbekannt"},
            subject="Zählerstand",
            text="Mein Zählerstand ist 1500.",
        )
        assert contact.customer_id is None and contact.identified_by == ""
        identify = await task(engine, time_env.client, contact, "identify_sender")
        assert identify.queue == "second_level"
        await decide(
            time_env.client, contact.workflow_id or "", identify, "assign_customer", {"customer_number": "nope"}
        )
        identify = await eventually(
            lambda: (
                (t := open_task(engine, contact.workflow_id or "", "identify_sender")) and t.id != identify.id and t
            ),
            what="asked again",
        )
        identify = await task(engine, time_env.client, contact, "identify_sender")
        assert "does not exist" in identify.data["problem"]
        number = customer_of(engine, s).customer_number
        await decide(
            time_env.client, contact.workflow_id or "", identify, "assign_customer", {"customer_number": number}
        )
        review = await task(engine, time_env.client, contact, "review")
        assert review.customer_id == s.contract.customer_id
    stored = contact_row(engine, contact.id)
    assert stored.customer_id == s.contract.customer_id and stored.identified_by == "clerk"


async def test_customers_final_reading_by_web_form_moves_the_waiting_final_reading_on(
    engine: Engine, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with build_worker(time_env.client, engine, settings):
        s, workflow_id, end = await begin(engine, time_env, settings, days_ago=3)
        await eventually(lambda: _waiting(engine, workflow_id), what="final reading waits")
        value = 1000 + 10 * (end - START).days
        contact = await send_for(
            s,
            channel="web",
            customer={"malo_id": s.malo_id},
            request={"action": "meter_reading", "value": str(value), "read_on": end.isoformat()},
        )
        await eventually(lambda: done(engine, contact.id), what="contact done")
        handle = time_env.client.get_workflow_handle_for(FinalReadingWorkflow.run, workflow_id)
        for _ in range(200):  # polled, not awaited: no time is skipped, the signal alone moves it on
            if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
                break
            await asyncio.sleep(0.1)
        status = await handle.result()
    assert status.state == "final_bill_billed"
    [bill] = final_bills(engine, s.contract_id)
    assert bill.period_end == end and not bill.estimated


def _waiting(engine: Engine, workflow_id: str) -> bool:
    with Session(engine) as session:
        return bool(session.exec(select(ReadingWait).where(ReadingWait.workflow_id == workflow_id)).first())
