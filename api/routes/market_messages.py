"""Inbound market messages: the raw interchange is stored first, then parsed and routed to its process."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import not_found
from models.base import utcnow
from models.messages import MarketMessage
from models.tenancy import Role, Tenant
from services.inbox import receive_interchange, start_processing
from services.monitor import MonitorFilter, MonitorRow, MonitorState, list_messages

router = APIRouter(prefix="/v1/market-messages", tags=["market messages"])
Operator = Annotated[Principal, require(Role.CLIENT)]
MAX_BYTES = 50 * 1024 * 1024


class Received(BaseModel):
    message_id: int
    state: str
    duplicate_of: int | None
    error: str | None
    workflow_id: str | None


class MessageView(BaseModel):
    id: int
    direction: str
    state: str
    message_type: str | None
    pruefidentifikator: str | None
    sender: str | None
    receiver: str | None
    interchange_ref: str | None
    document_number: str | None
    transaction_id: str | None
    reference_transaction: str | None
    malo_id: str | None
    sha256: str
    error: str | None
    duplicate_of_id: int | None
    workflow_id: str | None
    created_at: datetime
    processed_at: datetime | None


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Received,
    openapi_extra={"requestBody": {"content": {"application/edifact": {"schema": {"type": "string"}}}}},
)
async def post_interchange(
    request: Request,
    response: Response,
    principal: Operator,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> Received:
    """Accept one EDIFACT interchange (raw body). A repeat of sender + reference is kept as duplicate (200)."""
    raw = await request.body()
    if not raw:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body must be an EDIFACT interchange")
    if len(raw) > MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"interchanges up to {MAX_BYTES} bytes")
    tenant = session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    received = receive_interchange(session, tenant, raw)
    workflow_id = None
    if received.duplicate_of is not None:
        response.status_code = status.HTTP_200_OK
    else:
        workflow_id = await start_processing(client, settings.task_queue, tenant.id, received.message_id)
    return Received(**received.model_dump(), workflow_id=workflow_id)


@router.get("", response_model=list[MonitorRow])
def monitor(
    principal: Operator,
    session: SessionDep,
    state: MonitorState | None = None,
    partner: Annotated[str | None, Query(pattern="^[0-9]{13}$")] = None,
    message_type: Annotated[str | None, Query(alias="type", pattern="^[A-Za-z]{6}$", description="UTILMD, ...")] = None,
    pruefidentifikator: Annotated[str | None, Query(pattern="^[0-9]{5}$")] = None,
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MonitorRow]:
    """The daily market-communication check: by state (awaiting_answer, answer_overdue, clearing, ...)."""
    where = MonitorFilter(
        state=state,
        partner=partner,
        message_type=message_type,
        pruefidentifikator=pruefidentifikator,
        day_from=day_from,
        day_to=day_to,
        limit=limit,
    )
    return list_messages(session, principal.tenant_id, where, utcnow())


@router.get("/{message_id}", response_model=MessageView)
def get_message(message_id: int, principal: Operator, session: SessionDep) -> MessageView:
    message = session.get(MarketMessage, message_id)
    if message is None or message.tenant_id != principal.tenant_id:
        raise not_found(f"market message {message_id}")
    return MessageView.model_validate(message.model_dump(exclude={"raw", "tenant_id", "business_key"}))
