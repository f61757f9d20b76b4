"""Benchmark: grid operators' invoices from one interchange through the inbound pipeline, the check and the answer.

Creates a tenant with ``--invoices`` supplied MaLos (readings at both ends of the period, the grid operator's price
sheet), sends one interchange with an INVOIC per MaLo through the inbound pipeline (stored, parsed, acknowledged,
each invoice stored), then runs the process's steps per invoice as the workflow does: the check along the tree
and the decision (booking on the creditor account, REMADV 33001 stored and sent). Reports invoices per second of
each part and the peak memory.

    .venv/bin/python -m bench.grid_invoices --invoices 2000
"""

import argparse
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import text
from sqlmodel import Session, select

import models.tables  # noqa: F401  (registers every table)
from activities.grid_invoices import GridInvoiceActivities
from activities.inbox import InboxActivities
from activities.market import DropFolderTransport
from bench.harness import create_database, drop_database, peak_rss_mb
from core.db import make_engine
from edifact.envelope import Party, serialize_interchange
from edifact.invoic import invoic_interchange
from models.contracts import ContractState
from models.grid_invoices import GridInvoice
from models.orders import ContractOrder
from models.process import GridInvoiceCase, InboundInput, InvoiceDecision
from models.readings import MeterReading
from rules.calendar import BERLIN
from services.grid_invoices import import_price_sheet
from services.inbox import receive_interchange
from services.intake import intake
from tests.factories import World
from tests.grid import BASE, BASE_PER_DAY, WORK, WORK_PER_KWH, build_invoice

START, END, KWH = date(2025, 1, 1), date(2025, 4, 1), Decimal("900")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=2000, help="invoices, one per MaLo (default 2,000)")
    args = parser.parse_args()
    url = create_database("bpo_bench_invoices")
    engine = make_engine(url, pool_size=4)
    try:
        with Session(engine, expire_on_commit=False) as session:
            world = World(session)
            grid, us = world.grid_operator.id, world.tenant.market_partner_id
            malos = []
            for _ in range(args.invoices):
                order = ContractOrder.model_validate(world.order(START))
                contract, _ = intake(session, world.tenant, order, date(2024, 11, 1))
                contract.state, contract.supply_start = ContractState.ACTIVE, START
                malo = order.location.malo_id
                malos.append(malo)
                for day, value in ((START, 1000), (END, 1000 + KWH)):
                    session.add(
                        MeterReading(
                            tenant_id=world.tenant.id,
                            location_id=malo,
                            value=Decimal(value),
                            quality="220",
                            at=datetime(day.year, day.month, day.day, tzinfo=BERLIN),
                        )
                    )
            import_price_sheet(
                session,
                world.tenant.id,
                grid,
                f"{BASE};2020-01-01;{BASE_PER_DAY};DAY\n{WORK};2020-01-01;{WORK_PER_KWH}\n",
            )
            session.execute(
                text("UPDATE market_partner SET iban = 'DE89370400440532013000' WHERE id = :p"), {"p": grid}
            )
            session.commit()
        received = datetime.now(BERLIN).date()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        raw = serialize_interchange(
            invoic_interchange(
                [build_invoice(grid, us, malo, START, END, KWH, received=received) for malo in malos],
                sender=Party(id=grid, qualifier="500"),
                receiver=Party(id=us, qualifier="500"),
                reference=uuid.uuid4().hex[:14].upper(),
                prepared_at=now,
            )
        )
        with TemporaryDirectory() as outbox:
            transport = DropFolderTransport(Path(outbox))
            baseline = peak_rss_mb()
            started = time.perf_counter()
            with Session(engine) as session:
                stored = receive_interchange(session, world.tenant, raw)
            InboxActivities(engine, transport).process_inbound(
                InboundInput(tenant_id=world.tenant.id, message_id=stored.message_id)
            )
            inbound = time.perf_counter() - started
            with Session(engine) as session:
                ids = list(session.exec(select(GridInvoice.id).where(GridInvoice.message_id == stored.message_id)))
            steps = GridInvoiceActivities(engine, transport)
            started = time.perf_counter()
            answers: dict[str, int] = {}
            for invoice_id in ids:
                assert invoice_id is not None
                check = steps.check_invoice(GridInvoiceCase(tenant_id=world.tenant.id, invoice_id=invoice_id))
                answer = steps.decide_invoice(InvoiceDecision(check=check))
                answers[answer] = answers.get(answer, 0) + 1
            decided = time.perf_counter() - started
        print(f"interchange: {len(raw) / 1e6:.1f} MB, {len(ids)} invoices stored")
        print(f"inbound (store, parse, APERAK, invoices stored): {inbound:.1f} s = {len(ids) / inbound:.0f} invoices/s")
        print(f"check and answer (tree, booking, REMADV): {decided:.1f} s = {len(ids) / decided:.0f} invoices/s")
        print(f"answers: {answers}; peak RSS {peak_rss_mb():.0f} MB (before {baseline:.0f} MB)")
    finally:
        engine.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
