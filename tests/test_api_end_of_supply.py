"""A customer's cancellation over HTTP: accepted once, refused for what cannot be cancelled."""

from datetime import date, timedelta

from sqlalchemy import Engine
from temporalio.client import Client

from core.settings import Settings
from models.process import PartnerRequestOutcome
from models.tenancy import Role
from tests.end_of_supply import Supplied
from tests.flow import today
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
