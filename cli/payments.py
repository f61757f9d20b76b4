"""``bpo payments``: import bank statements, make the direct-debit run."""

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from core.db import get_engine
from core.settings import get_settings
from models.documents import Document
from services.bank_statements import StatementError
from services.bank_transactions import ImportResult, import_statement
from services.payment_processes import start_bank_details, start_unassigned
from services.payment_runs import collect

payments_app = typer.Typer(help="Payments: bank statements and direct debits.", no_args_is_help=True)
console = Console()


@payments_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="camt.053 or camt.054 file")],
    tenant: Annotated[str, typer.Option(help="tenant id")],
) -> None:
    """Book a bank statement; payments no debtor could be found for go to a clerk (queue ``payments``)."""
    with Session(get_engine()) as session:
        try:
            result = import_statement(session, tenant, file.read_bytes(), file.name)
        except StatementError as error:
            session.commit()  # the broken file is kept
            typer.echo(f"{file.name} is not a readable statement: {error}", err=True)
            raise typer.Exit(1) from error
        session.commit()
        processes = asyncio.run(_start(session, result))
    note = " (already imported: nothing booked again)" if result.duplicate else ""
    console.print(
        f"{file.name}: {result.transactions} transactions{note}; matched {result.matched}, collected "
        f"{result.collected}, returned {result.returned}, to a clerk {len(result.unassigned)}"
    )
    for workflow_id in processes:
        console.print(f"  clearing: {workflow_id}")


async def _start(session: Session, result: ImportResult) -> list[str]:
    if not result.unassigned and not result.mandates_stopped:
        return []
    from core.temporal import connect

    settings = get_settings()
    client = await connect(settings)
    started = await start_unassigned(client, settings.task_queue, session, result.unassigned)
    return started + await start_bank_details(client, settings.task_queue, session, result.mandates_stopped)


@payments_app.command("run")
def run_command(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    on: Annotated[str, typer.Option("--date", help="collection date YYYY-MM-DD")],
    out: Annotated[Path | None, typer.Option(help="write the pain.008 file into this folder")] = None,
) -> None:
    """Collect everything due by the date from customers with a mandate (once per tenant and date)."""
    try:
        collection_date = date.fromisoformat(on)
    except ValueError as error:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--date") from error
    with Session(get_engine()) as session:
        try:
            result = collect(session, tenant, collection_date, f"{collection_date}")
        except ValueError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from error
        session.commit()
        console.print(f"run {result.run_id}: {result.debits} direct debits, {result.total} EUR")
        if out is not None and result.document_id is not None:
            document = session.get(Document, result.document_id)
            assert document is not None
            out.mkdir(parents=True, exist_ok=True)
            target = out / f"{tenant}-{collection_date}-pain.008.xml"
            target.write_bytes(document.content)
            console.print(f"written to {target}")
