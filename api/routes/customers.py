"""A customer's file: master data with its history, changes, and one timeline of everything that happened."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, status
from pydantic import BaseModel
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import field_error, not_found
from core.logging import get_logger
from models.base import utcnow
from models.contracts import Contract
from models.customers import Customer
from models.tenancy import Role
from rules.calendar import BERLIN
from services import customer_data
from services.customer_data import CustomerChange
from services.customer_data_processes import start_version
from services.history import Event, customer_history

router = APIRouter(prefix="/v1/customers", tags=["customer center"])
Anyone = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]
log = get_logger()


class HistoryEntry(BaseModel):
    at: datetime
    kind: str
    title: str
    reference: str
    details: dict[str, Any]


class History(BaseModel):
    customer_number: str
    name: str
    address_unreliable_since: datetime | None
    processes_listed: bool
    """False when the process engine could not be asked (the entries from the database are complete)."""
    entries: list[HistoryEntry]


class VersionView(BaseModel):
    valid_from: date
    changed_fields: list[str]
    data: dict[str, Any]
    changed_by: str
    source: str
    applied_at: datetime | None
    market_state: str
    created_at: datetime


class ContractSummary(BaseModel):
    contract_number: str
    division: str
    state: str
    supply_start: date | None
    supply_end: date | None


class CustomerView(BaseModel):
    customer_number: str
    first_name: str
    last_name: str
    company: str
    street: str
    house_number: str
    postcode: str
    city: str
    email: str
    phone: str
    billing_channel: str
    address_unreliable_since: datetime | None
    contracts: list[ContractSummary]
    versions: list[VersionView]
    """Every change, oldest first, with the day it takes effect; later ones are not in the fields above yet."""


def _customer(session: SessionDep, principal: Principal, customer_number: str) -> Customer:
    customer = session.exec(
        select(Customer).where(Customer.tenant_id == principal.tenant_id, Customer.customer_number == customer_number)
    ).first()
    if customer is None or customer.id is None:
        raise not_found(f"customer {customer_number}")
    return customer


def _view(session: SessionDep, customer: Customer) -> CustomerView:
    assert customer.id is not None
    contracts = session.exec(select(Contract).where(Contract.customer_id == customer.id).order_by(col(Contract.id)))
    return CustomerView(
        **customer.model_dump(include=set(CustomerView.model_fields) - {"contracts", "versions"}),
        contracts=[ContractSummary.model_validate(c, from_attributes=True) for c in contracts],
        versions=[VersionView(**v) for v in customer_data.history(session, customer.id)],
    )


@router.get("/{customer_number}", response_model=CustomerView)
def get_customer(customer_number: str, principal: Anyone, session: SessionDep) -> CustomerView:
    return _view(session, _customer(session, principal, customer_number))


@router.patch("/{customer_number}", response_model=CustomerView)
async def change_customer(
    customer_number: str,
    change: CustomerChange,
    principal: Anyone,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=120)] = None,
) -> CustomerView:
    """Change name, address or contact data, effective today or from ``valid_from``; every change is kept with
    who made it. A new name or address is passed on to the grid operators (UTILMD 55109). The same
    ``Idempotency-Key`` again changes nothing more."""
    customer = _customer(session, principal, customer_number)
    today = utcnow().astimezone(BERLIN).date()
    if change.valid_from is not None and change.valid_from < today:
        raise field_error(("valid_from",), "a change cannot take effect in the past")
    version = customer_data.record_change(
        session,
        customer,
        change,
        key=f"api:{idempotency_key}" if idempotency_key else f"api:{uuid.uuid4()}",
        changed_by=principal.name,
        source="api",
        today=today,
        outbox=settings.customer_outbox_path,
    )
    session.commit()
    if version is not None:
        try:
            await start_version(client, settings.task_queue, session, version)
        except RPCError as error:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the change is recorded, but the grid operators could not be told yet ({error.message}); "
                "send it again with the same Idempotency-Key",
            ) from error
    session.refresh(customer)
    return _view(session, customer)


@router.get("/{customer_number}/history", response_model=History)
async def history(
    customer_number: str,
    principal: Anyone,
    session: SessionDep,
    client: ClientDep,
    kind: Annotated[list[str] | None, Query(description="only these kinds (contact, letter, bill, ...)")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> History:
    """Newest first: contacts, letters, market messages, bills, bookings, clerk tasks and the processes."""
    customer = _customer(session, principal, customer_number)
    assert customer.id is not None
    events = customer_history(session, customer.id, limit)
    processes = await _processes(client, principal.tenant_id, customer_number, limit)
    entries = sorted([*events, *(processes or [])], key=lambda e: e.at, reverse=True)
    if kind:
        entries = [e for e in entries if e.kind in kind]
    return History(
        customer_number=customer.customer_number,
        name=customer.display_name,
        address_unreliable_since=customer.address_unreliable_since,
        processes_listed=processes is not None,
        entries=[HistoryEntry(**vars(e)) for e in entries[:limit]],
    )


async def _processes(client: Client, tenant_id: str, customer_number: str, limit: int) -> list[Event] | None:
    """The customer's processes from Temporal's visibility (search attribute BpoCustomerNumber)."""
    quoted = customer_number.replace("\\", "\\\\").replace('"', '\\"')
    events: list[Event] = []
    try:
        async for execution in client.list_workflows(f'BpoCustomerNumber = "{quoted}"', limit=limit):
            if execution.id.split("/")[1:2] != [tenant_id]:  # ids are "process/{tenant}/..."
                continue
            details = {"workflow_id": execution.id, "status": execution.status.name if execution.status else None}
            events.append(
                Event(execution.start_time, "process", f"{execution.workflow_type} started", execution.id, details)
            )
            if execution.close_time is not None:
                events.append(
                    Event(execution.close_time, "process", f"{execution.workflow_type} ended", execution.id, details)
                )
    except RPCError as error:
        log.warning("process list unavailable", error=str(error))
        return None
    return events
