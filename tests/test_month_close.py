"""Month close on the real database: reconciled figures, exports, archive, and the month closed afterwards."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from core.settings import Settings
from models.documents import Document
from models.ledger import PostingDocument, PostingLine
from services.chart import book, ensure_chart, party_account
from services.ledger import allocate, last_day
from services.month_close import close_month
from tests.factories import World
from tests.test_ledger import Books

D = Decimal


def test_close_reconciles_exports_and_closes(engine: Engine) -> None:
    books = Books(engine)
    with Session(engine) as session:
        books.invoice(session, D("100.00"), date(2026, 3, 3))
        books.invoice(session, D("50.00"), date(2026, 3, 20))
        allocate(session, books.payment(session, D("130.00"), date(2026, 3, 25)), date(2026, 3, 25))
        books.invoice(session, D("10.00"), date(2026, 4, 2))  # after the key date: not in March
        result = close_month(session, books.tenant_id, "2026-03")
        session.commit()

        [strom] = result.divisions
        assert result.key_date == date(2026, 3, 31) and result.closed
        assert strom.debtor_open_items == strom.debtor_balance == D("48.50")
        assert strom.trial_balance == 0 and strom.accounts_with_open_items == 1

        files = {name: _content(session, doc_id) for name, doc_id in result.documents.items()}
        open_items = list(csv.DictReader(io.StringIO(files["open_items.csv"].decode()), delimiter=";"))
        assert [(r["account"], r["open_amount"], r["balance"]) for r in open_items] == [("10001", "48.50", "48.50")]
        daily = list(csv.DictReader(io.StringIO(files["gl_daily_balances.csv"].decode()), delimiter=";"))
        revenue = [r for r in daily if r["account"] == "8000"]
        assert len(revenue) == 31
        assert revenue[2]["day"] == "2026-03-03" and revenue[2]["balance"] == "-100.00"
        assert revenue[-1]["balance"] == "-150.00"
        bank = [r for r in daily if r["account"] == "1200"]
        assert bank[-1]["balance"] == "130.00"
        control = [r for r in daily if r["role"] == "debtor_control"]  # the debtor lines, rolled up
        assert control[2]["balance"] == "119.00" and control[-1]["balance"] == "48.50"

        workbook = load_workbook(io.BytesIO(files["month_close.xlsx"]), read_only=True)
        assert workbook.sheetnames == ["Summary", "Open items", "GL daily balances", "Energy tax"]
        summary = list(workbook["Summary"].iter_rows(values_only=True))
        assert summary[1][:4] == ("2026-03", "strom", 48.5, 48.5)

        late = books.invoice(session, D("5.00"), date(2026, 3, 30))
        session.commit()
        stored = session.get(PostingDocument, late)
        assert stored is not None and stored.period == "2026-04"

        again = close_month(session, books.tenant_id, "2026-03")
        assert again.documents == result.documents and again.divisions == result.divisions
        april = close_month(session, books.tenant_id, "2026-04")
        assert april.divisions[0].debtor_balance == D("48.50") + D("11.90") + D("5.95")


def _content(session: Session, document_id: int) -> bytes:
    document = session.get(Document, document_id)
    assert document is not None
    return document.content


def test_last_day_of_month() -> None:
    assert last_day("2028-02") == date(2028, 2, 29) and last_day("2026-12") == date(2026, 12, 31)


def test_close_month_command(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from core.db import get_engine
    from core.settings import get_settings

    books = Books(engine)
    with Session(engine) as session:
        books.invoice(session, D("20.00"), date(2026, 5, 5))
        session.commit()
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["ledger", "close-month", "2026-05", "--tenant", books.tenant_id, "--out", str(tmp_path)]
        )
        bad = CliRunner().invoke(app, ["ledger", "close-month", "2026-13", "--tenant", books.tenant_id])
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert result.exit_code == 0, result.output
    assert "23.80" in result.output
    assert sorted(p.name.split("-2026-05-")[1] for p in tmp_path.iterdir()) == [
        "energy_tax.csv",
        "gl_daily_balances.csv",
        "month_close.xlsx",
        "open_items.csv",
    ]
    assert bad.exit_code == 2


async def test_month_close_process_and_its_schedule(engine: Engine, client: Client, settings: Settings) -> None:
    from models.process import MonthCloseInput
    from services.schedules import schedule_month_close
    from worker import build_worker
    from workflows.month_close import MonthCloseWorkflow

    books = Books(engine)
    with Session(engine) as session:
        books.invoice(session, D("40.00"), date(2026, 6, 10))
        session.commit()
    async with build_worker(client, engine, settings):
        result = await client.execute_workflow(
            MonthCloseWorkflow.run,
            MonthCloseInput(tenant_id=books.tenant_id, period="2026-06"),
            id=f"month-close/{books.tenant_id}/2026-06",
            task_queue=settings.task_queue,
        )
    assert result.period == "2026-06" and result.divisions[0].debtor_balance == D("47.60") and result.closed

    schedule_id = await schedule_month_close(client, settings.task_queue, books.tenant_id)
    assert await schedule_month_close(client, settings.task_queue, books.tenant_id) == schedule_id
    description = await client.get_schedule_handle(schedule_id).describe()
    assert description.schedule.spec.time_zone_name == "Europe/Berlin"
    assert description.schedule.policy.overlap.name == "SKIP"
    await client.get_schedule_handle(schedule_id).delete()
    with pytest.raises(ValueError, match="02:00"):
        await schedule_month_close(client, settings.task_queue, books.tenant_id, hour=2)


def test_creditor_items_reconcile_with_the_creditor_control_account(engine: Engine) -> None:
    with Session(engine) as session:
        world = World(session)
        tenant = world.tenant.id
        ensure_chart(session, tenant, "gas")
        grid = party_account(session, tenant, "gas", "creditor", world.gas_grid_operator.id, "Gasnetz")
        for key, net in (("invoic:1", "1000.00"), ("invoic:2", "200.00")):
            book(
                session,
                tenant_id=tenant,
                division="gas",
                doc_type="grid_invoice",
                key=key,
                posting_date=date(2026, 6, 5),
                amounts={"net": D(net), "vat": D(net) * D("0.19")},
                party_account_id=grid,
                due_date=date(2026, 6, 19),
            )
        paid = book(
            session,
            tenant_id=tenant,
            division="gas",
            doc_type="creditor_payment",
            key="pay:1",
            posting_date=date(2026, 6, 19),
            amounts={"amount": D("1190.00")},
            party_account_id=grid,
        )
        [debit] = session.exec(
            select(PostingLine.id).where(PostingLine.document_id == paid, PostingLine.account_id == grid)
        ).all()
        assert debit is not None
        assert allocate(session, debit, date(2026, 6, 19)) == 0
        [gas] = close_month(session, tenant, "2026-06").divisions
        assert gas.creditor_open_items == gas.creditor_balance == D("-238.00")
        assert gas.trial_balance == 0
