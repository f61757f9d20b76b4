"""A customer cancels ``cancellation/{tenant}/{contract}``: fix the end, confirm it in writing, end the supply.

The contract ends on the requested day if the notice period is kept, else on the earliest day it allows; the
confirmation letter says which and why. The supply end (Abmeldung, final reading, final bill) follows.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from activities.documents import DocumentActivities
    from models.process import (
        CancellationLetter,
        ContractRef,
        CustomerCancellationInput,
        PartnerRequestOutcome,
        SupplyEndInput,
    )
    from rules import end_of_supply as eos
    from workflows import search
    from workflows.common import DB_ACTIVITY, start_process


@workflow.defn
class CustomerCancellationWorkflow:
    @workflow.run
    async def run(self, request: CustomerCancellationInput) -> PartnerRequestOutcome:
        contract = await workflow.execute_activity_method(
            ContractActivities.load_contract, ContractRef(contract_id=request.contract_id), **DB_ACTIVITY
        )
        workflow.upsert_search_attributes(
            [
                search.TENANT.value_set(contract.tenant_id),
                search.CUSTOMER_NUMBER.value_set(contract.customer_number),
                search.MALO.value_set(contract.malo_id),
                search.PROCESS_STATE.value_set("confirming"),
            ]
        )
        special = (
            eos.price_change_end(request.received_on, request.price_change_on) if request.price_change_on else None
        )
        if special is not None:
            decision = special
        elif request.move and request.requested_end is not None:
            decision = eos.move_end(request.received_on, request.requested_end, request.moving_with_us)
        else:
            decision = eos.cancellation_end(
                request.received_on, request.requested_end, contract.notice_period_days, contract.minimum_term_until
            )
        await workflow.execute_activity_method(
            DocumentActivities.cancellation_confirmation,
            CancellationLetter(
                contract_id=contract.contract_id,
                received_on=request.received_on,
                requested_end=request.requested_end,
                supply_end=decision.end,
                explanation="" if decision.requested_kept and request.requested_end else decision.text,
            ),
            **DB_ACTIVITY,
        )
        reason = "move_out" if request.move else "cancellation"
        await start_process(
            "SupplyEndWorkflow",
            f"supply-end/{contract.tenant_id}/{contract.contract_number}",
            SupplyEndInput(contract_id=contract.contract_id, end=decision.end, reason=reason),
        )
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set("confirmed")])
        return PartnerRequestOutcome(state="confirmed", contract_id=contract.contract_id, end=decision.end)
