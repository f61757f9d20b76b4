"""Bank statements: the client's bank account statement (camt.053/054) is imported and booked."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from models.tenancy import Role
from services.bank_statements import StatementError
from services.bank_transactions import import_statement
from services.payment_processes import start_bank_details, start_unassigned

router = APIRouter(prefix="/v1/bank-statements", tags=["payments"])
Uploader = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]
MAX_BYTES = 20 * 1024 * 1024


class StatementBooked(BaseModel):
    statement_id: int
    duplicate: bool
    transactions: int
    matched: int
    collected: int
    returned: int
    unassigned: list[int]
    mandates_stopped: list[int]
    clearing_processes: list[str]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=StatementBooked)
async def upload_statement(
    request: Request, principal: Uploader, session: SessionDep, client: ClientDep, settings: SettingsDep
) -> StatementBooked:
    """The raw camt file as the body. Each transaction is booked once; unassignable ones go to a clerk."""
    raw = await request.body()
    if not raw:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body must be a camt.053 or camt.054 file")
    if len(raw) > MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"a statement is at most {MAX_BYTES} bytes")
    try:
        result = import_statement(session, principal.tenant_id, raw, request.headers.get("x-filename", ""))
    except StatementError as error:
        session.commit()  # the broken file is kept for clearing
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not a readable statement: {error}") from error
    session.commit()
    processes = await start_unassigned(client, settings.task_queue, session, result.unassigned)
    processes += await start_bank_details(client, settings.task_queue, session, result.mandates_stopped)
    return StatementBooked(**result.model_dump(), clearing_processes=processes)
