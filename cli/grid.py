"""``bpo grid``: grid operators' price sheets and invoices."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from core.db import get_engine
from models.grid_invoices import GridInvoice
from services.grid_invoices import PriceSheetError, import_price_sheet

grid_app = typer.Typer(help="Grid operators: price sheets and invoices.", no_args_is_help=True)
console = Console()


@grid_app.command("prices")
def prices_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: article_id;valid_from;unit_price")],
    tenant: Annotated[str, typer.Option(help="tenant id")],
    partner: Annotated[str, typer.Option(help="the grid operator's code number")],
) -> None:
    """Import a price sheet (Preisblatt); the invoice check compares every price with it. All lines or none."""
    with Session(get_engine()) as session:
        try:
            count = import_price_sheet(session, tenant, partner, file.read_text(encoding="utf-8-sig"))
        except (PriceSheetError, UnicodeError) as error:
            typer.echo(f"{file.name}: {error}", err=True)
            raise typer.Exit(1) from error
        session.commit()
    console.print(f"{count} prices of {partner} imported")


@grid_app.command("invoices")
def invoices_command(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    state: Annotated[str | None, typer.Option(help="received, clearing, accepted, rejected, paid, cancelled")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """The newest invoices with their check result, answer and payment."""
    with Session(get_engine()) as session:
        query = select(GridInvoice).where(GridInvoice.tenant_id == tenant)
        if state:
            query = query.where(GridInvoice.state == state)
        rows = session.exec(query.order_by(col(GridInvoice.id).desc()).limit(limit)).all()
    table = Table("number", "from", "PID", "MaLo", "period", "total", "due", "state", "answer", "reason")
    for row in rows:
        table.add_row(
            row.invoice_number,
            row.partner_id,
            row.pruefidentifikator,
            row.malo_id or "",
            f"{row.period_start or ''} – {row.period_end or ''}",
            str(row.total or ""),
            str(row.due_date or ""),
            row.state,
            row.answer_pid,
            f"{row.rejection_code} {row.rejection_text}".strip()[:60],
        )
    console.print(table)
