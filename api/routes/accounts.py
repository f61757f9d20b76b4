"""Subledger accounts: find one, and its statement."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep
from api.errors import not_found
from models.base import utcnow
from models.ledger import LedgerAccount
from models.payments import HoldKind
from models.tenancy import Role, Tenant
from rules.calendar import BERLIN
from services import receivable_terms
from services.statement import Statement, statement

router = APIRouter(prefix="/v1/accounts", tags=["subledger"])
Reader = Annotated[Principal, require(Role.CLERK, Role.SUPERVISOR, Role.CLIENT)]
Clerks = Annotated[Principal, require(Role.CLERK, Role.SUPERVISOR)]


class AccountView(BaseModel):
    id: int
    division: str
    kind: str
    number: str
    name: str
    gl_role: str | None


@router.get("", response_model=list[AccountView])
def list_accounts(
    principal: Reader,
    session: SessionDep,
    kind: Annotated[str | None, Query(pattern="^(debtor|creditor|gl)$")] = None,
    number: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AccountView]:
    query = select(LedgerAccount).where(LedgerAccount.tenant_id == principal.tenant_id)
    if kind:
        query = query.where(LedgerAccount.kind == kind)
    if number:
        query = query.where(LedgerAccount.number == number)
    rows = session.exec(query.order_by(col(LedgerAccount.division), col(LedgerAccount.number)).limit(limit)).all()
    return [AccountView.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{account_id}/statement", response_model=Statement)
def account_statement(
    account_id: int,
    principal: Reader,
    session: SessionDep,
    since: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
) -> Statement:
    """Opening balance, every line with document, due date and what is still open, running and closing balance."""
    account = session.get(LedgerAccount, account_id)
    if account is None or account.tenant_id != principal.tenant_id:
        raise not_found(f"account {account_id}")
    today = utcnow().astimezone(BERLIN).date()
    until = until or today
    since = since or until.replace(month=1, day=1)
    if since > until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'from' must not be after 'to'")
    return statement(session, account, since, until)


class Objection(BaseModel):
    reason: str = Field(min_length=3, max_length=300, description="what the customer objects to")


@router.post("/{account_id}/objection", status_code=status.HTTP_202_ACCEPTED)
async def object_to_dunning(
    account_id: int, objection: Objection, principal: Clerks, session: SessionDep, client: ClientDep
) -> dict[str, str]:
    """The customer objects (Widerspruch): the account's dunning pauses until a clerk decides."""
    account = session.get(LedgerAccount, account_id)
    if account is None or account.tenant_id != principal.tenant_id:
        raise not_found(f"account {account_id}")
    workflow_id = f"dunning/{principal.tenant_id}/{account_id}"
    try:
        state = await client.get_workflow_handle(workflow_id).execute_update("object", objection.reason)
    except RPCError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"no dunning runs for account {account_id}") from error
    except WorkflowUpdateFailedError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the dunning refused: {error.cause}") from error
    return {"workflow_id": workflow_id, "state": str(state)}


class DeferralRequest(BaseModel):
    until: date = Field(description="the new due date of the items")
    reason: str = Field(default="Stundung", max_length=300)


class DeferralView(BaseModel):
    deferred_items: list[int]
    until: date


@router.post("/{account_id}/deferral", status_code=status.HTTP_201_CREATED, response_model=DeferralView)
def defer_items(account_id: int, request: DeferralRequest, principal: Clerks, session: SessionDep) -> DeferralView:
    """Stundung: the account's open items get a new due date, within the tenant's limit (``max_deferral_days``)."""
    account = session.get(LedgerAccount, account_id)
    tenant = session.get(Tenant, principal.tenant_id)
    if account is None or account.tenant_id != principal.tenant_id or tenant is None:
        raise not_found(f"account {account_id}")
    today = utcnow().astimezone(BERLIN).date()
    if not today < request.until <= today + timedelta(days=tenant.max_deferral_days):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"a deferral runs to a date after today and at most {tenant.max_deferral_days} days ahead",
        )
    items = [
        line_id
        for line_id, _, _ in receivable_terms.overdue(session, account_id, today + timedelta(days=3650), -3650).items
    ]
    if not items:
        raise HTTPException(status.HTTP_409_CONFLICT, f"account {account_id} has no open items to defer")
    receivable_terms.hold(
        session, principal.tenant_id, items, HoldKind.DEFERRAL, principal.name, request.reason, request.until
    )
    session.commit()
    return DeferralView(deferred_items=items, until=request.until)
