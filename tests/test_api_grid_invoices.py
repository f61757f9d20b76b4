"""Grid invoices over HTTP and the CLI: price sheets in, invoices listed with their check result."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import Client
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from models.base import utcnow
from models.tenancy import Role
from rules.calendar import BERLIN
from tests.end_of_supply import Supplied
from tests.flow import eventually
from tests.grid import GridCase, decided
from tests.test_api import Api
from tests.test_cli import cli_env  # noqa: F401 (fixture)
from worker import build_worker

pytest_plugins = ["tests.test_api"]


async def test_price_sheet_and_invoices_over_http(api: Api, engine: Engine, client: Client, settings: Settings) -> None:
    case = GridCase.create(Supplied.create(engine, client, settings, start=date(2025, 1, 1)))
    case.reading(date(2025, 4, 1), "1900")
    key = api.key(case.tenant, Role.CLIENT)
    clerk = api.key(case.tenant, Role.CLERK)
    url = f"/v1/price-sheets/{case.grid}"
    broken = await api.http.put(url, content=b"1-02-0-002;01.01.2025;0,0861\n", headers=key)
    assert broken.status_code == 422 and "line 1" in broken.text
    assert (await api.http.put(url, content=b"x;2025-01-01;1\n", headers=clerk)).status_code == 403
    ok = await api.http.put(
        url, content=b"article_id;valid_from;unit_price\n1-02-0-002;2025-01-01;0,0861\n", headers=key
    )
    assert ok.status_code == 200 and ok.json() == {"partner_id": case.grid, "prices": 1}
    async with build_worker(client, engine, settings):
        invoice = case.invoice(
            date(2025, 1, 1), date(2025, 4, 1), Decimal("900"), received=utcnow().astimezone(BERLIN).date()
        )
        await case.send(invoice)
        await eventually(lambda: decided(engine, invoice.document_number), what="invoice decided")
    listed = (await api.http.get("/v1/grid-invoices", params={"state": "accepted"}, headers=clerk)).json()
    assert [row["invoice_number"] for row in listed] == [invoice.document_number]
    assert listed[0]["answer_pid"] == "33001" and Decimal(listed[0]["total"]) == invoice.total
    one = await api.http.get(f"/v1/grid-invoices/{listed[0]['id']}", headers=key)
    assert one.json()["details"]["check"]["billed_kwh"] == "900"
    other = api.key(Supplied.create(engine, client, settings, start=date(2025, 1, 1)).world.tenant.id, Role.CLIENT)
    assert (await api.http.get(f"/v1/grid-invoices/{listed[0]['id']}", headers=other)).status_code == 404


@pytest.mark.usefixtures("cli_env")
def test_price_sheet_through_the_cli(engine: Engine, client: Client, settings: Settings, tmp_path: Path) -> None:
    case = GridCase.create(Supplied.create(engine, client, settings, start=date(2025, 1, 1)))
    sheet = tmp_path / "preisblatt.csv"
    sheet.write_text("article_id;valid_from;unit_price;price_unit\n1-02-0-001;2026-01-01;0.30000;DAY\n")
    result = CliRunner().invoke(app, ["grid", "prices", str(sheet), "--tenant", case.tenant, "--partner", case.grid])
    assert result.exit_code == 0 and "1 prices" in result.output, result.output
    sheet.write_text("1-02-0-001;2026-01-01;abc\n")
    broken = CliRunner().invoke(app, ["grid", "prices", str(sheet), "--tenant", case.tenant, "--partner", case.grid])
    assert broken.exit_code == 1 and "line 1" in broken.output
    listed = CliRunner().invoke(app, ["grid", "invoices", "--tenant", case.tenant])
    assert listed.exit_code == 0
