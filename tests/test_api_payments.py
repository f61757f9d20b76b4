"""Payments over HTTP and the CLI: a statement uploaded, its unassignable payment decided by a clerk; the
direct-debit run and the import from the command line."""

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from models.customers import SepaMandate
from models.payments import BankTransaction, ItemHold
from models.process import DunningInput
from models.tasks import Task
from models.tenancy import Role
from services.payment_runs import collect
from tests.camt import Entry, Tx, statement
from tests.flow import eventually, today
from tests.test_api import Api
from tests.test_payments import DAY, OWN_IBAN, Customer
from worker import build_worker

pytest_plugins = ["tests.test_api", "tests.test_cli"]
D = Decimal


async def test_statement_upload_and_a_clerk_assigning_the_unknown_payment(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    customer = Customer(engine)
    key = api.key(customer.tenant, Role.CLERK)
    raw = statement(OWN_IBAN, DAY, [Entry(True, [Tx(D("80.00"), remittance="danke", iban="DE12500105170648489890")])])
    async with build_worker(client, engine, settings):
        response = await api.http.post("/v1/bank-statements", content=raw, headers=key)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["transactions"] == 1 and len(body["unassigned"]) == 1
        [workflow_id] = body["clearing_processes"]
        task = await eventually(lambda: _open_task(engine, workflow_id), what="clearing task")
        for _ in range(100):
            decided = await api.http.post(
                f"/v1/tasks/{task.id}/decision",
                json={"decision": "assign", "data": {"account": customer.number}},
                headers=key,
            )
            if decided.status_code != 409:
                break
            await asyncio.sleep(0.1)
        assert decided.status_code == 200, decided.text
        await client.get_workflow_handle(workflow_id).result()
    with Session(engine) as session:
        row = session.get(BankTransaction, body["unassigned"][0])
        assert row is not None and row.outcome == "matched"
    assert customer.balance() == 0
    broken = await api.http.post("/v1/bank-statements", content=raw[:100], headers=key)
    assert broken.status_code == 422 and "not a readable statement" in broken.text


def _open_task(engine: Engine, workflow_id: str) -> Task | None:
    with Session(engine) as session:
        return session.exec(select(Task).where(Task.workflow_id == workflow_id, Task.state == "open")).first()


def test_direct_debit_run_and_import_from_the_cli(
    cli_env: None,
    engine: Engine,
    tmp_path: Path,
) -> None:
    customer = Customer(engine)
    runner = CliRunner()
    result = runner.invoke(
        app, ["payments", "run", "--tenant", customer.tenant, "--date", DAY.isoformat(), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "1 direct debits, 80.00 EUR" in result.output
    [pain] = list(tmp_path.glob("*pain.008.xml"))
    assert b"<CtrlSum>80.00</CtrlSum>" in pain.read_bytes()
    camt = tmp_path / "statement.xml"
    camt.write_bytes(statement(OWN_IBAN, DAY, [Entry(True, [Tx(D("5.00"), remittance=f"VK {customer.number}")])]))
    imported = runner.invoke(app, ["payments", "import", str(camt), "--tenant", customer.tenant])
    assert imported.exit_code == 0 and "matched 1" in imported.output
    again = runner.invoke(app, ["payments", "import", str(camt), "--tenant", customer.tenant])
    assert "already imported" in again.output
    (tmp_path / "broken.xml").write_bytes(b"<Document>")
    refused = runner.invoke(app, ["payments", "import", str(tmp_path / "broken.xml"), "--tenant", customer.tenant])
    assert refused.exit_code == 1 and "not a readable statement" in refused.output


async def test_objection_over_the_api_pauses_the_dunning(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    customer = Customer(engine, due=DAY - timedelta(days=60))
    key = api.key(customer.tenant, Role.CLERK)
    url = f"/v1/accounts/{customer.account}/objection"
    assert (await api.http.post(url, json={"reason": "Abschlag zu hoch"}, headers=key)).status_code == 409
    async with build_worker(client, engine, settings):
        await client.start_workflow(
            "DunningWorkflow",
            DunningInput(tenant_id=customer.tenant, account_id=customer.account, case_key="api", grace_days=0),
            id=f"dunning/{customer.tenant}/{customer.account}",
            task_queue=settings.task_queue,
        )
        response = await api.http.post(url, json={"reason": "Abschlag zu hoch"}, headers=key)
        assert response.status_code == 202 and response.json()["state"] == "paused"
        task = await eventually(
            lambda: _open_task(engine, f"dunning/{customer.tenant}/{customer.account}"), what="objection task"
        )
        assert task.kind == "dunning_objection"
    assert (await api.http.post(url, json={"reason": "x"}, headers=key)).status_code == 422


async def test_a_closed_account_return_asks_the_clerk_for_new_bank_details(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    customer = Customer(engine)
    _, [debit] = customer.run()
    key = api.key(customer.tenant, Role.CLERK)
    collected = statement(OWN_IBAN, DAY, [Entry(True, [Tx(D("80.00"), debit.end_to_end_id)])])
    returned = statement(
        OWN_IBAN, DAY, [Entry(False, [Tx(D("80.00"), debit.end_to_end_id, return_reason="AC04", charges=D("3.00"))])]
    )
    async with build_worker(client, engine, settings):
        assert (await api.http.post("/v1/bank-statements", content=collected, headers=key)).status_code == 201
        response = await api.http.post("/v1/bank-statements", content=returned, headers=key)
        body = response.json()
        assert body["mandates_stopped"] == [debit.mandate_id]
        [workflow_id] = [p for p in body["clearing_processes"] if p.startswith("bank-details/")]
        task = await eventually(lambda: _open_task(engine, workflow_id), what="bank details task")
        assert task.queue == "payments" and task.kind == "new_bank_details"
        for _ in range(100):
            decided = await api.http.post(
                f"/v1/tasks/{task.id}/decision",
                json={"decision": "new_mandate", "data": {"iban": "DE02100100100006820101", "signed_on": "2026-12-05"}},
                headers=key,
            )
            if decided.status_code != 409:
                break
            await asyncio.sleep(0.1)
        assert decided.status_code == 200, decided.text
        await client.get_workflow_handle(workflow_id).result()
    with Session(engine) as session:
        mandates = session.exec(select(SepaMandate).where(SepaMandate.tenant_id == customer.tenant)).all()
        assert sorted((m.state, m.iban) for m in mandates) == [
            ("active", "DE02100100100006820101"),
            ("stopped", "DE89370400440532013000"),
        ]


async def test_deferral_by_a_clerk_within_the_tenants_limit(api: Api, engine: Engine) -> None:
    customer = Customer(engine)
    key = api.key(customer.tenant, Role.CLERK)
    url = f"/v1/accounts/{customer.account}/deferral"
    soon = (today() + timedelta(days=30)).isoformat()
    too_late = (today() + timedelta(days=200)).isoformat()
    assert (await api.http.post(url, json={"until": too_late}, headers=key)).status_code == 422
    deferred = await api.http.post(url, json={"until": soon, "reason": "Krankheit"}, headers=key)
    assert deferred.status_code == 201 and len(deferred.json()["deferred_items"]) == 1
    with Session(engine) as session:
        [hold] = session.exec(select(ItemHold).where(ItemHold.tenant_id == customer.tenant)).all()
        assert (hold.kind, str(hold.due_date), hold.reason) == ("deferral", soon, "Krankheit")
        assert collect_run_items(session, customer.tenant) == 0  # not collected while deferred
    other = api.key(Customer(engine).tenant, Role.CLERK)
    assert (await api.http.post(url, json={"until": soon}, headers=other)).status_code == 404


def collect_run_items(session: Session, tenant_id: str) -> int:
    return collect(session, tenant_id, DAY, "deferral-check").debits
