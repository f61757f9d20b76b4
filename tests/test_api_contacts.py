"""The customer center over HTTP: contacts, service levels, task assignment and overview, notifications, and a
customer's history as one timeline."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text
from sqlmodel import Session
from temporalio.client import Client

from api.auth import issue_key
from core.settings import Settings
from models.billing import Bill
from models.documents import Document
from models.messages import MarketMessage
from models.tenancy import Role
from services.chart import book, party_account
from tests.end_of_supply import Supplied
from tests.test_api import Api
from worker import build_worker

pytest_plugins = ["tests.test_api"]


def customer_number(engine: Engine, supplied: Supplied) -> str:
    with Session(engine) as session:
        return str(
            session.execute(
                text("SELECT customer_number FROM customer WHERE id = :id"), {"id": supplied.contract.customer_id}
            ).scalar_one()
        )


async def test_contacts_are_validated_stored_once_and_started(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    broken = await api.http.post("/v1/contacts", json={"channel": "fax", "text": "x"}, headers=key)
    assert broken.status_code == 422 and broken.json()["detail"][0]["loc"] == ["body", "channel"]
    empty = await api.http.post("/v1/contacts", json={"channel": "email"}, headers=key)
    assert empty.status_code == 422 and "subject, a text" in empty.text
    bad_request = await api.http.post(
        "/v1/contacts",
        json={"channel": "web", "request": {"action": "meter_reading", "value": "-1", "read_on": "2026-01-01"}},
        headers=key,
    )
    assert bad_request.status_code == 422
    body = {
        "channel": "email",
        "reference": f"mail-{uuid.uuid4().hex}",
        "sender": {"email": "x@example.org"},
        "customer": {"customer_number": customer_number(engine, supplied)},
        "subject": "Frage zur Rechnung",
        "text": "Warum ist meine Abrechnung so hoch?",
        "attachments": [{"filename": "foto.jpg", "media_type": "image/jpeg", "content": "aGVsbG8="}],
    }
    async with build_worker(client, engine, settings):
        created = await api.http.post("/v1/contacts", json=body, headers=key)
        assert created.status_code == 201, created.text
        contact = created.json()
        assert contact["category"] == "bill_question" and contact["identified_by"] == "customer_number"
        assert contact["workflow_id"] == f"contact/{supplied.world.tenant.id}/{contact['id']}"
        [attachment] = contact["attachments"]
        again = await api.http.post("/v1/contacts", json=body, headers=key)
        assert again.status_code == 200 and again.json()["id"] == contact["id"]
        content = await api.http.get(f"/v1/contacts/{contact['id']}/attachments/{attachment['id']}", headers=key)
        assert content.content == b"hello" and content.headers["content-type"] == "image/jpeg"
        other = api.key(Supplied.create(engine, client, settings, start=date(2025, 1, 1)).world.tenant.id, Role.CLIENT)
        assert (await api.http.get(f"/v1/contacts/{contact['id']}", headers=other)).status_code == 404

        clerk = api.key(supplied.world.tenant.id, Role.CLERK)
        with Session(engine) as session:
            other_clerk = {
                "Authorization": f"Bearer {issue_key(session, supplied.world.tenant.id, Role.CLERK, 'bert')}"
            }
        supervisor = api.key(supplied.world.tenant.id, Role.SUPERVISOR)

        async def review() -> dict[str, object] | None:
            listed = await api.http.get("/v1/tasks", params={"queue": "second_level"}, headers=clerk)
            return next((t for t in listed.json() if t["data"].get("contact_id") == contact["id"]), None)

        task = None
        for _ in range(100):
            if task := await review():
                break
            await asyncio.sleep(0.1)
        assert task is not None and task["kind"] == "review" and task["assigned_to"] is None
        taken = await api.http.post(f"/v1/tasks/{task['id']}/assignment", json={"assignee": "me"}, headers=clerk)
        assert taken.status_code == 200 and taken.json()["assigned_to"]
        stolen = await api.http.post(f"/v1/tasks/{task['id']}/assignment", json={"assignee": "me"}, headers=other_clerk)
        assert stolen.status_code == 409
        for_other = await api.http.post(
            f"/v1/tasks/{task['id']}/assignment", json={"assignee": "someone"}, headers=clerk
        )
        assert for_other.status_code == 403
        mine = await api.http.get("/v1/tasks", params={"assigned_to": "me"}, headers=clerk)
        assert [t["id"] for t in mine.json()] == [task["id"]]
        assert (await api.http.get("/v1/tasks/overview", headers=clerk)).status_code == 403
        overview = {q["queue"]: q for q in (await api.http.get("/v1/tasks/overview", headers=supervisor)).json()}
        assert overview["second_level"]["open"] == 1 and overview["second_level"]["unassigned"] == 0
        moved = await api.http.post(
            f"/v1/tasks/{task['id']}/assignment", json={"assignee": "clerk.bert"}, headers=supervisor
        )
        assert moved.json()["assigned_to"] == "clerk.bert"
        answered = await api.http.post(
            f"/v1/tasks/{task['id']}/decision",
            json={"decision": "answered", "data": {"note": "erklärt"}},
            headers=clerk,
        )
        assert answered.status_code == 200, answered.text

        async def done() -> bool:
            response = await api.http.get(f"/v1/contacts/{contact['id']}", headers=key)
            return bool(response.json()["state"] == "done")

        for _ in range(100):
            if await done():
                break
            await asyncio.sleep(0.1)
        final = (await api.http.get(f"/v1/contacts/{contact['id']}", headers=key)).json()
    assert final["state"] == "done" and final["outcome"] == "erklärt"


async def test_service_levels_and_notifications(api: Api, engine: Engine, client: Client, settings: Settings) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    levels = {level["topic"]: level for level in (await api.http.get("/v1/service-levels", headers=key)).json()}
    assert levels["email"] == {"topic": "email", "working_days": 2, "priority": 3, "own": False}
    assert (
        await api.http.put("/v1/service-levels/fax", json={"working_days": 1, "priority": 1}, headers=key)
    ).status_code == 404
    assert (
        await api.http.put("/v1/service-levels/email", json={"working_days": -1, "priority": 1}, headers=key)
    ).status_code == 422
    own = await api.http.put("/v1/service-levels/regulator", json={"working_days": 1, "priority": 1}, headers=key)
    assert own.json()["own"] is True
    async with build_worker(client, engine, settings):
        created = await api.http.post(
            "/v1/contacts",
            json={
                "channel": "letter",
                "customer": {"customer_number": customer_number(engine, supplied)},
                "subject": "Schlichtungsstelle Energie: Schlichtungsantrag",
                "text": "Die Schlichtungsstelle Energie e.V. hat ein Verfahren eröffnet.",
            },
            headers=key,
        )
        assert created.json()["complaint"] == "arbitration"

        async def notified() -> list[dict[str, object]]:
            return list((await api.http.get("/v1/notifications", headers=key)).json())

        rows: list[dict[str, object]] = []
        for _ in range(100):
            if rows := await notified():
                break
            await asyncio.sleep(0.1)
    [row] = rows
    assert row["kind"] == "complaint.arbitration" and row["webhook_state"] == "none"
    outbox = list((settings.client_outbox_path / "email").glob("*.eml"))
    assert len(outbox) == 1 and "Schlichtungsantrag" in outbox[0].read_text()


async def test_customer_history_is_one_timeline(api: Api, engine: Engine, client: Client, settings: Settings) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    tenant = supplied.world.tenant.id
    number = customer_number(engine, supplied)
    with Session(engine) as session:
        account_number = session.execute(
            text("SELECT account_number FROM contract_account WHERE id = :id"), {"id": supplied.contract.account_id}
        ).scalar_one()
        debtor = party_account(session, tenant, "strom", "debtor", account_number, "Kunde")
        book(
            session,
            tenant_id=tenant,
            division="strom",
            doc_type="payment",
            key=f"pay:{debtor}",
            posting_date=date(2026, 3, 1),
            amounts={"amount": Decimal("50.00")},
            party_account_id=debtor,
            text="Überweisung",
        )
        session.add(
            Bill(
                tenant_id=tenant,
                number=f"2026-{uuid.uuid4().int % 10**7:07d}",
                kind="periodic",
                state="booked",
                contract_id=supplied.contract_id,
                division="strom",
                period_start=date(2025, 1, 1),
                period_end=date(2026, 1, 1),
                consumption_kwh=Decimal("3650"),
                net=Decimal("1000.00"),
                energy_tax=Decimal("75.19"),
                vat=Decimal("190.00"),
                gross=Decimal("1190.00"),
                instalments_paid=Decimal("1100.00"),
                balance=Decimal("90.00"),
                booked_at=datetime(2026, 1, 10, tzinfo=UTC),
            )
        )
        session.add(
            MarketMessage(
                tenant_id=tenant,
                direction="in",
                state="processed",
                message_type="MSCONS",
                pruefidentifikator="13017",
                sender=supplied.world.grid_operator.id,
                malo_id=supplied.malo_id,
                raw=b"UNA:+.? '",
                sha256="1" * 64,
            )
        )
        session.add(
            Document(
                tenant_id=tenant,
                business_key=f"history-letter:{supplied.contract_id}",
                kind="payment_reminder",
                customer_id=supplied.contract.customer_id,
                contract_id=supplied.contract_id,
                content=b"%PDF",
                sha256="2" * 64,
            )
        )
        session.commit()
    key = api.key(tenant, Role.CLIENT)
    assert (await api.http.get("/v1/customers/K-nobody/history", headers=key)).status_code == 404
    async with build_worker(client, engine, settings):
        contact = await api.http.post(
            "/v1/contacts",
            json={
                "channel": "phone",
                "customer": {"customer_number": number},
                "subject": "Abschlag",
                "text": "Fragt nach dem Abschlag",
                "settled": True,
            },
            headers=key,
        )
        assert contact.status_code == 201

        async def with_process() -> dict[str, object] | None:
            history = (await api.http.get(f"/v1/customers/{number}/history", headers=key)).json()
            kinds = {entry["kind"] for entry in history["entries"]}
            return history if "process" in kinds else None

        history = None
        for _ in range(150):
            if history := await with_process():
                break
            await asyncio.sleep(0.2)
    assert history is not None
    entries = history["entries"]
    assert isinstance(entries, list)
    kinds = {entry["kind"] for entry in entries}
    assert {"contact", "letter", "bill", "message", "booking", "process"} <= kinds
    times = [datetime.fromisoformat(entry["at"]) for entry in entries]
    assert times == sorted(times, reverse=True)
    [booking] = [e for e in entries if e["kind"] == "booking"]
    assert Decimal(booking["details"]["amount"]) == Decimal("-50.00")
    only = (await api.http.get(f"/v1/customers/{number}/history", params={"kind": "bill"}, headers=key)).json()
    assert [e["kind"] for e in only["entries"]] == ["bill"]
    assert timedelta(0) <= datetime.now(UTC) - times[0] < timedelta(minutes=5)
