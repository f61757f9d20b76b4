"""Bills: find them, read one with its PDF, and ask for a correction (cancel and rebill)."""

from contextlib import suppress
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import not_found
from models.base import utcnow
from models.billing import Bill, BillKind, BillState
from models.contracts import Contract
from models.documents import Document
from models.process import BillCorrectionInput
from models.tenancy import Role
from rules.calendar import BERLIN
from services.bill_document import render_bill
from workflows.bill_correction import BillCorrectionWorkflow

router = APIRouter(prefix="/v1/bills", tags=["billing"])
Reader = Annotated[Principal, require(Role.CLERK, Role.SUPERVISOR, Role.CLIENT)]
Clerk = Annotated[Principal, require(Role.CLERK, Role.SUPERVISOR)]


class BillView(BaseModel):
    id: int
    number: str | None
    kind: str
    state: str
    contract_number: str
    division: str
    period_start: date
    period_end: date
    consumption_kwh: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal
    instalments_paid: Decimal
    balance: Decimal
    due_date: date | None
    estimated: bool
    hold_reasons: str
    next_instalment: Decimal | None


class CorrectionRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=300, description="why the bill is wrong, e.g. a misread meter")


class CorrectionAccepted(BaseModel):
    workflow_id: str


def _view(bill: Bill, contract_number: str) -> BillView:
    return BillView.model_validate(bill.model_dump() | {"contract_number": contract_number})


@router.get("", response_model=list[BillView])
def list_bills(
    principal: Reader,
    session: SessionDep,
    contract_number: str | None = None,
    state: Annotated[str | None, Query(pattern="^(held|booked|cancelled)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[BillView]:
    query = (
        select(Bill, Contract.contract_number)
        .join(Contract, col(Contract.id) == col(Bill.contract_id))
        .where(Bill.tenant_id == principal.tenant_id)
    )
    if contract_number:
        query = query.where(Contract.contract_number == contract_number)
    if state:
        query = query.where(Bill.state == state)
    rows = session.exec(query.order_by(col(Bill.id).desc()).limit(limit)).all()
    return [_view(bill, number) for bill, number in rows]


def _bill(session: SessionDep, principal: Principal, number: str) -> tuple[Bill, str]:
    row = session.exec(
        select(Bill, Contract.contract_number)
        .join(Contract, col(Contract.id) == col(Bill.contract_id))
        .where(Bill.tenant_id == principal.tenant_id, Bill.number == number)
    ).first()
    if row is None:
        raise not_found(f"bill {number}")
    return row


@router.get("/{number}", response_model=BillView)
def get_bill(number: str, principal: Reader, session: SessionDep) -> BillView:
    bill, contract_number = _bill(session, principal, number)
    return _view(bill, contract_number)


@router.get("/{number}/pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def bill_pdf(number: str, principal: Reader, session: SessionDep) -> Response:
    bill, _ = _bill(session, principal, number)
    assert bill.id is not None
    document = session.get(Document, render_bill(session, bill.id))
    session.commit()
    assert document is not None
    return Response(
        document.content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


@router.post("/{number}/correction", status_code=status.HTTP_202_ACCEPTED, response_model=CorrectionAccepted)
async def correct_bill(
    number: str,
    request: CorrectionRequest,
    principal: Clerk,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> CorrectionAccepted:
    """Cancel the bill by a cancellation bill and bill the period again with what is known now."""
    bill, _ = _bill(session, principal, number)
    if bill.state != BillState.BOOKED or bill.kind == BillKind.CANCELLATION:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"bill {number} is {bill.state} {bill.kind}: only a booked bill is corrected"
        )
    assert bill.id is not None
    workflow_id = f"bill-correction/{principal.tenant_id}/{bill.id}"
    with suppress(WorkflowAlreadyStartedError):  # asked twice: the correction already runs
        await client.start_workflow(
            BillCorrectionWorkflow.run,
            BillCorrectionInput(
                tenant_id=principal.tenant_id,
                bill_id=bill.id,
                reason=request.reason,
                requested_by=principal.name,
                on=utcnow().astimezone(BERLIN).date(),
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
        )
    return CorrectionAccepted(workflow_id=workflow_id)
