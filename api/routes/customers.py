"""A customer's file: one timeline of contacts, letters, messages, bills, payments and process steps."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep
from api.errors import not_found
from core.logging import get_logger
from models.customers import Customer
from models.tenancy import Role
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
    customer = session.exec(
        select(Customer).where(Customer.tenant_id == principal.tenant_id, Customer.customer_number == customer_number)
    ).first()
    if customer is None or customer.id is None:
        raise not_found(f"customer {customer_number}")
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
