"""``bpo``: the operators' command."""

import asyncio
import gc
import json
import signal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session

from cli.admin import key_app, partner_app, tariff_app, tenant_app
from cli.billing import billing_app
from cli.contacts import contacts_app
from cli.edifact import edifact_app
from cli.grid import grid_app
from cli.ledger import ledger_app
from cli.payments import payments_app
from cli.prices import prices_app
from cli.taxes import rates_app
from core.settings import get_settings

app = typer.Typer(help="Process engine for energy-supplier back offices.", no_args_is_help=True)
contract_app = typer.Typer(help="Contracts.", no_args_is_help=True)
inbox_app = typer.Typer(help="Inbound market messages.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(key_app, name="key")
app.add_typer(partner_app, name="partner")
app.add_typer(partner_app, name="partners")
app.add_typer(tariff_app, name="tariff")
app.add_typer(contract_app, name="contract")
app.add_typer(inbox_app, name="inbox")
app.add_typer(edifact_app, name="edifact")
app.add_typer(ledger_app, name="ledger")
app.add_typer(billing_app, name="billing")
app.add_typer(payments_app, name="payments")
app.add_typer(contacts_app, name="contacts")
app.add_typer(grid_app, name="grid")
app.add_typer(rates_app, name="rates")
app.add_typer(prices_app, name="prices")
console = Console()


@app.command()
def up(demo: Annotated[bool, typer.Option(help="play one demo supply start once everything runs")] = True) -> None:
    """Start database, Temporal (UI on :8233), migrations, a worker and the API; Ctrl-C stops them all."""
    from cli.up import bring_up

    settings = get_settings()

    def play_demo() -> None:
        from core.db import database_url, make_engine
        from core.temporal import connect

        async def run() -> None:
            from cli.demo import run_demo

            client = await connect(settings)
            engine = make_engine(database_url(settings))
            try:
                await run_demo(engine, client, settings.task_queue, settings.var_dir / "demo")
            finally:
                engine.dispose()

        try:
            asyncio.run(run())
        except Exception as error:  # the demo must not take the services down
            console.print(f"[red]demo failed: {error}[/red]")

    bring_up(settings, play_demo if demo else None)


@app.command()
def worker() -> None:
    """Run one worker (all workflows and activities on the task queue) until SIGTERM or Ctrl-C."""
    from core.db import database_url, make_engine
    from core.logging import configure_logging, get_logger
    from core.temporal import connect
    from worker import MAX_CONCURRENT_ACTIVITIES, build_worker

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)

    async def run() -> None:
        engine = make_engine(database_url(settings), pool_size=MAX_CONCURRENT_ACTIVITIES)
        client = await connect(settings)
        the_worker = build_worker(client, engine, settings)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log = get_logger(task_queue=settings.task_queue)
        gc.freeze()  # start-up objects live as long as the worker; the collector need not scan them again
        async with the_worker:
            log.info("worker polling", temporal=settings.temporal_target)
            await stop.wait()
            log.info("worker shutting down")
        engine.dispose()

    asyncio.run(run())


@app.command()
def api() -> None:
    """Run the HTTP API."""
    import uvicorn

    settings = get_settings()
    uvicorn.run("api.main:app", host=settings.api_host, port=settings.api_port)


@app.command()
def migrate() -> None:
    """Apply all database migrations."""
    from core import migrate as migrations
    from core.db import database_url

    migrations.upgrade(database_url())
    console.print("database schema is current")


@app.command()
def status() -> None:
    """Check servers, migrations, workers and API; exit 1 when something is not right."""
    from cli.status import report

    raise typer.Exit(0 if asyncio.run(report(get_settings())) else 1)


@contract_app.command("create")
def contract_create(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="order as JSON")],
    tenant: Annotated[str, typer.Option(help="tenant id")],
) -> None:
    """Validate an order, store it and start its supply-start process."""
    from core.db import get_engine
    from core.temporal import connect
    from models.base import utcnow
    from models.orders import ContractOrder
    from models.tenancy import Tenant
    from rules.calendar import BERLIN
    from services.intake import OrderRejected, intake
    from services.supply import start_supply

    try:
        order = ContractOrder.model_validate(json.loads(file.read_text(encoding="utf-8")))
    except (ValidationError, json.JSONDecodeError) as error:
        console.print(f"[red]{file} is not a valid order:[/red]\n{error}")
        raise typer.Exit(2) from error
    with Session(get_engine(), expire_on_commit=False) as session:
        row = session.get(Tenant, tenant)
        if row is None:
            raise typer.BadParameter(f"tenant {tenant} does not exist", param_hint="--tenant")
        try:
            contract, created = intake(session, row, order, utcnow().astimezone(BERLIN).date())
        except OrderRejected as rejected:
            console.print(f"[red]{'.'.join(rejected.field)}: {rejected.message}[/red]")
            raise typer.Exit(2) from rejected
        session.commit()

    async def start() -> str:
        return await start_supply(await connect(), get_settings().task_queue, contract)

    workflow_id = asyncio.run(start())
    console.print(f"{'started' if created else 'already known'}: {workflow_id}")


@inbox_app.command("import")
def inbox_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="EDIFACT interchange")],
    tenant: Annotated[str, typer.Option(help="tenant id")],
) -> None:
    """Store an interchange and hand it to its process (the same path as POST /v1/market-messages)."""
    from core.db import get_engine
    from models.tenancy import Tenant
    from services.inbox import receive_interchange

    with Session(get_engine()) as session:
        row = session.get(Tenant, tenant)
        if row is None:
            raise typer.BadParameter(f"tenant {tenant} does not exist", param_hint="--tenant")
        received = receive_interchange(session, row, file)
    if received.duplicate_of is not None:
        console.print(f"message {received.message_id}: duplicate of {received.duplicate_of}, not processed again")
        return
    workflow_id = asyncio.run(_start_inbound(tenant, received.message_id))
    note = f" ({received.error})" if received.error else ""
    console.print(f"message {received.message_id}: {received.state}{note}; process {workflow_id}")


async def _start_inbound(tenant: str, message_id: int) -> str:
    from core.temporal import connect
    from services.inbox import start_processing

    return await start_processing(await connect(), get_settings().task_queue, tenant, message_id)


@inbox_app.command("monitor")
def inbox_monitor(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    state: Annotated[
        str | None,
        typer.Option(help="received, processed, answered, awaiting_answer, answer_overdue, clearing, duplicate, sent"),
    ] = None,
    partner: Annotated[str | None, typer.Option(help="13-digit code number")] = None,
    message_type: Annotated[str | None, typer.Option("--type", help="UTILMD, MSCONS, ...")] = None,
    pruefidentifikator: Annotated[str | None, typer.Option("--pid")] = None,
    day_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    day_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    limit: int = 200,
) -> None:
    """The daily market-communication check: counts per state, then the messages that match."""
    from datetime import date

    from cli.monitor import show
    from core.db import get_engine
    from services.monitor import MonitorFilter, MonitorState

    try:
        where = MonitorFilter(
            state=MonitorState(state) if state else None,
            partner=partner,
            message_type=message_type,
            pruefidentifikator=pruefidentifikator,
            day_from=date.fromisoformat(day_from) if day_from else None,
            day_to=date.fromisoformat(day_to) if day_to else None,
            limit=limit,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    with Session(get_engine()) as session:
        show(session, tenant, where)
