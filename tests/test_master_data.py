"""Customer master data over HTTP: validated changes kept as versions, a new name/address passed to the grid
operator (UTILMD 55109) and confirmed (55137), and new bank details used by the next direct-debit run."""

import asyncio
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select
from temporalio.client import Client

from core.settings import Settings
from models.contracts import MarketLocation, Meter
from models.customers import Customer
from models.master_data import CustomerVersion, GridMasterData
from models.messages import MarketMessage
from models.orders import ContractOrder
from models.payments import DirectDebit
from models.tenancy import Role
from services.customer_data import CustomerChange, record_change
from services.customer_versions import data_on
from services.intake import intake
from services.payment_runs import collect
from tests import market
from tests.cases import message_row
from tests.end_of_supply import Supplied, decide, task_of
from tests.factories import World
from tests.flow import deliver, eventually, today
from tests.test_api import Api
from tests.test_dunning import Debt
from tests.test_inbound_pipeline import addressed
from worker import build_worker

pytest_plugins = ["tests.test_api"]


def customer_number(engine: Engine, supplied: Supplied) -> str:
    with Session(engine) as session:
        return str(
            session.execute(
                text("SELECT customer_number FROM customer WHERE id = :id"), {"id": supplied.contract.customer_id}
            ).scalar_one()
        )


def versions(engine: Engine, customer_id: int) -> list[CustomerVersion]:
    """The changes (without the baseline version of the data as taken in at intake)."""
    with Session(engine) as session:
        query = select(CustomerVersion).where(
            CustomerVersion.customer_id == customer_id, CustomerVersion.source != "intake"
        )
        return list(session.exec(query.order_by(col(CustomerVersion.id))))


async def test_changes_are_validated_and_kept_with_who_and_when(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    number = customer_number(engine, supplied)
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    url = f"/v1/customers/{number}"
    assert (await api.http.patch(url, json={"postcode": "1234"}, headers=key)).status_code == 422
    assert (await api.http.patch(url, json={"nickname": "x"}, headers=key)).status_code == 422
    past = (today() - timedelta(days=1)).isoformat()
    assert (await api.http.patch(url, json={"email": "a@b.de", "valid_from": past}, headers=key)).status_code == 422
    assert (await api.http.patch("/v1/customers/K-none", json={"email": "a@b.de"}, headers=key)).status_code == 404
    later = (today() + timedelta(days=30)).isoformat()
    async with build_worker(client, engine, settings):
        mail = await api.http.patch(url, json={"email": "erika@example.org"}, headers=key | {"Idempotency-Key": "m1"})
        again = await api.http.patch(url, json={"email": "erika@example.org"}, headers=key | {"Idempotency-Key": "m1"})
        future = await api.http.patch(url, json={"phone": "030 123", "valid_from": later}, headers=key)
    assert mail.status_code == 200 and mail.json()["email"] == "erika@example.org"
    assert again.json()["versions"] == mail.json()["versions"]  # the same key: one change
    assert mail.json()["versions"][0]["source"] == "intake"  # the data as it was before
    body = future.json()
    assert body["phone"] == "" and body["versions"][-1]["valid_from"] == later  # not in effect yet
    assert body["versions"][-1]["data"]["email"] == "erika@example.org"  # builds on the earlier change
    [first, second] = versions(engine, supplied.contract.customer_id)
    assert first.changed_fields == ["email"] and first.changed_by.startswith("client:")
    assert first.market_state == "not_needed" and first.applied_at is not None
    assert second.applied_at is None and second.workflow_id == f"customer-data/{supplied.world.tenant.id}/{second.id}"


async def test_new_address_is_passed_to_the_grid_operator_and_confirmed(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    change = {"last_name": "Sonnenschein", "street": "Ahornweg", "house_number": "12", "postcode": "12347"}
    async with build_worker(client, engine, settings):
        response = await api.http.patch(f"/v1/customers/{customer_number(engine, supplied)}", json=change, headers=key)
        assert response.status_code == 200 and response.json()["street"] == "Ahornweg"
        [version] = versions(engine, supplied.contract.customer_id)
        assert version.market_state == "pending" and version.workflow_id
        [sent] = await eventually(lambda: market.sent(engine, version.workflow_id or "", "55109"), what="55109")
        request = market.request_of(sent)
        assert sent.receiver == supplied.world.grid_operator.id and request.malo_id == supplied.malo_id
        assert request.customer is not None and request.customer.last_name == "Sonnenschein"
        assert request.customer_address is not None
        assert (request.customer_address.street, request.customer_address.postcode) == ("Ahornweg", "12347")
        assert request.valid_from is not None
        await deliver(engine, client, settings.task_queue, supplied.world.tenant, market.answer(sent, "55137"))

        async def confirmed() -> str:
            for _ in range(150):
                [row] = versions(engine, supplied.contract.customer_id)
                if row.market_state != "pending":
                    return row.market_state
                await asyncio.sleep(0.1)
            return "pending"

        assert await confirmed() == "confirmed"
    with Session(engine) as session:
        answer = session.exec(
            select(MarketMessage).where(
                MarketMessage.pruefidentifikator == "55137", MarketMessage.in_reply_to_id == sent.id
            )
        ).one()
    assert answer.workflow_id == version.workflow_id


async def test_new_bank_details_are_used_by_the_next_debit_run(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    debt: Any = Debt(engine, SimpleNamespace(client=client), settings, today())  # type: ignore[arg-type]
    key = api.key(debt.tenant, Role.CLIENT)
    url = f"/v1/contracts/{debt.supplied.contract.contract_number}/bank-details"
    bad = await api.http.put(
        url, json={"iban": "DE00123", "account_holder": "E", "signed_on": "2026-11-01"}, headers=key
    )
    assert bad.status_code == 422
    details = {"iban": "DE02 1203 0000 0000 2020 51", "account_holder": "Erika Mustermann", "signed_on": "2026-11-20"}
    changed = await api.http.put(url, json=details, headers=key)
    assert changed.status_code == 200 and changed.json()["iban"] == "DE02120300000000202051"
    assert (await api.http.put(url, json=details, headers=key)).json() == changed.json()  # once
    with Session(engine) as session:
        session.execute(
            text("UPDATE tenant SET creditor_id = 'DE98ZZZ09999999999', bic = 'BYLADEM1001' WHERE id = :t"),
            {"t": debt.tenant},
        )
        run = collect(session, debt.tenant, today() + timedelta(days=2), f"test-{debt.tenant}")
        session.commit()
        [debit] = session.exec(select(DirectDebit).where(DirectDebit.run_id == run.run_id)).all()
        mandate = session.execute(
            text("SELECT iban, reference FROM sepa_mandate WHERE id = :id"), {"id": debit.mandate_id}
        ).one()
    assert mandate.iban == "DE02120300000000202051" and mandate.reference == changed.json()["mandate_reference"]


FIXTURE_55616 = Path(__file__).parent / "fixtures" / "edifact" / "utilmd" / "55616_stammdaten-malo.edi"
MELO = "DE0001234567890000000000000000001"


def stammdaten(supplied: Supplied) -> bytes:
    """Our own 55616 fixture from the supplied MaLo's grid operator: Birkenallee 3, 54321 Neustadt, one MeLo."""
    raw, _ = addressed(FIXTURE_55616, supplied.world.grid_operator.id, supplied.world.tenant.market_partner_id)
    return raw.replace(b"LOC+Z16+51238696781'", f"LOC+Z16+{supplied.malo_id}'".encode())


def grid_record(engine: Engine, malo_id: str) -> GridMasterData | None:
    with Session(engine) as session:
        return session.exec(select(GridMasterData).where(GridMasterData.malo_id == malo_id)).first()


async def test_grid_operators_master_data_differing_from_ours_goes_to_a_clerk(
    engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    async with build_worker(client, engine, settings):
        await deliver(engine, client, settings.task_queue, supplied.world.tenant, stammdaten(supplied))
        record = await eventually(lambda: grid_record(engine, supplied.malo_id), what="master data stored")
        assert record.state == "clearing" and record.workflow_id
        assert {d["field"] for d in record.differences} == {"street", "house_number", "postcode", "city", "melo_ids"}
        task = await task_of(engine, client, record.workflow_id, "grid_master_data_differs")
        assert task.queue == "master_data" and "melo_ids" in task.title
        await decide(client, record.workflow_id, task, "take_over")
        taken = await eventually(
            lambda: (r := grid_record(engine, supplied.malo_id)) and r.state == "taken_over" and r, what="taken over"
        )
    assert taken.decided_by == "clerk.anna"
    with Session(engine) as session:
        location = session.get(MarketLocation, supplied.contract.location_id)
    assert location is not None and (location.street, location.postcode, location.city) == (
        "Birkenallee",
        "54321",
        "Neustadt",
    )


async def test_grid_operators_master_data_matching_ours_needs_nobody(
    engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    with Session(engine) as session:
        location = session.get(MarketLocation, supplied.contract.location_id)
        assert location is not None
        location.street, location.house_number, location.postcode, location.city = (
            "Birkenallee",
            "3",
            "54321",
            "Neustadt",
        )
        session.add(
            Meter(
                tenant_id=supplied.world.tenant.id,
                location_id=location.id or 0,
                meter_number=f"Z-{supplied.malo_id}",
                melo_id=MELO,
            )
        )
        session.commit()
    async with build_worker(client, engine, settings):
        received = await deliver(engine, client, settings.task_queue, supplied.world.tenant, stammdaten(supplied))
        record = await eventually(lambda: grid_record(engine, supplied.malo_id), what="master data stored")
        await eventually(lambda: message_row(engine, received.message_id).state == "processed", what="processed")
    assert record.state == "matches" and record.differences == [] and record.workflow_id is None


def test_data_valid_on_a_day_keeps_the_old_address_for_earlier_periods(engine: Engine, settings: Settings) -> None:
    with Session(engine, expire_on_commit=False) as session:
        world = World(session)
        order = ContractOrder.model_validate(world.order(date(2025, 1, 1)))
        contract, _ = intake(session, world.tenant, order, date(2024, 11, 1))
        customer = session.get(Customer, contract.customer_id)
        assert customer is not None
        record_change(
            session,
            customer,
            CustomerChange(street="Neuer Weg", house_number="1"),
            key="t1",
            changed_by="clerk",
            source="api",
            today=date(2026, 3, 1),
            outbox=settings.customer_outbox_path,
        )
        session.commit()
        assert data_on(session, customer, date(2025, 12, 31))["street"] == "Lindenweg"  # the bill of 2025
        assert data_on(session, customer, date(2026, 3, 1))["street"] == "Neuer Weg"
        assert customer.street == "Neuer Weg"
