"""``bpo rates``: tax rates as dated parameters (VAT, electricity/energy tax)."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from core.db import get_engine
from models.contracts import Division
from services.tax_rates import KINDS, rates, set_rate

rates_app = typer.Typer(help="Tax rates billing applies, by the day they take effect.", no_args_is_help=True)
console = Console()


@rates_app.command("set")
def set_command(
    kind: Annotated[str, typer.Option(help="vat (fraction, e.g. 0.19) or energy_tax (EUR per kWh, e.g. 0.0205)")],
    division: Annotated[Division, typer.Option()],
    valid_from: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    rate: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option(help="the legal basis")] = "",
) -> None:
    """A new rate from a day on; bills of periods across that day prorate the tax, with no other step."""
    if kind not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}", param_hint="--kind")
    try:
        day, value = date.fromisoformat(valid_from), Decimal(rate)
    except (ValueError, InvalidOperation) as error:
        raise typer.BadParameter(str(error)) from error
    with Session(get_engine()) as session:
        try:
            set_rate(session, kind, division.value, day, value, note, "cli")
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--rate") from error
        session.commit()
    console.print(f"{kind} {division.value} from {day}: {value}")


@rates_app.command("list")
def list_command(division: Annotated[Division, typer.Option()]) -> None:
    """The rates in force, oldest first."""
    table = Table("kind", "valid from", "rate")
    with Session(get_engine()) as session:
        for kind in KINDS:
            for day, value in rates(session, kind, division.value):
                table.add_row(kind, str(day), str(value))
    console.print(table)
