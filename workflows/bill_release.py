"""Held bill ``bill-release/{tenant}/{bill id}``: a clerk releases it, corrects the reading, or cancels it.

Nothing leaves unreleased: the bill is booked and delivered only after the decision. A corrected reading bills
the period again; if that bill is held too (e.g. still above the value limit), the clerk is asked again.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from models.process import (
        BillDecisionInput,
        BillDecisionOutcome,
        BillReleaseInput,
        ProcessStatus,
        TaskDecision,
        TaskRequest,
    )
    from rules.calendar import BERLIN
    from workflows import search
    from workflows.clerk import ClerkDesk
    from workflows.common import DB_ACTIVITY

BILLING_QUEUE = "billing"
RELEASE_GRACE = timedelta(days=3)
"""A release task not decided within this time moves to the supervisors."""
DECISIONS = ["release", "correct_reading", "cancel"]


@workflow.defn
class BillReleaseWorkflow:
    def __init__(self) -> None:
        self.desk = ClerkDesk()
        self.state = "held"

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.desk.validate(decision)
        if decision.decision == "correct_reading":
            for key in ("value", "day"):
                if not decision.data.get(key):
                    raise ValueError(f"correct_reading needs {key!r} (the reading and its day)")

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(state=self.state, waiting_for=self._waiting_for(), open_task_ids=sorted(self.desk.open))

    def _waiting_for(self) -> str | None:
        return f"clerk decision on task {min(self.desk.open)}" if self.desk.open else None

    @workflow.run
    async def run(self, request: BillReleaseInput) -> BillDecisionOutcome:
        workflow.upsert_search_attributes(
            [search.TENANT.value_set(request.tenant_id), search.PROCESS_STATE.value_set("held")]
        )
        bill_id = request.bill_id
        while True:
            task_id = await self.desk.create(
                TaskRequest(
                    tenant_id=request.tenant_id,
                    business_key=f"bill-release:{bill_id}",
                    queue=BILLING_QUEUE,
                    kind="bill_release",
                    title=f"Rechnung {bill_id} angehalten: freigeben, Zählerstand korrigieren oder verwerfen",
                    workflow_id=workflow.info().workflow_id,
                    allowed_decisions=DECISIONS,
                    due_at=workflow.now() + RELEASE_GRACE,
                    priority=2,
                    data={"bill_id": bill_id},
                )
            )
            decision = await self.desk.wait(task_id, escalate_after=RELEASE_GRACE)
            outcome = await self._apply(bill_id, decision)
            if outcome.state != "held":
                break
            bill_id = outcome.bill_id
        if outcome.state == "booked":
            await workflow.execute_activity_method(BillingActivities.deliver_bill, outcome.bill_id, **DB_ACTIVITY)
        self.state = outcome.state
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set(outcome.state)])
        return outcome

    async def _apply(self, bill_id: int, decision: TaskDecision) -> BillDecisionOutcome:
        payload = BillDecisionInput(
            bill_id=bill_id,
            on=workflow.now().astimezone(BERLIN).date(),
            decided_by=decision.decided_by,
            value=decision.data.get("value"),
            day=decision.data.get("day"),
        )
        activity = {
            "release": BillingActivities.release_bill,
            "correct_reading": BillingActivities.correct_bill_reading,
            "cancel": BillingActivities.drop_bill,
        }[decision.decision]
        return await workflow.execute_activity_method(activity, payload, **DB_ACTIVITY)
