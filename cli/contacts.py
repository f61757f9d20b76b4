"""``bpo contacts import``: the e-mail drop (RFC 822 files) becomes contacts on the customers' files."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from core.db import get_engine
from core.settings import get_settings
from models.contacts import Contact
from models.tenancy import Tenant
from services import contacts

contacts_app = typer.Typer(help="Customer contacts: the e-mail drop.", no_args_is_help=True)
console = Console()


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found += (
            sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".eml") if path.is_dir() else [path]
        )
    return found


@contacts_app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="e-mail files (.eml) or folders of them")],
    tenant: Annotated[str, typer.Option(help="tenant id")],
    rejected: Annotated[
        Path | None, typer.Option(help="folder for files that are no readable e-mail; default var/contacts-rejected")
    ] = None,
) -> None:
    """Store each e-mail once (by its Message-ID), recognise the customer and start its contact process.

    A file that is no readable e-mail is moved to the rejected folder with a note why, and the command ends with
    exit code 1."""
    settings = get_settings()
    rejected_dir = rejected or settings.var_dir / "contacts-rejected"
    files = _files(paths)
    table = Table("file", "contact", "customer", "category", "complaint")
    problems = 0
    with Session(get_engine(), expire_on_commit=False) as session:
        if session.get(Tenant, tenant) is None:
            typer.echo(f"tenant {tenant} does not exist", err=True)
            raise typer.Exit(1)
        stored: list[Contact] = []
        for file in files:
            try:
                contact, created = contacts.record(session, tenant, contacts.from_email(file.read_bytes()))
            except (contacts.NotAnEmail, ValidationError, UnicodeError) as error:
                problems += 1
                _reject(file, rejected_dir, str(error))
                table.add_row(file.name, "[red]rejected[/red]", "", "", str(error)[:60])
                continue
            stored.append(contact)
            customer = contact.identified_by or "[yellow]unknown[/yellow]"
            note = "" if created else " (again)"
            table.add_row(file.name, f"{contact.id}{note}", customer, contact.category, contact.complaint)
        asyncio.run(_start(session, stored))
    console.print(table)
    console.print(f"{len(files) - problems} e-mails taken, {problems} rejected")
    if problems:
        raise typer.Exit(1)


def _reject(file: Path, folder: Path, reason: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file.name
    file.replace(target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")


async def _start(session: Session, stored: list[Contact]) -> None:
    if not stored:
        return
    from core.temporal import connect
    from services.contact_processes import start_contact

    settings = get_settings()
    client = await connect(settings)
    for contact in stored:
        await start_contact(client, settings.task_queue, session, contact)
