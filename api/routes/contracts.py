"""Contracts: the client orders a supply; the supply-start process runs from there."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlmodel import select

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import field_error, not_found
from models.base import utcnow
from models.contracts import Contract, MarketLocation
from models.orders import ContractOrder
from models.tenancy import Role, Tenant
from rules.calendar import BERLIN
from services.intake import OrderRejected, intake
from services.supply import start_supply

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])
Client = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]


class ContractView(BaseModel):
    contract_number: str
    division: str
    state: str
    malo_id: str
    wished_start: date
    supply_start: date | None
    supply_end: date | None
    workflow_id: str | None


class Accepted(BaseModel):
    contract_number: str
    workflow_id: str
    created: bool


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def create_contract(
    order: ContractOrder, principal: Client, session: SessionDep, client: ClientDep, settings: SettingsDep
) -> Accepted:
    """Validate the order, store it and start ``supply-start/{tenant}/{contract}`` (once per contract number)."""
    tenant = session.get(Tenant, principal.tenant_id)
    assert tenant is not None
    try:
        contract, created = intake(session, tenant, order, utcnow().astimezone(BERLIN).date())
    except OrderRejected as rejected:
        raise field_error(rejected.field, rejected.message) from rejected
    session.commit()
    workflow_id = await start_supply(client, settings.task_queue, contract)
    return Accepted(contract_number=contract.contract_number, workflow_id=workflow_id, created=created)


@router.get("/{contract_number}", response_model=ContractView)
def get_contract(contract_number: str, principal: Client, session: SessionDep) -> ContractView:
    contract = session.exec(
        select(Contract).where(Contract.tenant_id == principal.tenant_id, Contract.contract_number == contract_number)
    ).first()
    if contract is None:
        raise not_found(f"contract {contract_number}")
    location = session.get(MarketLocation, contract.location_id)
    assert location is not None
    return ContractView(
        contract_number=contract.contract_number,
        division=contract.division,
        state=contract.state,
        malo_id=location.malo_id,
        wished_start=contract.wished_start,
        supply_start=contract.supply_start,
        supply_end=contract.supply_end,
        workflow_id=contract.workflow_id,
    )
