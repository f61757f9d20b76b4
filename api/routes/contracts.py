"""Contracts: the client orders a supply (the supply-start process runs from there), cancels it, changes the
bank details."""

import hashlib
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import select
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import field_error, not_found
from models.base import utcnow
from models.contracts import Contract, MarketLocation
from models.orders import ContractOrder, Iban, Text
from models.process import CustomerCancellationInput, ProductChange
from models.tenancy import Role, Tenant
from rules.calendar import BERLIN
from services import customer_requests, price_changes, products
from services.intake import OrderRejected, intake
from services.supply import start_supply
from workflows.customer_cancellation import CustomerCancellationWorkflow
from workflows.product_change import ProductChangeWorkflow

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


class CancellationRequest(BaseModel):
    requested_end: date | None = Field(
        default=None, description="first day without supply the customer asks for; empty: the next possible day"
    )
    received_on: date | None = Field(default=None, description="when the cancellation reached us; default today")
    channel: str = Field(default="api", max_length=20, description="letter, e-mail, phone, portal, ...")
    because_of_price_change: bool = Field(
        default=False, description="the special right: the supply ends when the announced new prices would apply"
    )


@router.post("/{contract_number}/cancellation", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def cancel_contract(
    contract_number: str,
    request: CancellationRequest,
    principal: Client,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> Accepted:
    """The customer cancels: ``cancellation/{tenant}/{contract}`` fixes the end, confirms it and ends the supply."""
    contract = session.exec(
        select(Contract).where(Contract.tenant_id == principal.tenant_id, Contract.contract_number == contract_number)
    ).first()
    if contract is None or contract.id is None:
        raise not_found(f"contract {contract_number}")
    if contract.supply_start is None or contract.state in ("ending", "ended", "cancelled"):
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"contract {contract_number} is {contract.state}: there is no supply to cancel"
        )
    today = utcnow().astimezone(BERLIN).date()
    received = request.received_on or today
    if received > today:
        raise field_error(("received_on",), "a cancellation cannot be received in the future")
    if request.requested_end is not None and request.requested_end <= received:
        raise field_error(("requested_end",), "the end of supply must be after the day the cancellation was received")
    price_change_on = None
    if request.because_of_price_change:
        pending = price_changes.pending_for(session, contract, received)
        if pending is None:
            raise field_error(("because_of_price_change",), "no price change of the contract's tariff is announced")
        price_change_on = pending.valid_from
    workflow_id = f"cancellation/{principal.tenant_id}/{contract_number}"
    created = True
    try:
        await client.start_workflow(
            CustomerCancellationWorkflow.run,
            CustomerCancellationInput(
                contract_id=contract.id,
                received_on=received,
                requested_end=request.requested_end,
                channel=request.channel,
                price_change_on=price_change_on,
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        created = False  # asked twice: the cancellation is already being handled
    return Accepted(contract_number=contract_number, workflow_id=workflow_id, created=created)


class BankDetails(BaseModel):
    iban: Iban
    account_holder: Text = Field(min_length=1)
    signed_on: date = Field(description="the day the customer signed the SEPA mandate")


class MandateView(BaseModel):
    contract_number: str
    mandate_reference: str
    iban: str
    signed_on: date


@router.put("/{contract_number}/bank-details", response_model=MandateView)
def change_bank_details(
    contract_number: str, details: BankDetails, principal: Client, session: SessionDep
) -> MandateView:
    """A new SEPA mandate for the contract's account; the next direct-debit run collects from it. The same details
    again change nothing."""
    contract = session.exec(
        select(Contract).where(Contract.tenant_id == principal.tenant_id, Contract.contract_number == contract_number)
    ).first()
    if contract is None:
        raise not_found(f"contract {contract_number}")
    if details.signed_on > utcnow().astimezone(BERLIN).date():
        raise field_error(("signed_on",), "a mandate cannot be signed in the future")
    key = hashlib.sha256(f"{details.iban}:{details.signed_on}".encode()).hexdigest()[:8].upper()
    mandate = customer_requests.change_bank_details(
        session, contract, details.iban, details.account_holder, details.signed_on, f"B{key}"
    )
    session.commit()
    return MandateView(
        contract_number=contract_number,
        mandate_reference=mandate.reference,
        iban=mandate.iban,
        signed_on=mandate.signed_on,
    )


class ProductChangeIn(BaseModel):
    tariff_code: str = Field(min_length=1, max_length=40)
    effective_from: date = Field(description="the first day on the new tariff (today or later)")


@router.post("/{contract_number}/product-change", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def product_change(
    contract_number: str,
    change: ProductChangeIn,
    principal: Client,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> Accepted:
    """The customer moves to another tariff from a day on: ``product-change/{tenant}/{contract}/{day}`` sends the
    confirmation with the new instalment and switches the contract on the day. Asked twice, one change."""
    contract = session.exec(
        select(Contract).where(Contract.tenant_id == principal.tenant_id, Contract.contract_number == contract_number)
    ).first()
    if contract is None or contract.id is None:
        raise not_found(f"contract {contract_number}")
    old_tariff = products.tariff_on(session, contract, change.effective_from - timedelta(days=1))
    today = utcnow().astimezone(BERLIN).date()
    try:
        products.change_product(session, contract, change.tariff_code, change.effective_from, principal.name, today)
    except products.ProductChangeRefused as refused:
        raise field_error((refused.field,), str(refused)) from refused
    session.commit()
    workflow_id = f"product-change/{principal.tenant_id}/{contract_number}/{change.effective_from}"
    created = True
    try:
        await client.start_workflow(
            ProductChangeWorkflow.run,
            ProductChange(
                tenant_id=principal.tenant_id,
                contract_id=contract.id,
                contract_number=contract_number,
                effective_from=change.effective_from,
                old_tariff_id=old_tariff,
                changed_by=principal.name,
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        created = False
    return Accepted(contract_number=contract_number, workflow_id=workflow_id, created=created)
