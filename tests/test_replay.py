"""Recorded histories replay on the current workflow code: a non-deterministic change fails here.

When a change to a running process is intended, guard it with ``workflow.patched`` so old histories still
replay. New histories are recorded with ``BPO_RECORD_HISTORIES=1 pytest tests/test_replay.py``.
"""

import json
import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from core.settings import Settings
from tests import market
from tests.cases import Case
from tests.contacts import send_for, task
from tests.end_of_supply import Supplied, decide, task_of
from tests.flow import eventually, today
from tests.grid import GridCase, invoice_row
from worker import WORKFLOWS, build_worker

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("BPO_RECORD_HISTORIES") == "1"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    recorded = json.loads(path.read_text(encoding="utf-8"))
    history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


async def _save(name: str, handle: WorkflowHandle) -> None:  # type: ignore[type-arg]
    history = await handle.fetch_history()
    payload = {"workflow_id": handle.id, "history": json.loads(history.to_json())}
    (HISTORIES / f"{name}.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


@pytest.mark.skipif(not RECORD, reason="records histories only with BPO_RECORD_HISTORIES=1")
async def test_record_histories(engine: Engine, client: Client, settings: Settings) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("55016")
        await case.deliver(market.answer(cancellation, "55017", answer_code="A09", answer_code_list="E_0614"))
        first = await case.sent("55001")
        await case.deliver(market.answer(first, "55003", answer_code="A06", answer_code_list="E_0622"))
        task = await case.task("registration_rejected")
        await case.decide(task, "correct_and_resend", {"start": (case.start + timedelta(days=1)).isoformat()})
        second = await case.sent("55001", 2)
        await case.deliver(
            market.answer(second, "55002", answer_code="A51", answer_code_list="E_0623", start=case.start)
        )
        await case.result()
        await _save("supply_start_rejection_corrected", case.handle())
        query = f"WorkflowType = 'InboundMessageWorkflow' AND BpoTenant = '{case.world.tenant.id}'"
        inbound = [w async for w in client.list_workflows(query)]
        await _save("inbound_message_routed", client.get_workflow_handle(inbound[0].id))


@pytest.mark.skipif(not RECORD, reason="records histories only with BPO_RECORD_HISTORIES=1")
async def test_record_customer_center_and_grid_invoice_histories(
    engine: Engine, client: Client, settings: Settings
) -> None:
    supplied = Supplied.create(engine, client, settings, start=date(2025, 1, 1))
    grid = GridCase.create(supplied)
    async with build_worker(client, engine, settings):
        contact = await send_for(
            supplied,
            channel="email",
            sender={"email": "x@example.org"},
            customer={"malo_id": supplied.malo_id},
            subject="Frage zum Tarif",
            text="Welcher Preis gilt ab Januar?",
        )
        review = await task(engine, client, contact, "review")
        await decide(client, contact.workflow_id or "", review, "to_first_level")
        first = await task(engine, client, contact, "first_level")
        await decide(client, contact.workflow_id or "", first, "answered", {"note": "Preisblatt gesendet"})
        await client.get_workflow_handle(contact.workflow_id or "").result()
        await _save("contact_handed_over_and_answered", client.get_workflow_handle(contact.workflow_id or ""))
        invoice = grid.invoice(date(2025, 1, 1), date(2025, 4, 1), Decimal("900"), received=today())  # no readings
        await grid.send(invoice)
        row = await eventually(lambda: invoice_row(engine, invoice.document_number), what="invoice stored")
        check = await task_of(engine, client, row.workflow_id or "", "grid_invoice_check")
        await decide(client, row.workflow_id or "", check, "reject", {"code": "A34", "text": "Werte fehlen"})
        await client.get_workflow_handle(row.workflow_id or "").result()
        await _save("grid_invoice_cleared_and_rejected", client.get_workflow_handle(row.workflow_id or ""))
