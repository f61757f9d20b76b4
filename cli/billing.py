"""``bpo billing``: start a billing run and watch it, and report what a run did."""

import asyncio
import re
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.db import get_engine
from core.settings import get_settings
from models.process import BillingRunInput, BillingTotals
from models.tenancy import Tenant
from workflows.billing_run import BillingRunWorkflow

billing_app = typer.Typer(help="Billing runs.", no_args_is_help=True)
console = Console()


def run_id(tenant_id: str, on: date) -> str:
    return f"billing-run/{tenant_id}/{on.isoformat()}"


@billing_app.command("run")
def run_command(
    on: Annotated[str, typer.Option("--date", help="run date YYYY-MM-DD: bills the periods ending by then")],
    tenant: Annotated[str | None, typer.Option(help="tenant id (default: every tenant)")] = None,
    chunk_size: Annotated[int, typer.Option(help="contracts per activity")] = 500,
    parallel: Annotated[int, typer.Option(help="chunk activities at once")] = 2,
    deliver: Annotated[bool, typer.Option(help="render and deliver the bills after billing")] = True,
    detach: Annotated[bool, typer.Option(help="start and return; watch it in the Temporal UI")] = False,
) -> None:
    """Bill every due contract (a restarted run continues; nobody is billed twice) and show the progress."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", on):
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--date")
    run_date = date.fromisoformat(on)
    with Session(get_engine()) as session:
        tenants = [tenant] if tenant else list(session.exec(select(Tenant.id)).all())
        if tenant and session.get(Tenant, tenant) is None:
            raise typer.BadParameter(f"unknown tenant {tenant}", param_hint="--tenant")
    totals = asyncio.run(_run_all(tenants, run_date, chunk_size, parallel, deliver, detach))
    if detach:
        return
    table = Table(title=f"billing run {run_date}")
    for column in ("tenant", "due", "billed", "held for release", "failed", "delivered"):
        table.add_column(column, justify="right")
    for tenant_id, t in totals.items():
        table.add_row(tenant_id, *(str(v) for v in (t.due, t.billed, t.held, t.failed, t.delivered)))
    console.print(table)
    for tenant_id, t in totals.items():
        if t.failed:
            _print_failures(run_id(tenant_id, run_date), limit=20)


async def _run_all(
    tenants: list[str], on: date, chunk_size: int, parallel: int, deliver: bool, detach: bool
) -> dict[str, BillingTotals]:
    from core.temporal import connect

    settings = get_settings()
    client = await connect(settings)
    handles = {
        tenant_id: await _start(
            client,
            settings.task_queue,
            BillingRunInput(tenant_id=tenant_id, on=on, chunk_size=chunk_size, parallel=parallel, deliver=deliver),
        )
        for tenant_id in tenants
    }
    if detach:
        for tenant_id, handle in handles.items():
            console.print(f"started {handle.id} for {tenant_id}")
        return {}
    return {tenant_id: await _watch(handle) for tenant_id, handle in handles.items()}


async def _start(
    client: Client, task_queue: str, request: BillingRunInput
) -> WorkflowHandle[BillingRunWorkflow, BillingTotals]:
    assert request.on is not None
    workflow_id = run_id(request.tenant_id, request.on)
    try:
        return await client.start_workflow(BillingRunWorkflow.run, request, id=workflow_id, task_queue=task_queue)
    except WorkflowAlreadyStartedError:
        console.print(f"{workflow_id} is already running: following it")
        return client.get_workflow_handle_for(BillingRunWorkflow.run, workflow_id)


async def _watch(handle: WorkflowHandle[BillingRunWorkflow, BillingTotals]) -> BillingTotals:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(handle.id, total=None)
        result = asyncio.ensure_future(handle.result())
        while not result.done():
            try:
                totals = await handle.query(BillingRunWorkflow.progress)
                phase = await handle.query(BillingRunWorkflow.current_phase)
                done = totals.delivered if phase == "delivering" else totals.done
                total = totals.billed + totals.held if phase == "delivering" else totals.due
                progress.update(task, total=total or None, completed=done, description=f"{handle.id} {phase}")
            except (RPCError, WorkflowQueryFailedError):  # e.g. while the run continues as new: ask again
                pass
            await asyncio.wait({result}, timeout=1.0)
        try:
            totals = result.result()
        except WorkflowFailureError as failed:
            console.print(f"[red]{handle.id} failed: {failed.cause}[/red]")
            raise typer.Exit(1) from failed
        progress.update(task, total=max(totals.due, 1), completed=totals.due)
        return totals


@billing_app.command("report")
def report_command(
    run: Annotated[str, typer.Argument(help="run id, e.g. billing-run/stadtwerke-nord/2026-01-05")],
    limit: Annotated[int, typer.Option(help="failures listed at most")] = 100,
) -> None:
    """What a run did: billed, held for release, failed with the reason per contract."""
    with Session(get_engine()) as session:
        rows = session.execute(
            text("SELECT outcome, count(*) AS n FROM billing_run_item WHERE run_id = :run GROUP BY outcome"),
            {"run": run},
        ).all()
    if not rows:
        console.print(f"no billing run {run}")
        raise typer.Exit(1)
    table = Table(title=run)
    table.add_column("outcome")
    table.add_column("contracts", justify="right")
    for row in rows:
        table.add_row(row.outcome, str(row.n))
    console.print(table)
    _print_failures(run, limit)


def _print_failures(run: str, limit: int) -> None:
    with Session(get_engine()) as session:
        failures = session.execute(
            text(
                "SELECT c.contract_number, i.reason FROM billing_run_item i JOIN contract c ON c.id = i.contract_id"
                " WHERE i.run_id = :run AND i.outcome = 'failed' ORDER BY c.contract_number LIMIT :limit"
            ),
            {"run": run, "limit": limit},
        ).all()
    if failures:
        table = Table(title=f"not billed ({run})")
        table.add_column("contract")
        table.add_column("reason")
        for failure in failures:
            table.add_row(failure.contract_number, failure.reason)
        console.print(table)


@billing_app.command("schedule")
def schedule_command(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    hour: Annotated[int, typer.Option(help="hour, Berlin time")] = 4,
) -> None:
    """Create the daily Temporal schedule of the billing run (instalment requests, due bills, delivery)."""
    from core.temporal import connect
    from services.schedules import schedule_billing_run

    async def create() -> str:
        settings = get_settings()
        return await schedule_billing_run(await connect(settings), settings.task_queue, tenant, hour)

    try:
        schedule_id = asyncio.run(create())
    except ValueError as refused:
        raise typer.BadParameter(str(refused), param_hint="--hour") from refused
    console.print(f"schedule {schedule_id}: daily at {hour:02d}:00 Europe/Berlin")
