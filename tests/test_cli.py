"""The operators' command on the real database and Temporal server, run in-process."""

import asyncio
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from temporalio.client import Client
from typer.testing import CliRunner

from cli.main import app
from core.db import get_engine
from core.settings import Settings, get_settings
from models.contracts import Contract, Tariff, TariffPrice
from models.messages import MarketMessage
from models.tenancy import ApiKey, Tenant
from rules.calendar import earliest_supply_start
from tests.factories import World, partner_id, short_id
from tests.flow import today

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, client: Client, settings: Settings) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("BPO_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("BPO_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_tenant_key_partner_and_tariff(cli_env: None, engine: Engine) -> None:
    tenant = short_id("cli")
    run("tenant", "add", tenant, "--name", "Stadtwerke CLI", "--mp-id", partner_id("99"))
    output = run("key", "add", "--tenant", tenant, "--role", "clerk", "--label", "anna")
    key = output.strip().splitlines()[-1]
    assert key.startswith("bpo_")
    grid = partner_id("99")
    run("partner", "add", grid, "--name", "Netz CLI", "--role", "grid_operator", "--division", "strom")
    args = ["tariff", "add", "--tenant", tenant, "--code", "T1", "--name", "Tarif 1", "--division", "strom"]
    run(*args, "--working-price", "0.30", "--base-price", "100", "--valid-from", "2026-01-01")
    run(*args, "--working-price", "0.32", "--base-price", "100", "--valid-from", "2026-07-01")
    with Session(engine) as session:
        assert session.get(Tenant, tenant) is not None
        stored = session.exec(select(ApiKey).where(ApiKey.tenant_id == tenant)).one()
        assert stored.key_hash != key and stored.label == "anna" and key.startswith(stored.prefix)
        tariff = session.exec(select(Tariff).where(Tariff.tenant_id == tenant)).one()
        prices = session.exec(select(TariffPrice).where(TariffPrice.tariff_id == tariff.id)).all()
        assert sorted(str(p.working_price) for p in prices) == ["0.300000", "0.320000"]


def test_invalid_code_number_is_refused(cli_env: None) -> None:
    result = runner.invoke(app, ["tenant", "add", short_id("x"), "--name", "X", "--mp-id", "9900357000004"])
    assert result.exit_code == 2 and "check digit" in result.output


def test_contract_create_and_inbox_import(cli_env: None, engine: Engine, tmp_path: Path) -> None:
    with Session(engine, expire_on_commit=False) as session:
        world = World(session)
    order = world.order(earliest_supply_start(today()) + timedelta(days=14))
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps(order), encoding="utf-8")
    assert "started: supply-start/" in run("contract", "create", str(order_file), "--tenant", world.tenant.id)
    assert "already known" in run("contract", "create", str(order_file), "--tenant", world.tenant.id)
    with Session(engine) as session:
        contract = session.exec(select(Contract).where(Contract.contract_number == order["contract_number"])).one()
    assert contract.tenant_id == world.tenant.id

    broken = tmp_path / "broken.edi"
    broken.write_bytes(b"UNA:+.? 'UNB+UNOC:3+1")
    output = run("inbox", "import", str(broken), "--tenant", world.tenant.id)
    assert "rejected" in output
    with Session(engine) as session:
        stored = session.exec(select(MarketMessage).where(MarketMessage.tenant_id == world.tenant.id)).one()
    assert stored.raw == broken.read_bytes() and stored.state in ("rejected", "processed", "clearing")


def test_bad_order_file_is_explained(cli_env: None, engine: Engine, tmp_path: Path) -> None:
    with Session(engine, expire_on_commit=False) as session:
        world = World(session)
    order = world.order(earliest_supply_start(today()) + timedelta(days=14))
    order["location"]["malo_id"] = "12345678901"
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order), encoding="utf-8")
    result = runner.invoke(app, ["contract", "create", str(path), "--tenant", world.tenant.id])
    assert result.exit_code == 2 and "malo_id" in result.output and "check digit" in result.output


def test_installed_command_starts() -> None:
    """The installed ``bpo`` script imports every package it needs (packaging is complete)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    bpo = shutil.which("bpo") or str(Path(sys.executable).parent / "bpo")
    result = subprocess.run([bpo, "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "inbox" in result.stdout and "edifact" in result.stdout


async def test_billing_run_command_shows_the_result_and_failures(
    cli_env: None, engine: Engine, client: Client, settings: Settings
) -> None:
    from tests.test_billing import Portfolio
    from worker import build_worker

    with Session(engine, expire_on_commit=False) as session:
        books = Portfolio(session)
        good, bad = books.contract(), books.contract()
        books.reading(good, date(2025, 1, 1), "0")
        books.reading(good, date(2026, 1, 1), "3650")
        books.reading(bad, date(2026, 1, 1), "3650")  # but no reading at the start of supply
        session.commit()
        tenant = books.tenant
    async with build_worker(client, engine, settings):
        result = await asyncio.to_thread(
            runner.invoke, app, ["billing", "run", "--date", "2026-01-05", "--tenant", tenant, "--no-deliver"]
        )
    assert result.exit_code == 0, result.output
    assert bad.contract_number in result.output and "no meter reading" in result.output
    report = await asyncio.to_thread(runner.invoke, app, ["billing", "report", f"billing-run/{tenant}/2026-01-05"])
    assert report.exit_code == 0 and "billed" in report.output and "failed" in report.output
    refused = await asyncio.to_thread(runner.invoke, app, ["billing", "run", "--date", "5.1.2026"])
    assert refused.exit_code != 0 and "YYYY-MM-DD" in refused.output


@pytest.mark.usefixtures("cli_env")
def test_tax_rates_are_set_and_listed(engine: Engine) -> None:
    output = run(
        "rates", "set", "--kind", "energy_tax", "--division", "gas", "--valid-from", "2097-01-01", "--rate", "0.0061"
    )
    assert "from 2097-01-01: 0.0061" in output
    try:
        listed = run("rates", "list", "--division", "gas")
        assert "2097-01-01" in listed and "0.0061" in listed and "2003-01-01" in listed
        refused = runner.invoke(
            app, ["rates", "set", "--kind", "vat", "--division", "gas", "--valid-from", "2097-01-01", "--rate", "19"]
        )
        assert refused.exit_code != 0 and "fraction" in refused.output
    finally:
        with Session(engine) as session:
            session.execute(text("DELETE FROM tax_rate WHERE valid_from = '2097-01-01'"))
            session.commit()
