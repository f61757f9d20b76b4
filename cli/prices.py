"""``bpo prices``: announce new prices of a tariff and follow the notices going out."""

import asyncio
import time
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.db import get_engine
from core.settings import get_settings
from models.base import utcnow
from models.contracts import PriceAdjustment
from models.process import PriceRun
from rules.calendar import BERLIN
from services import price_changes
from workflows.price_adjustment import PriceAdjustmentRunWorkflow

prices_app = typer.Typer(help="Price adjustments: new prices, every customer told in time.", no_args_is_help=True)
console = Console()


@prices_app.command("adjust")
def adjust_command(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    tariff: Annotated[str, typer.Option(help="tariff code")],
    valid_from: Annotated[str, typer.Option(help="YYYY-MM-DD, the first day of the new prices")],
    working_price: Annotated[str, typer.Option(help="EUR per kWh, net, e.g. 0.3500")],
    base_price: Annotated[str, typer.Option(help="EUR per year, net, e.g. 130.00")],
    reason: Annotated[str, typer.Option(help="why the prices change, printed in the notice")] = "",
    wait: Annotated[bool, typer.Option(help="follow the notices with a progress bar")] = True,
) -> None:
    """Store the new prices and start the notices (refused if the notice period cannot be kept)."""
    try:
        day, working, base = date.fromisoformat(valid_from), Decimal(working_price), Decimal(base_price)
    except (ValueError, InvalidOperation) as error:
        raise typer.BadParameter(str(error)) from error
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            adjustment = price_changes.announce(
                session,
                tenant,
                tariff,
                day,
                working,
                base,
                reason=reason,
                announced_by="cli",
                today=utcnow().astimezone(BERLIN).date(),
            )
        except price_changes.PriceChangeRefused as refused:
            typer.echo(str(refused), err=True)
            raise typer.Exit(1) from refused
        session.commit()
    assert adjustment.id is not None and adjustment.workflow_id is not None
    asyncio.run(_start(tenant, adjustment.id, adjustment.workflow_id))
    console.print(f"price adjustment {adjustment.id}: {adjustment.workflow_id}")
    if wait:
        _follow(adjustment.id)


@prices_app.command("status")
def status_command(adjustment_id: Annotated[int, typer.Argument()], wait: bool = False) -> None:
    """How many customers the adjustment concerns and how many were told so far."""
    if wait:
        _follow(adjustment_id)
        return
    row = _row(adjustment_id)
    console.print(f"{row.state}: {row.notified} of {row.customers} customers notified (prices from {row.valid_from})")


async def _start(tenant: str, adjustment_id: int, workflow_id: str) -> None:
    from core.temporal import connect

    settings = get_settings()
    client = await connect(settings)
    try:
        await client.start_workflow(
            PriceAdjustmentRunWorkflow.run,
            PriceRun(tenant_id=tenant, adjustment_id=adjustment_id),
            id=workflow_id,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        console.print(f"{workflow_id} is already running")


def _row(adjustment_id: int) -> PriceAdjustment:
    with Session(get_engine()) as session:
        row = session.get(PriceAdjustment, adjustment_id)
    if row is None:
        typer.echo(f"price adjustment {adjustment_id} does not exist", err=True)
        raise typer.Exit(1)
    return row


def _follow(adjustment_id: int) -> None:
    """A progress bar from the run's recorded progress until every customer is told."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("notices", total=None)
        while True:
            row = _row(adjustment_id)
            progress.update(
                task, total=row.customers or None, completed=row.notified, description=f"notices ({row.state})"
            )
            if row.state == "notified":
                break
            time.sleep(1)
