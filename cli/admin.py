"""Master data an operator sets up by hand: tenants, keys, market partners, tariffs."""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich import print as rprint
from sqlmodel import Session, select

from api.auth import issue_key
from core.db import get_engine
from models.contracts import Division
from models.parties import MarketPartner, PartnerCommunication, PartnerRole
from models.tenancy import Role, Tenant
from rules.ids import InvalidIdentifier, validate_iban, validate_market_partner_id
from services.master_data import save_tariff_price
from services.partners import (
    CHANNELS,
    FRAMEWORK_KINDS,
    DirectoryError,
    archive_framework_contract,
    import_directory,
)

tenant_app = typer.Typer(help="Tenants (the client suppliers).", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
partner_app = typer.Typer(help="Market partners (grid operators, other suppliers).", no_args_is_help=True)
tariff_app = typer.Typer(help="Tariffs and their dated prices.", no_args_is_help=True)


def _partner_id(value: str) -> str:
    try:
        return validate_market_partner_id(value)
    except InvalidIdentifier as error:
        raise typer.BadParameter(str(error)) from error


@tenant_app.command("add")
def tenant_add(
    tenant_id: Annotated[str, typer.Argument(help="short slug, e.g. stadtwerke-nord")],
    name: Annotated[str, typer.Option(help="company name")],
    mp_id: Annotated[str, typer.Option(help="BDEW code number (Strom)", callback=_partner_id)],
    gas_mp_id: Annotated[str | None, typer.Option(help="DVGW code number (Gas)")] = None,
    street: str = "",
    postcode: str = "",
    city: str = "",
    phone: str = "",
    email: str = "",
) -> None:
    """Add a tenant (or update its data)."""
    gas = _partner_id(gas_mp_id) if gas_mp_id else None
    with Session(get_engine()) as session:
        tenant = session.get(Tenant, tenant_id) or Tenant(id=tenant_id, name=name, market_partner_id=mp_id)
        for field, value in dict(
            name=name,
            market_partner_id=mp_id,
            gas_market_partner_id=gas,
            street=street,
            postcode=postcode,
            city=city,
            phone=phone,
            email=email,
        ).items():
            setattr(tenant, field, value)
        session.add(tenant)
        session.commit()
    rprint(f"tenant [bold]{tenant_id}[/bold] saved")


@tenant_app.command("list")
def tenant_list() -> None:
    with Session(get_engine()) as session:
        for tenant in session.exec(select(Tenant).order_by(Tenant.id)).all():
            rprint(f"{tenant.id}\t{tenant.name}\t{tenant.market_partner_id}\t{tenant.gas_market_partner_id or '-'}")


@key_app.command("add")
def key_add(
    tenant: Annotated[str, typer.Option(help="tenant id")],
    role: Annotated[Role, typer.Option(help="what the key may do")],
    label: Annotated[str, typer.Option(help="who holds the key")] = "",
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    with Session(get_engine()) as session:
        if session.get(Tenant, tenant) is None:
            raise typer.BadParameter(f"tenant {tenant} does not exist", param_hint="--tenant")
        key = issue_key(session, tenant, role, label)
    rprint(f"API key for [bold]{tenant}[/bold] as {role.value} (shown once):")
    print(key)


@partner_app.command("add")
def partner_add(
    partner_id: Annotated[str, typer.Argument(help="13-digit code number", callback=_partner_id)],
    name: Annotated[str, typer.Option()],
    role: Annotated[PartnerRole, typer.Option()],
    division: Annotated[Division | None, typer.Option()] = None,
    iban: Annotated[str | None, typer.Option(help="where its invoices are paid to")] = None,
    bic: Annotated[str | None, typer.Option()] = None,
    channel: Annotated[str | None, typer.Option(help="as4, email or drop: how our messages reach it")] = None,
    address: Annotated[str | None, typer.Option(help="the AS4 endpoint, e-mail address or folder")] = None,
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD the communication data holds from (today)")] = None,
) -> None:
    """Add a market partner to the directory (or update it), with its communication data from a day on."""
    if (channel is None) != (address is None) or (channel is not None and channel not in CHANNELS):
        raise typer.BadParameter(
            f"give --channel ({', '.join(CHANNELS)}) and --address together", param_hint="--channel"
        )
    if iban is not None:
        try:
            iban = validate_iban(iban)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--iban") from error
    with Session(get_engine()) as session:
        partner = session.get(MarketPartner, partner_id) or MarketPartner(id=partner_id, name=name, role=role)
        partner.name, partner.role = name, role
        partner.division = division.value if division else None
        partner.iban = iban if iban is not None else partner.iban
        partner.bic = bic if bic is not None else partner.bic
        session.add(partner)
        session.flush()
        if channel is not None and address is not None:
            day = date.fromisoformat(valid_from) if valid_from else date.today()
            existing = session.exec(
                select(PartnerCommunication).where(
                    PartnerCommunication.partner_id == partner_id, PartnerCommunication.valid_from == day
                )
            ).first() or PartnerCommunication(partner_id=partner_id, valid_from=day, channel=channel, address=address)
            existing.channel, existing.address = channel, address
            session.add(existing)
        session.add(partner)
        session.commit()
    rprint(f"partner [bold]{partner_id}[/bold] saved")


@partner_app.command("import")
def partner_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with partner_id;name;role;...")],
) -> None:
    """Bulk update of the directory: partners, and communication data from their ``valid_from`` on (all lines or
    none; a broken line is named)."""
    with Session(get_engine()) as session:
        try:
            result = import_directory(session, file.read_text(encoding="utf-8-sig"))
        except (DirectoryError, UnicodeError) as error:
            typer.echo(f"{file.name}: {error}", err=True)
            raise typer.Exit(1) from error
        session.commit()
    rprint(f"{result.partners} partners, {result.communications} communication entries imported")


@partner_app.command("contract")
def partner_contract(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the signed contract (PDF)")],
    tenant: Annotated[str, typer.Option()],
    partner: Annotated[str, typer.Option(help="the partner's code number")],
    valid_from: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    kind: Annotated[str, typer.Option(help=", ".join(FRAMEWORK_KINDS))] = "grid_usage",
    valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD, the first day it no longer holds")] = None,
) -> None:
    """Archive a framework contract with a partner (e.g. the grid-usage framework contract) with its dates."""
    try:
        start = date.fromisoformat(valid_from)
        end = date.fromisoformat(valid_until) if valid_until else None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    media = "application/pdf" if file.suffix.lower() == ".pdf" else "application/octet-stream"
    with Session(get_engine()) as session:
        try:
            archive_framework_contract(session, tenant, partner, kind, start, end, file.read_bytes(), media)
        except DirectoryError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from error
        session.commit()
    rprint(f"{kind} contract with {partner} from {start} archived")


@tariff_app.command("add")
def tariff_add(
    tenant: Annotated[str, typer.Option()],
    code: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    division: Annotated[Division, typer.Option()],
    working_price: Annotated[str, typer.Option(help="EUR per kWh, net, e.g. 0.3245")],
    base_price: Annotated[str, typer.Option(help="EUR per year, net, e.g. 120.00")],
    valid_from: Annotated[str, typer.Option(help="YYYY-MM-DD")],
) -> None:
    """Add a tariff, or a new price version of an existing one."""
    with Session(get_engine()) as session:
        save_tariff_price(
            session,
            tenant,
            code,
            name,
            division,
            date.fromisoformat(valid_from),
            Decimal(working_price),
            Decimal(base_price),
        )
        session.commit()
    rprint(f"tariff [bold]{code}[/bold]: price from {valid_from} saved")
