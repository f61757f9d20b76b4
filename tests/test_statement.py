"""The account statement through the API: lines, running balance, open amounts, tenant isolation."""

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.app import create_app
from api.auth import issue_key
from core.settings import Settings
from models.tenancy import Role
from services.ledger import allocate
from tests.test_ledger import Books

D = Decimal


@pytest.fixture
async def http(engine: Engine, client: Client, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine, client)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def key(engine: Engine, tenant_id: str, role: Role) -> dict[str, str]:
    with Session(engine) as session:
        return {"Authorization": f"Bearer {issue_key(session, tenant_id, role)}"}


async def test_statement_explains_the_account(http: httpx.AsyncClient, engine: Engine) -> None:
    books = Books(engine)
    with Session(engine) as session:
        books.invoice(session, D("100.00"), date(2025, 12, 20))
        books.invoice(session, D("50.00"), date(2026, 1, 10))
        allocate(session, books.payment(session, D("150.00"), date(2026, 1, 20)), date(2026, 1, 20))
        session.commit()
    headers = key(engine, books.tenant_id, Role.CLERK)
    accounts = (await http.get("/v1/accounts", params={"kind": "debtor"}, headers=headers)).json()
    assert [a["number"] for a in accounts] == ["10001"]
    response = await http.get(
        f"/v1/accounts/{books.debtor}/statement", params={"from": "2026-01-01", "to": "2026-01-31"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["opening_balance"] == "119.00"
    assert [(line["doc_type"], line["debit"], line["credit"], line["balance"]) for line in body["lines"]] == [
        ("bill", "59.50", "0.00", "178.50"),
        ("payment", "0.00", "150.00", "28.50"),
    ]
    assert body["lines"][0]["open_amount"] == "28.50" and body["closing_balance"] == "28.50"


async def test_statement_of_another_tenant_is_not_found(http: httpx.AsyncClient, engine: Engine) -> None:
    mine, theirs = Books(engine), Books(engine)
    headers = key(engine, mine.tenant_id, Role.CLERK)
    assert (await http.get(f"/v1/accounts/{theirs.debtor}/statement", headers=headers)).status_code == 404
    assert (await http.get("/v1/accounts", headers=headers)).json() != []
    response = await http.get(
        f"/v1/accounts/{mine.debtor}/statement", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=headers
    )
    assert response.status_code == 422
