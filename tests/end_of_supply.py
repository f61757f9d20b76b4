"""Test helpers for the end-of-supply processes: a supplied contract, its final reading as real MSCONS."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import Engine, text
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from edifact.envelope import Party, serialize_interchange
from edifact.mscons import MsconsLocation, MsconsMessage, MsconsPosition, MsconsValue, mscons_interchange
from edifact.utilmd import Division, UtilmdMessage, utilmd_interchange
from models.contracts import Contract, ContractState
from models.orders import ContractOrder
from models.process import ProcessStatus, TaskDecision
from models.readings import MeterReading
from models.tasks import Task
from rules.calendar import BERLIN, day_start
from services.intake import intake
from tests.factories import World
from tests.flow import deliver, eventually, open_task

T = TypeVar("T")


@dataclass
class Supplied:
    """A tenant's contract in supply since ``start``, with the reading at the start of supply."""

    engine: Engine
    client: Client
    settings: Settings
    world: World
    contract: Contract
    malo_id: str

    @classmethod
    def create(
        cls, engine: Engine, client: Client, settings: Settings, *, start: date, division: str = "strom"
    ) -> "Supplied":
        with Session(engine, expire_on_commit=False) as session:
            world = World(session)
            order = ContractOrder.model_validate(world.order(start, division=division, annual_consumption_kwh="3650"))
            contract, _ = intake(session, world.tenant, order, date(2020, 1, 1))
            contract.state, contract.supply_start = ContractState.ACTIVE, start
            session.add(contract)
            session.flush()
            malo = session.execute(
                text("SELECT malo_id FROM market_location WHERE id = :id"), {"id": contract.location_id}
            ).scalar_one()
            session.add(
                MeterReading(
                    tenant_id=world.tenant.id,
                    location_id=malo,
                    value=Decimal("1000"),
                    quality="220",
                    at=datetime(start.year, start.month, start.day, tzinfo=BERLIN),
                    source="mscons",
                )
            )
            session.commit()
        return cls(engine, client, settings, world, contract, malo)

    @property
    def contract_id(self) -> int:
        assert self.contract.id is not None
        return self.contract.id

    def set_supply_end(self, end: date) -> None:
        with Session(self.engine) as session:
            session.execute(
                text("UPDATE contract SET supply_end = :end WHERE id = :id"), {"end": end, "id": self.contract_id}
            )
            session.commit()

    async def send_final_reading(self, day: date, value: str) -> None:
        """The metering operator's MSCONS 13017 with the register reading at the start of ``day``."""
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        grid = self.world.grid_operator.id
        message = MsconsMessage(
            association="2.4c",
            pruefidentifikator="13017",
            message_reference=uuid.uuid4().hex[:14].upper(),
            category="7",
            document_number=f"MS{uuid.uuid4().hex[:12].upper()}",
            document_date=now,
            sender=grid,
            receiver=self.world.tenant.market_partner_id,
            locations=[
                MsconsLocation(
                    location_id=self.malo_id,
                    positions=[
                        MsconsPosition(
                            line="1",
                            obis="1-1:1.8.0",
                            values=[
                                MsconsValue(quantity=Decimal(value), quality="220", used_at=day_start(day, "strom"))
                            ],
                        )
                    ],
                )
            ],
        )
        raw = serialize_interchange(
            mscons_interchange(
                [message],
                sender=Party(id=grid, qualifier="500"),
                receiver=Party(id=self.world.tenant.market_partner_id, qualifier="500"),
                reference=uuid.uuid4().hex[:14].upper(),
                prepared_at=now,
            )
        )
        await deliver(self.engine, self.client, self.settings.task_queue, self.world.tenant, raw)


async def task_of(engine: Engine, client: Client, workflow_id: str, kind: str) -> Task:
    """The open task of this kind, once the process waits for its decision (its ``status`` query lists it)."""
    task = await eventually(lambda: open_task(engine, workflow_id, kind), what=f"open task {kind}")
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(300):
        status: ProcessStatus = await handle.query("status", result_type=ProcessStatus)
        if task.id in status.open_task_ids:
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"process {workflow_id} does not wait for task {task.id}")


async def decide(
    client: Client, workflow_id: str, task: Task, decision: str, data: dict[str, object] | None = None
) -> None:
    assert task.id is not None
    await client.get_workflow_handle(workflow_id).execute_update(
        "decide", TaskDecision(task_id=task.id, decision=decision, data=data or {}, decided_by="clerk.anna")
    )


def partner_request(
    supplied: "Supplied", pruefidentifikator: str, sender: str, *, end: date | None = None, reason: str = "E03"
) -> bytes:
    """A market partner's UTILMD request to the tenant about the contract's MaLo, built by our own builder."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    category = {"55016": "E35", "55007": "E02", "55010": "E02", "55037": "E02"}[pruefidentifikator]
    message = UtilmdMessage(
        division=Division.STROM,
        association="S2.1",
        pruefidentifikator=pruefidentifikator,
        message_reference=uuid.uuid4().hex[:14].upper(),
        category=category,
        document_number=uuid.uuid4().hex[:20].upper(),
        document_date=now,
        sender=sender,
        receiver=supplied.world.tenant.market_partner_id,
        transaction_id=uuid.uuid4().hex[:32].upper(),
        transaction_reason=reason,
        malo_id=supplied.malo_id,
        end=day_start(end, "strom") if end else None,
    )
    return serialize_interchange(
        utilmd_interchange(
            [message],
            sender=Party(id=sender, qualifier="500"),
            receiver=Party(id=supplied.world.tenant.market_partner_id, qualifier="500"),
            reference=uuid.uuid4().hex[:14].upper(),
            prepared_at=now,
        )
    )


async def finished(env: WorkflowEnvironment, workflow_id: str, result_type: type[T], days: int = 120) -> T:
    """The result of a workflow on the time-skipping server, skipping a day at a time until it has completed.

    (Awaiting ``result()`` while the test server skips weeks of timers can end without the close event.)"""
    handle = env.client.get_workflow_handle(workflow_id, result_type=result_type)
    for _ in range(100):  # a process started by an activity may not exist yet
        try:
            await handle.describe()
            break
        except RPCError:
            await asyncio.sleep(0.1)
    for _ in range(days):
        description = await handle.describe()
        if description.status is not None and description.status != WorkflowExecutionStatus.RUNNING:
            break
        await env.sleep(timedelta(days=1))
    result: T = await handle.result()
    return result
