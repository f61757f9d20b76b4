"""One order driven through the supply-start process in a test: its world, its contract and the steps as shortcuts."""

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle

from core.settings import Settings
from models.contracts import Contract
from models.documents import Document
from models.messages import MarketMessage
from models.process import ProcessStatus, TaskDecision
from models.tasks import Task
from rules.calendar import earliest_supply_start
from services.inbox import ReceivedInterchange
from tests import market
from tests.factories import World
from tests.flow import deliver, eventually, open_task, start_order, today
from workflows.supply_start import SupplyStartWorkflow


@dataclass
class Case:
    engine: Engine
    client: Client
    settings: Settings
    world: World
    contract: Contract
    start: date

    @classmethod
    async def begin(
        cls, engine: Engine, client: Client, settings: Settings, *, division: str = "strom", start: date | None = None
    ) -> "Case":
        """A new tenant with its partners, and a switch order for it whose process has been started."""
        with Session(engine, expire_on_commit=False) as session:
            world = World(session)
        start = start or earliest_supply_start(today()) + timedelta(days=10)
        order = world.order(start, division=division)
        contract = await start_order(engine, client, settings.task_queue, world.tenant, order)
        return cls(engine, client, settings, world, contract, start)

    @property
    def wf(self) -> str:
        assert self.contract.workflow_id is not None
        return self.contract.workflow_id

    @property
    def contract_id(self) -> int:
        assert self.contract.id is not None
        return self.contract.id

    def handle(self) -> WorkflowHandle[SupplyStartWorkflow, ProcessStatus]:
        return self.client.get_workflow_handle_for(SupplyStartWorkflow.run, self.wf)

    async def status(self) -> ProcessStatus:
        return await self.handle().query(SupplyStartWorkflow.status)

    async def result(self) -> ProcessStatus:
        return await self.handle().result()

    async def deliver(self, raw: bytes) -> ReceivedInterchange:
        return await deliver(self.engine, self.client, self.settings.task_queue, self.world.tenant, raw)

    async def sent(self, pruefidentifikator: str, nth: int = 1) -> MarketMessage:
        """Wait until the ``nth`` message with this Prüfidentifikator has been sent and return it."""

        def check() -> list[MarketMessage]:
            rows = market.sent(self.engine, self.wf, pruefidentifikator)
            return rows if len(rows) >= nth else []

        return (await eventually(check, what=f"{pruefidentifikator} no. {nth}"))[nth - 1]

    async def task(self, kind: str) -> Task:
        """Wait for the open task of this kind, until the process waits for its decision too.

        The row is written by an activity; the process counts the task as open once it has seen the result.
        """
        task = await eventually(lambda: open_task(self.engine, self.wf, kind), what=f"open task {kind}")
        for _ in range(300):
            if task.id in (await self.status()).open_task_ids:
                return task
            await asyncio.sleep(0.1)
        raise AssertionError(f"process {self.wf} does not wait for task {task.id}")

    async def decide(
        self, task: Task | int, decision: str, data: dict[str, Any] | None = None, decided_by: str = "clerk.mueller"
    ) -> str:
        """Decide as the API does: an Update on the process the task belongs to."""
        task_id = task if isinstance(task, int) else task.id
        assert task_id is not None
        return await self.handle().execute_update(
            SupplyStartWorkflow.decide,
            TaskDecision(task_id=task_id, decision=decision, data=data or {}, decided_by=decided_by),
        )

    def outbound_counts(self) -> Counter[str]:
        """Outbound messages of the process per Prüfidentifikator."""
        return Counter(row.pruefidentifikator or "" for row in market.sent(self.engine, self.wf))

    def outbox_files(self) -> list[Path]:
        """Files the drop-folder transport wrote for this tenant."""
        return sorted((self.settings.outbox_path / self.world.tenant.id).rglob("*.edi"))

    def tasks(self) -> list[Task]:
        with Session(self.engine) as session:
            query = select(Task).where(Task.workflow_id == self.wf).order_by(col(Task.id))
            return list(session.exec(query).all())

    def documents(self) -> list[Document]:
        with Session(self.engine) as session:
            query = select(Document).where(Document.contract_id == self.contract_id).order_by(col(Document.id))
            return list(session.exec(query).all())


def task_row(engine: Engine, task: Task | int) -> Task:
    """The task as it is stored now."""
    with Session(engine) as session:
        row = session.get(Task, task if isinstance(task, int) else task.id)
        assert row is not None
        return row


def message_row(engine: Engine, message_id: int) -> MarketMessage:
    with Session(engine) as session:
        row = session.get(MarketMessage, message_id)
        assert row is not None
        return row


def pdf_text(document: Document) -> str:
    assert document.content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(document.content)).pages)
