"""The HTTP API on the real servers: authentication, tenant isolation, validation, the supply start via HTTP."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.app import create_app
from api.auth import issue_key
from core.settings import Settings
from models.tasks import Task
from models.tenancy import Role
from rules.calendar import earliest_supply_start
from tests import market
from tests.factories import World
from tests.flow import eventually, open_task, today
from worker import build_worker


class Api:
    def __init__(self, http: httpx.AsyncClient, engine: Engine) -> None:
        self.http = http
        self.engine = engine

    def key(self, tenant_id: str, role: Role) -> dict[str, str]:
        with Session(self.engine) as session:
            return {"Authorization": f"Bearer {issue_key(session, tenant_id, role, label=f'test-{role}')}"}


@pytest.fixture
async def api(engine: Engine, client: Client, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings, engine, client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Api(http, engine)


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine, expire_on_commit=False) as session:
        return World(session)


def start_date() -> str:
    return (earliest_supply_start(today()) + timedelta(days=14)).isoformat()


def errors_at(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


async def test_health_needs_no_key(api: Api) -> None:
    response = await api.http.get("/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_missing_or_wrong_key_is_refused(api: Api) -> None:
    assert (await api.http.get("/v1/tasks")).status_code == 401
    wrong = {"Authorization": "Bearer bpo_not-a-real-key"}
    assert (await api.http.get("/v1/tasks", headers=wrong)).status_code == 401


async def test_role_is_enforced(api: Api, world: World) -> None:
    client_key = api.key(world.tenant.id, Role.CLIENT)
    assert (await api.http.get("/v1/tasks", headers=client_key)).status_code == 403


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda o: o["location"].update(malo_id="41373559240"), ["body", "location", "malo_id"]),
        (lambda o: o["sepa"].update(iban="DE89370400440532013001"), ["body", "sepa", "iban"]),
        (lambda o: o.update(wished_start=today().isoformat()), ["body", "wished_start"]),
        (lambda o: o.update(tariff_code="NO-SUCH-TARIFF"), ["body", "tariff_code"]),
        (lambda o: o["location"].update(grid_operator_id="9900357000004"), ["body", "location", "grid_operator_id"]),
        (lambda o: o.update(annual_consumption_kwh="-5"), ["body", "annual_consumption_kwh"]),
        (lambda o: o.pop("customer"), ["body", "customer"]),
    ],
    ids=["malo-check-digit", "iban", "start-too-early", "unknown-tariff", "partner-check-digit", "negative", "missing"],
)
async def test_invalid_orders_get_field_errors(api: Api, world: World, change: Any, location: list[str]) -> None:
    order = world.order(earliest_supply_start(today()) + timedelta(days=14))
    change(order)
    response = await api.http.post("/v1/contracts", json=order, headers=api.key(world.tenant.id, Role.CLIENT))
    assert location in errors_at(response)


async def test_same_order_twice_starts_one_process(
    api: Api, world: World, engine: Engine, client: Client, settings: Settings
) -> None:
    headers = api.key(world.tenant.id, Role.CLIENT)
    order = world.order(earliest_supply_start(today()) + timedelta(days=14))
    first = await api.http.post("/v1/contracts", json=order, headers=headers)
    second = await api.http.post("/v1/contracts", json=order, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["created"] is True and second.json()["created"] is False
    workflow_id = first.json()["workflow_id"]
    assert second.json()["workflow_id"] == workflow_id == f"supply-start/{world.tenant.id}/{order['contract_number']}"
    async with build_worker(client, engine, settings):
        await eventually(lambda: market.sent(engine, workflow_id, "55016"), what="55016")
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1
    assert len(market.sent(engine, workflow_id, "55016")) == 1


async def test_supply_start_through_the_api(
    api: Api, world: World, engine: Engine, client: Client, settings: Settings
) -> None:
    """Order, answers through the market inbox, a rejection decided by a clerk, then the confirmation."""
    client_key = api.key(world.tenant.id, Role.CLIENT)
    clerk_key = api.key(world.tenant.id, Role.CLERK)
    start = earliest_supply_start(today()) + timedelta(days=14)
    order = world.order(start)
    workflow_id = (await api.http.post("/v1/contracts", json=order, headers=client_key)).json()["workflow_id"]
    async with build_worker(client, engine, settings):
        kuendigung = (await eventually(lambda: market.sent(engine, workflow_id, "55016"), what="55016"))[0]
        body = market.answer(kuendigung, "55017", answer_code="A09", answer_code_list="E_0614", end=start)
        posted = await api.http.post("/v1/market-messages", content=body, headers=client_key)
        assert posted.status_code == 202, posted.text
        anmeldung = (await eventually(lambda: market.sent(engine, workflow_id, "55001"), what="55001"))[0]
        rejection = market.answer(anmeldung, "55003", answer_code="A06", answer_code_list="E_0622")
        assert (await api.http.post("/v1/market-messages", content=rejection, headers=client_key)).status_code == 202
        task = await eventually(lambda: open_task(engine, workflow_id, "registration_rejected"), what="task")

        listed = (await api.http.get("/v1/tasks", params={"queue": "clearing"}, headers=clerk_key)).json()
        assert task.id in [t["id"] for t in listed]
        refused = await api.http.post(f"/v1/tasks/{task.id}/decision", json={"decision": "shrug"}, headers=clerk_key)
        assert refused.status_code == 422
        decided = await api.http.post(
            f"/v1/tasks/{task.id}/decision", json={"decision": "correct_and_resend"}, headers=clerk_key
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["state"] == "done" and decided.json()["decided_by"] == "clerk:test-clerk"
        again = await api.http.post(
            f"/v1/tasks/{task.id}/decision", json={"decision": "cancel_order"}, headers=clerk_key
        )
        assert again.status_code == 409

        resent = (await eventually(lambda: market.sent(engine, workflow_id, "55001")[1:], what="second 55001"))[0]
        confirmation = market.answer(resent, "55002", answer_code="A51", answer_code_list="E_0623", start=start)
        assert (await api.http.post("/v1/market-messages", content=confirmation, headers=client_key)).status_code == 202

        await client.get_workflow_handle(workflow_id).result()
        view = (await api.http.get(f"/v1/contracts/{order['contract_number']}", headers=client_key)).json()
    assert view["state"] == "active" and view["supply_start"] == start.isoformat()


async def test_broken_and_repeated_interchanges_are_kept(api: Api, world: World) -> None:
    headers = api.key(world.tenant.id, Role.CLIENT)
    broken = await api.http.post("/v1/market-messages", content=b"UNA:+.? 'UNB+UNOC:3+99", headers=headers)
    assert broken.status_code == 202 and broken.json()["state"] == "rejected" and broken.json()["error"]
    stored = await api.http.get(f"/v1/market-messages/{broken.json()['message_id']}", headers=headers)
    assert stored.status_code == 200 and stored.json()["state"] in ("rejected", "clearing")

    sender = world.grid_operator.id
    raw = (
        f"UNA:+.? 'UNB+UNOC:3+{sender}:500+{world.tenant.market_partner_id}:500+261126:1200+DUP1'"
        f"UNH+1+UTILMD:D:11A:UN:S2.1'BGM+E01+D1'DTM+137:202611261200?+00:303'NAD+MS+{sender}::293'"
        f"NAD+MR+{world.tenant.market_partner_id}::293'IDE+24+T1'STS+7++E01'RFF+Z13:55002'RFF+TN:NOPE'"
        "UNT+10+1'UNZ+1+DUP1'"
    ).encode()
    first = await api.http.post("/v1/market-messages", content=raw, headers=headers)
    second = await api.http.post("/v1/market-messages", content=raw, headers=headers)
    assert first.status_code == 202, first.text
    assert second.status_code == 200 and second.json()["duplicate_of"] == first.json()["message_id"]
    assert second.json()["state"] == "duplicate"


async def test_tenants_never_see_each_other(api: Api, engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        a, b = World(session), World(session)
    a_client, b_client = api.key(a.tenant.id, Role.CLIENT), api.key(b.tenant.id, Role.CLIENT)
    b_supervisor = api.key(b.tenant.id, Role.SUPERVISOR)
    order = a.order(earliest_supply_start(today()) + timedelta(days=14))
    assert (await api.http.post("/v1/contracts", json=order, headers=a_client)).status_code == 202
    assert (await api.http.get(f"/v1/contracts/{order['contract_number']}", headers=a_client)).status_code == 200
    assert (await api.http.get(f"/v1/contracts/{order['contract_number']}", headers=b_client)).status_code == 404

    broken = await api.http.post("/v1/market-messages", content=b"garbage", headers=a_client)
    message_id = broken.json()["message_id"]
    assert (await api.http.get(f"/v1/market-messages/{message_id}", headers=b_client)).status_code == 404

    with Session(engine) as session:
        task = Task(
            tenant_id=a.tenant.id,
            business_key=f"test:{a.tenant.id}",
            queue="clearing",
            kind="test",
            title="a's task",
            allowed_decisions=["ok"],
            workflow_id="none",
        )
        session.add(task)
        session.commit()
        task_id = task.id
    assert task_id not in [t["id"] for t in (await api.http.get("/v1/tasks", headers=b_supervisor)).json()]
    assert (await api.http.get(f"/v1/tasks/{task_id}", headers=b_supervisor)).status_code == 404
    decide = await api.http.post(f"/v1/tasks/{task_id}/decision", json={"decision": "ok"}, headers=b_supervisor)
    assert decide.status_code == 404
