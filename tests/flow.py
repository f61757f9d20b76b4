"""Driving processes in tests exactly as the API does: intake, start, deliver inbound interchanges."""

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from models.base import utcnow
from models.contracts import Contract
from models.orders import ContractOrder
from models.tasks import Task, TaskState
from models.tenancy import Tenant
from rules.calendar import BERLIN
from services.inbox import ReceivedInterchange, receive_interchange, start_processing
from services.intake import intake
from services.supply import start_supply


def today() -> date:
    return utcnow().astimezone(BERLIN).date()


async def start_order(
    engine: Engine, client: Client, task_queue: str, tenant: Tenant, order: dict[str, Any]
) -> Contract:
    with Session(engine, expire_on_commit=False) as session:
        contract, _ = intake(session, tenant, ContractOrder.model_validate(order), today())
        session.commit()
    await start_supply(client, task_queue, contract)
    return contract


async def deliver(engine: Engine, client: Client, task_queue: str, tenant: Tenant, raw: bytes) -> ReceivedInterchange:
    with Session(engine) as session:
        received = receive_interchange(session, tenant, raw)
    if received.state != "duplicate":
        await start_processing(client, task_queue, tenant.id, received.message_id)
    return received


async def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until ``check`` returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def open_task(engine: Engine, workflow_id: str, kind: str | None = None) -> Task | None:
    with Session(engine) as session:
        query = select(Task).where(Task.workflow_id == workflow_id, Task.state == TaskState.OPEN)
        if kind:
            query = query.where(Task.kind == kind)
        return session.exec(query).first()


def contract_row(engine: Engine, contract_id: int) -> Contract:
    with Session(engine) as session:
        row = session.get(Contract, contract_id)
        assert row is not None
        return row
