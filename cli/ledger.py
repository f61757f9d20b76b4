"""``bpo ledger``: the month close and the exports for the client's general ledger."""

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from core.db import get_engine
from models.documents import Document
from services.month_close import CloseRefused, close_month

ledger_app = typer.Typer(help="Subledger (Nebenbuch).", no_args_is_help=True)


@ledger_app.command("close-month")
def close_month_command(
    period: Annotated[str, typer.Argument(help="YYYY-MM")],
    tenant: Annotated[str, typer.Option(help="tenant id")],
    out: Annotated[Path | None, typer.Option(help="also write the exports into this folder")] = None,
) -> None:
    """Accrual, open items per debtor/creditor, daily GL balances and energy-tax bases; checked, archived, closed."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise typer.BadParameter("expected YYYY-MM", param_hint="PERIOD")
    with Session(get_engine()) as session:
        try:
            result = close_month(session, tenant, period)
        except CloseRefused as refused:
            typer.echo(str(refused), err=True)
            raise typer.Exit(1) from refused
        session.commit()
        table = Table(title=f"month close {tenant} {period} (key date {result.key_date})")
        for column in (
            "division",
            "debtor open items",
            "debtor balance",
            "creditor open items",
            "creditor balance",
            "trial balance",
            "accounts",
        ):
            table.add_column(column, justify="right")
        for d in result.divisions:
            table.add_row(
                d.division,
                str(d.debtor_open_items),
                str(d.debtor_balance),
                str(d.creditor_open_items),
                str(d.creditor_balance),
                str(d.trial_balance),
                str(d.accounts_with_open_items),
            )
        Console().print(table)
        taxes = Table(title="energy-tax bases (kWh; tax in EUR)")
        for column in ("division", "billed kWh", "billed tax", "accrued kWh", "reversed kWh", "delivered kWh", "tax"):
            taxes.add_column(column, justify="right")
        for b in result.energy_tax:
            taxes.add_row(
                b.division,
                *(str(v) for v in (b.billed_kwh, b.billed_tax, b.accrued_kwh, b.reversed_kwh, b.delivered_kwh, b.tax)),
            )
        Console().print(taxes)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name, document_id in result.documents.items():
                document = session.get(Document, document_id)
                assert document is not None
                (out / f"{tenant}-{period}-{name}").write_bytes(document.content)
            typer.echo(f"exports written to {out}")


@ledger_app.command("schedule-close")
def schedule_close(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    day: Annotated[int, typer.Option(help="day of the month")] = 2,
    hour: Annotated[int, typer.Option(help="hour, Berlin time")] = 6,
) -> None:
    """Create the Temporal schedule that closes the previous month every month (Europe/Berlin)."""
    import asyncio

    from core.settings import get_settings
    from core.temporal import connect
    from services.schedules import schedule_month_close

    async def create() -> str:
        settings = get_settings()
        return await schedule_month_close(await connect(settings), settings.task_queue, tenant, day, hour)

    try:
        schedule_id = asyncio.run(create())
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"schedule {schedule_id}: day {day} of each month at {hour:02d}:00 Europe/Berlin")


@ledger_app.command("setup")
def setup(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    chart: Annotated[Path | None, typer.Option(help='JSON {"role": ["number", "name"]} overriding the default')] = None,
) -> None:
    """Create the GL accounts for Strom and Gas (the default chart, or the tenant's numbers)."""
    import json

    from services.chart import ensure_chart

    overrides = None
    if chart is not None:
        try:
            overrides = {role: (str(v[0]), str(v[1])) for role, v in json.loads(chart.read_text()).items()}
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise typer.BadParameter(f"{chart}: {error}", param_hint="--chart") from error
    with Session(get_engine()) as session:
        for division in ("strom", "gas"):
            try:
                accounts = ensure_chart(session, tenant, division, overrides)
            except ValueError as error:
                raise typer.BadParameter(str(error), param_hint="--chart") from error
            typer.echo(f"{tenant}/{division}: {len(accounts)} GL accounts")
        session.commit()
