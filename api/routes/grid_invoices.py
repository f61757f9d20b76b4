"""Grid operators' invoices and their price sheets."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlmodel import col, select

from api.auth import Principal, require
from api.deps import SessionDep
from api.errors import not_found
from models.grid_invoices import GridInvoice
from models.tenancy import Role
from services.grid_invoices import PriceSheetError, import_price_sheet

router = APIRouter(tags=["grid invoices"])
Reader = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]
Owner = Annotated[Principal, require(Role.CLIENT, Role.SUPERVISOR)]
MAX_BYTES = 5 * 1024 * 1024


class GridInvoiceView(BaseModel):
    id: int
    invoice_number: str
    partner_id: str
    pruefidentifikator: str
    category: str
    invoice_type: str
    division: str
    malo_id: str | None
    invoice_date: date
    received_on: date
    period_start: date | None
    period_end: date | None
    due_date: date | None
    total: Decimal | None
    due_amount: Decimal | None
    state: str
    answer_pid: str
    rejection_code: str
    rejection_list: str
    rejection_text: str
    rejected_position: str | None
    details: dict[str, Any]
    paid_on: date | None
    workflow_id: str | None


@router.get("/v1/grid-invoices", response_model=list[GridInvoiceView])
def list_invoices(
    principal: Reader,
    session: SessionDep,
    state: str | None = None,
    partner: str | None = None,
    malo_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[GridInvoiceView]:
    """The newest first, filtered by state, grid operator or MaLo."""
    query = select(GridInvoice).where(GridInvoice.tenant_id == principal.tenant_id)
    if state:
        query = query.where(GridInvoice.state == state)
    if partner:
        query = query.where(GridInvoice.partner_id == partner)
    if malo_id:
        query = query.where(GridInvoice.malo_id == malo_id)
    rows = session.exec(query.order_by(col(GridInvoice.id).desc()).limit(limit)).all()
    return [GridInvoiceView.model_validate(row, from_attributes=True) for row in rows]


@router.get("/v1/grid-invoices/{invoice_id}", response_model=GridInvoiceView)
def get_invoice(invoice_id: int, principal: Reader, session: SessionDep) -> GridInvoiceView:
    row = session.get(GridInvoice, invoice_id)
    if row is None or row.tenant_id != principal.tenant_id:
        raise not_found(f"grid invoice {invoice_id}")
    return GridInvoiceView.model_validate(row, from_attributes=True)


class PricesImported(BaseModel):
    partner_id: str
    prices: int


@router.put("/v1/price-sheets/{partner_id}", response_model=PricesImported)
async def put_price_sheet(partner_id: str, request: Request, principal: Owner, session: SessionDep) -> PricesImported:
    """The grid operator's price sheet as CSV body (``article_id;valid_from;unit_price[;price_unit[;text]]``);
    prices of the same article and day are replaced; a broken file changes nothing."""
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"a price sheet may have at most {MAX_BYTES} bytes")
    try:
        count = import_price_sheet(session, principal.tenant_id, partner_id, raw.decode("utf-8-sig"))
    except (PriceSheetError, UnicodeError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    session.commit()
    return PricesImported(partner_id=partner_id, prices=count)
