"""New bank details ``bank-details/{tenant}/{mandate}``: after returns stopped a mandate, a clerk asks the customer.

``new_mandate`` (data.iban, data.signed_on) records the customer's new SEPA mandate, and direct debits resume;
``pay_by_transfer`` leaves the customer paying by transfer (open items go to dunning as usual).
"""

from datetime import date

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from models.process import BankDetailsRequest, NewMandate, ProcessStatus, TaskDecision
    from rules.ids import validate_iban
    from workflows.casework import ClerkWorkflow
    from workflows.common import DB_ACTIVITY


@workflow.defn
class BankDetailsWorkflow(ClerkWorkflow):
    def check_decision(self, decision: TaskDecision) -> None:
        if decision.decision == "new_mandate":
            validate_iban(str(decision.data.get("iban", "")))
            date.fromisoformat(str(decision.data.get("signed_on", "")))

    @workflow.run
    async def run(self, request: BankDetailsRequest) -> ProcessStatus:
        self.case.tenant_id = request.tenant_id
        decision = await self.case.ask(
            "new_bank_details",
            f"Direct debit stopped ({request.reason}): ask the customer for new bank details",
            ["new_mandate", "pay_by_transfer"],
            {"mandate_id": request.mandate_id},
            queue="payments",
        )
        if decision.decision == "new_mandate":
            await workflow.execute_activity_method(
                PaymentActivities.new_mandate,
                NewMandate(
                    tenant_id=request.tenant_id,
                    stopped_mandate_id=request.mandate_id,
                    iban=str(decision.data["iban"]),
                    signed_on=date.fromisoformat(str(decision.data["signed_on"])),
                    decided_by=decision.decided_by,
                ),
                **DB_ACTIVITY,
            )
            await self.case.set_state("new_mandate")
        else:
            await self.case.set_state("pay_by_transfer")
        return self.status()
