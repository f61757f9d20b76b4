"""Tariffs: the client announces new prices; every customer on the tariff is told in time."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import field_error, not_found
from models.base import utcnow
from models.contracts import PriceAdjustment
from models.process import PriceRun
from models.tenancy import Role
from rules.calendar import BERLIN
from services import price_changes
from workflows.price_adjustment import PriceAdjustmentRunWorkflow

router = APIRouter(tags=["tariffs"])
Owner = Annotated[Principal, require(Role.CLIENT, Role.SUPERVISOR)]
Reader = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]


class PriceAdjustmentIn(BaseModel):
    valid_from: date = Field(description="the first day of the new prices")
    working_price: Decimal = Field(gt=0, max_digits=12, decimal_places=6, description="EUR per kWh, net")
    base_price_per_year: Decimal = Field(ge=0, max_digits=12, decimal_places=6, description="EUR per year, net")
    reason: str = Field("", max_length=1000, description="why the prices change, printed in the notice")


class PriceAdjustmentView(BaseModel):
    id: int
    valid_from: date
    reason: str
    customers: int
    notified: int
    state: str
    workflow_id: str | None


@router.post(
    "/v1/tariffs/{tariff_code}/price-adjustments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PriceAdjustmentView,
)
async def announce(
    tariff_code: str,
    body: PriceAdjustmentIn,
    principal: Owner,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> PriceAdjustmentView:
    """The new price version and the run that notifies every customer on the tariff (a new budget plan and the
    notice with the special right to cancel). Refused when the notice period cannot be kept."""
    try:
        adjustment = price_changes.announce(
            session,
            principal.tenant_id,
            tariff_code,
            body.valid_from,
            body.working_price,
            body.base_price_per_year,
            reason=body.reason,
            announced_by=principal.name,
            today=utcnow().astimezone(BERLIN).date(),
        )
    except price_changes.PriceChangeRefused as refused:
        raise field_error((refused.field,), str(refused)) from refused
    session.commit()
    assert adjustment.id is not None and adjustment.workflow_id is not None
    try:
        await client.start_workflow(
            PriceAdjustmentRunWorkflow.run,
            PriceRun(tenant_id=principal.tenant_id, adjustment_id=adjustment.id),
            id=adjustment.workflow_id,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        pass  # announced before: the run goes on
    except RPCError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the prices are stored, but the notices could not start ({error.message}); send it again",
        ) from error
    return PriceAdjustmentView.model_validate(adjustment, from_attributes=True)


@router.get("/v1/price-adjustments/{adjustment_id}", response_model=PriceAdjustmentView)
def get_adjustment(adjustment_id: int, principal: Reader, session: SessionDep) -> PriceAdjustmentView:
    """The run's progress: customers concerned and notified so far."""
    adjustment = session.get(PriceAdjustment, adjustment_id)
    if adjustment is None or adjustment.tenant_id != principal.tenant_id:
        raise not_found(f"price adjustment {adjustment_id}")
    return PriceAdjustmentView.model_validate(adjustment, from_attributes=True)
