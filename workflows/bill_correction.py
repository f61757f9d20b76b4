"""Bill correction ``bill-correction/{tenant}/{bill id}``: cancel and rebill, then send what explains it.

The cancellation bill, the new bill and a letter with the difference go to the customer; if the new bill is
held (e.g. above the value limit), its release process takes over and the letter waits for the release.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from models.process import BillCorrectionInput, BillCorrectionOutcome, BillReleaseInput
    from workflows import search
    from workflows.common import DB_ACTIVITY, start_process


@workflow.defn
class BillCorrectionWorkflow:
    @workflow.run
    async def run(self, request: BillCorrectionInput) -> BillCorrectionOutcome:
        workflow.upsert_search_attributes(
            [search.TENANT.value_set(request.tenant_id), search.PROCESS_STATE.value_set("correcting")]
        )
        outcome = await workflow.execute_activity_method(BillingActivities.correct_bill, request, **DB_ACTIVITY)
        await workflow.execute_activity_method(BillingActivities.correction_documents, outcome, **DB_ACTIVITY)
        if outcome.new_state == "held":
            await start_process(
                "BillReleaseWorkflow",
                f"bill-release/{request.tenant_id}/{outcome.new_bill_id}",
                BillReleaseInput(tenant_id=request.tenant_id, bill_id=outcome.new_bill_id),
            )
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set(outcome.new_state)])
        return outcome
