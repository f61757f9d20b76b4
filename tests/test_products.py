"""Product changes (billed prorated at the change, confirmed with the new instalment, switched on their day) and
price adjustments over the API with the customer's special right to cancel."""

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from models.billing import Bill
from models.contracts import BudgetPlan, Contract, ContractTariff, Tariff, TariffPrice
from models.documents import Document
from models.process import PartnerRequestOutcome
from models.tenancy import Role
from rules.price_changes import earliest_change
from services.billing import Outcome, bill_contracts
from services.products import ProductChangeRefused, change_product, tariff_on
from tests.cases import pdf_text
from tests.end_of_supply import Supplied
from tests.flow import today
from tests.test_api import Api
from tests.test_billing import Portfolio
from tests.test_cli import cli_env  # noqa: F401 (fixture)
from worker import build_worker

pytest_plugins = ["tests.test_api"]
D = Decimal


def green_tariff(session: Session, tenant_id: str) -> Tariff:
    tariff = Tariff(tenant_id=tenant_id, code="STROM-OEKO", name="Strom Öko", division="strom")
    session.add(tariff)
    session.flush()
    session.add(
        TariffPrice(
            tariff_id=tariff.id or 0,
            valid_from=date(2020, 1, 1),
            working_price=D("0.4000"),
            base_price_per_year=D("180.00"),
        )
    )
    session.flush()
    return tariff


def test_product_change_mid_period_is_billed_prorated(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        green_tariff(session, books.tenant)
        books.reading(contract, date(2025, 1, 1), "1000")
        books.reading(contract, date(2025, 12, 29), "4620")  # 362 days, 3,620 kWh
        change_product(session, contract, "STROM-OEKO", date(2025, 7, 1), "clerk", today=date(2025, 6, 10))
        assert tariff_on(session, contract, date(2025, 6, 30)) != tariff_on(session, contract, date(2025, 7, 1))
        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert result.outcome is Outcome.BILLED, result.reason
        bill = session.get(Bill, result.bill_id)
        assert bill is not None
        computed = bill.details["computation"]["lines"]
        lines = [line for line in computed if line["kind"] in ("working_price", "base_price")]
        # 181 days on each tariff: 1,810 kWh each; base prices 120 and 180 a year for 181 days
        assert [(line["kind"], D(line["quantity"]), D(line["unit_price"]), D(line["amount"])) for line in lines] == [
            ("working_price", D("1810"), D("0.3245"), D("587.35")),
            ("base_price", D("181"), D("120"), D("59.51")),
            ("working_price", D("1810"), D("0.4000"), D("724.00")),
            ("base_price", D("181"), D("180"), D("89.26")),
        ]
        assert bill.consumption_kwh == D("3620")


def test_product_change_is_refused_with_the_reason(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        gas = Tariff(tenant_id=books.tenant, code="GAS-X", name="Gas", division="gas")
        session.add(gas)
        session.flush()
        green_tariff(session, books.tenant)
        for code, day, field in [
            ("NOPE", date(2026, 1, 1), "tariff_code"),
            ("GAS-X", date(2026, 1, 1), "tariff_code"),
            ("STROM-OEKO", date(2025, 1, 1), "effective_from"),
            ("STROM-BASIS", date(2026, 1, 1), "tariff_code"),
        ]:
            try:
                change_product(session, contract, code, day, "clerk", today=date(2025, 6, 1))
            except ProductChangeRefused as refused:
                assert refused.field == field, (code, str(refused))
            else:
                raise AssertionError(f"{code} on {day} was not refused")
        session.rollback()


async def test_product_change_over_the_api_confirms_and_switches(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    with Session(engine) as session:
        green = green_tariff(session, supplied.world.tenant.id).id
        session.commit()
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    url = f"/v1/contracts/{supplied.contract.contract_number}/product-change"
    refused = await api.http.post(url, json={"tariff_code": "NOPE", "effective_from": str(today())}, headers=key)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "tariff_code"]
    async with build_worker(client, engine, settings):
        accepted = await api.http.post(
            url, json={"tariff_code": "STROM-OEKO", "effective_from": str(today())}, headers=key
        )
        assert accepted.status_code == 202, accepted.text
        again = await api.http.post(
            url, json={"tariff_code": "STROM-OEKO", "effective_from": str(today())}, headers=key
        )
        assert again.status_code == 202 and not again.json()["created"]
        status = await client.get_workflow_handle(accepted.json()["workflow_id"]).result()
    assert status["state"] == "switched"
    with Session(engine) as session:
        contract = session.get(Contract, supplied.contract_id)
        [letter] = session.exec(
            select(Document).where(Document.contract_id == supplied.contract_id, Document.kind == "product_change")
        ).all()
        [plan] = session.exec(select(BudgetPlan).where(BudgetPlan.contract_id == supplied.contract_id)).all()
        switches = session.exec(
            select(ContractTariff)
            .where(ContractTariff.contract_id == supplied.contract_id)
            .order_by(col(ContractTariff.valid_from))
        ).all()
    assert contract is not None and contract.tariff_id == green
    assert [s.valid_from for s in switches] == [date(2025, 1, 1), today()]
    text = pdf_text(letter)
    assert "Strom Öko" in text and "Tarifwechsel" in text and f"{plan.instalment:.2f}".replace(".", ",") in text
    # 3,650 kWh x 0.40 + 180 = 1,640 net, 1,951.60 gross: 162.63 a month
    assert plan.annual_gross == D("1951.60")


async def test_price_adjustment_and_special_cancellation_over_the_api(
    api: Api, engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    key = api.key(supplied.world.tenant.id, Role.CLIENT)
    number = supplied.contract.contract_number
    soon = today() + timedelta(days=10)
    change_on = earliest_change(today(), basic_supply=False)
    body = {"working_price": "0.3500", "base_price_per_year": "130.00", "reason": "Netzentgelte"}
    url = "/v1/tariffs/STROM-BASIS/price-adjustments"
    too_soon = await api.http.post(url, json=body | {"valid_from": str(soon)}, headers=key)
    assert too_soon.status_code == 422 and str(change_on) in too_soon.text
    assert (
        await api.http.post(
            "/v1/tariffs/NOPE/price-adjustments", json=body | {"valid_from": str(change_on)}, headers=key
        )
    ).status_code == 422
    cancel = f"/v1/contracts/{number}/cancellation"
    assert (await api.http.post(cancel, json={"because_of_price_change": True}, headers=key)).status_code == 422
    async with build_worker(client, engine, settings):
        announced = await api.http.post(url, json=body | {"valid_from": str(change_on)}, headers=key)
        assert announced.status_code == 202, announced.text
        progress_url = f"/v1/price-adjustments/{announced.json()['id']}"
        for _ in range(100):
            progress = (await api.http.get(progress_url, headers=key)).json()
            if progress["state"] == "notified":
                break
            await asyncio.sleep(0.1)
        assert (progress["customers"], progress["notified"]) == (1, 1)
        accepted = await api.http.post(cancel, json={"because_of_price_change": True, "channel": "letter"}, headers=key)
        assert accepted.status_code == 202, accepted.text
        outcome = await client.get_workflow_handle(
            accepted.json()["workflow_id"], result_type=PartnerRequestOutcome
        ).result()
    assert outcome.end == change_on


@pytest.mark.usefixtures("cli_env")
async def test_price_adjustment_through_the_cli_with_progress(
    engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    tenant = supplied.world.tenant.id
    change_on = earliest_change(today(), basic_supply=False)
    args = ["--tenant", tenant, "--tariff", "STROM-BASIS", "--working-price", "0.36", "--base-price", "130"]
    too_soon = CliRunner().invoke(app, ["prices", "adjust", *args, "--valid-from", str(today())])
    assert too_soon.exit_code == 1 and "earliest day" in too_soon.output
    async with build_worker(client, engine, settings):
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["prices", "adjust", *args, "--valid-from", str(change_on), "--wait"]
        )
    assert result.exit_code == 0, result.output
    assert "1/1" in result.output and "price-adjustment/" in result.output
    status = CliRunner().invoke(app, ["prices", "status", result.output.split("price adjustment ")[1].split(":")[0]])
    assert "notified: 1 of 1 customers" in status.output
