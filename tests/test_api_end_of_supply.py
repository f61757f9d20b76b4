"""End of supply over HTTP: a customer's cancellation, and a clerk clearing a new supplier's cancellation."""

import asyncio
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from core.settings import Settings
from edifact.envelope import parse_interchange
from edifact.utilmd import parse_utilmd
from models.contracts import Contract
from models.messages import MarketMessage
from models.process import PartnerRequestOutcome
from models.tasks import Task
from models.tenancy import Role
from tests.end_of_supply import Supplied, partner_request
from tests.factories import partner_id
from tests.flow import deliver, eventually, today
from tests.test_api import Api
from worker import build_worker

pytest_plugins = ["tests.test_api"]


async def test_cancellation_over_the_api(api: Api, engine: Engine, client: Client, settings: Settings) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    number = supplied.contract.contract_number
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    end = today() + timedelta(days=60)
    url = f"/v1/contracts/{number}/cancellation"

    assert (await api.http.post(url, json={"requested_end": today().isoformat()}, headers=key)).status_code == 422
    future = (today() + timedelta(days=1)).isoformat()
    assert (await api.http.post(url, json={"received_on": future}, headers=key)).status_code == 422
    assert (await api.http.post("/v1/contracts/V-unknown/cancellation", json={}, headers=key)).status_code == 404
    other = api.key(Supplied.create(engine, client, settings, start=date(2025, 1, 1)).world.tenant.id, Role.CLIENT)
    assert (await api.http.post(url, json={}, headers=other)).status_code == 404  # another tenant's contract

    async with build_worker(client, engine, settings):
        accepted = await api.http.post(url, json={"requested_end": end.isoformat(), "channel": "letter"}, headers=key)
        assert accepted.status_code == 202 and accepted.json()["created"]
        again = await api.http.post(url, json={"requested_end": end.isoformat()}, headers=key)
        assert again.status_code in (202, 409)
        outcome = await client.get_workflow_handle(
            accepted.json()["workflow_id"], result_type=PartnerRequestOutcome
        ).result()
    assert outcome.state == "confirmed" and outcome.end == end


async def test_clerk_clears_a_new_suppliers_cancellation_over_the_api(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    with Session(engine) as session:  # supplied only from 2099: the rules cannot tell what is meant
        contract = session.get(Contract, supplied.contract_id)
        assert contract is not None
        contract.supply_start = date(2099, 1, 1)
        session.commit()
    clerk = api.key(supplied.world.tenant.id, Role.CLERK)
    raw = partner_request(supplied, "55016", partner_id("99"), end=today() + timedelta(days=60))
    async with build_worker(client, engine, settings):
        await deliver(engine, client, settings.task_queue, supplied.world.tenant, raw)

        listed = await eventually(
            lambda: open_task_row(engine, supplied.world.tenant.id, "cancellation_undecidable"), what="clearing task"
        )
        for _ in range(100):
            response = await api.http.post(
                f"/v1/tasks/{listed.id}/decision", json={"decision": "reject", "data": {"code": "A04"}}, headers=clerk
            )
            if response.status_code != 409:
                break
            await asyncio.sleep(0.1)
        assert response.status_code == 200, response.text
        assert response.json()["decision"] == "reject"
        refused = await api.http.post(f"/v1/tasks/{listed.id}/decision", json={"decision": "confirm"}, headers=clerk)
        assert refused.status_code in (409, 422)
        answer = await eventually(lambda: sent_with(engine, supplied.world.tenant.id, "55018"), what="55018")
    assert parse_utilmd(parse_interchange(answer.raw).messages[0]).answer_code == "A04"


def open_task_row(engine: Engine, tenant_id: str, kind: str) -> Task | None:
    with Session(engine) as session:
        return session.exec(
            select(Task).where(Task.tenant_id == tenant_id, Task.kind == kind, Task.state == "open")
        ).first()


def sent_with(engine: Engine, tenant_id: str, pid: str) -> MarketMessage | None:
    with Session(engine) as session:
        return session.exec(
            select(MarketMessage).where(
                MarketMessage.tenant_id == tenant_id,
                MarketMessage.direction == "out",
                MarketMessage.pruefidentifikator == pid,
            )
        ).first()
