"""Bills over HTTP: list and read, the PDF, and a correction that cancels and rebills through its process."""

import io
from datetime import date

from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from core.settings import Settings
from models.billing import Bill, BillKind, BillState
from models.tenancy import Role
from services.billing import bill_contracts
from tests.test_api import Api
from tests.test_billing import Portfolio
from worker import build_worker
from workflows.bill_correction import BillCorrectionWorkflow

pytest_plugins = ["tests.test_api"]


async def test_bill_read_pdf_and_correction(api: Api, engine: Engine, client: Client, settings: Settings) -> None:
    with Session(engine, expire_on_commit=False) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "1000")
        books.reading(contract, date(2026, 1, 1), "4000")  # misread: the customer's meter shows 4650
        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        session.commit()
        bill = session.get(Bill, result.bill_id)
        assert bill is not None and bill.number is not None
    clerk, reader = api.key(books.tenant, Role.CLERK), api.key(books.tenant, Role.CLIENT)

    listed = await api.http.get("/v1/bills", params={"contract_number": contract.contract_number}, headers=reader)
    assert listed.status_code == 200 and [b["number"] for b in listed.json()] == [bill.number]
    one = (await api.http.get(f"/v1/bills/{bill.number}", headers=reader)).json()
    assert one["gross"] == str(bill.gross) and one["consumption_kwh"] == "3000.000"
    pdf = await api.http.get(f"/v1/bills/{bill.number}/pdf", headers=reader)
    assert pdf.headers["content-type"] == "application/pdf"
    assert bill.number in "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert (await api.http.get("/v1/bills/2026-9999999", headers=reader)).status_code == 404

    assert (
        await api.http.post(f"/v1/bills/{bill.number}/correction", json={"reason": "x"}, headers=clerk)
    ).status_code == 422
    forbidden = await api.http.post(
        f"/v1/bills/{bill.number}/correction", json={"reason": "Ablesefehler"}, headers=reader
    )
    assert forbidden.status_code == 403
    with Session(engine) as session:
        books.session = session
        books.reading(contract, date(2026, 1, 1), "4650")
        session.commit()
    async with build_worker(client, engine, settings):
        accepted = await api.http.post(
            f"/v1/bills/{bill.number}/correction", json={"reason": "Ablesefehler"}, headers=clerk
        )
        assert accepted.status_code == 202
        outcome = await client.get_workflow_handle_for(
            BillCorrectionWorkflow.run, accepted.json()["workflow_id"]
        ).result()
    assert outcome.new_state == "booked"
    with Session(engine) as session:
        old = session.get(Bill, bill.id)
        new = session.get(Bill, outcome.new_bill_id)
        cancellation = session.exec(select(Bill).where(Bill.cancellation_of_id == bill.id)).one()
        assert old is not None and old.state == BillState.CANCELLED and old.number == bill.number
        assert new is not None and new.consumption_kwh == 3650 and cancellation.kind == BillKind.CANCELLATION
    files = sorted(p.name for p in settings.customer_outbox_path.rglob("*.pdf"))
    assert any(name.endswith("-korrektur.pdf") for name in files) and len(files) == 3
    again = await api.http.post(f"/v1/bills/{bill.number}/correction", json={"reason": "noch mal"}, headers=clerk)
    assert again.status_code == 409
