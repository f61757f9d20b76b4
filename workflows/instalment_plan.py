"""Instalment plan ``instalment-plan/{tenant}/{case}``: rates instead of the overdue items, watched to the end.

The overdue items are replaced by rates with their own due dates. Each rate is looked at a grace period after
its due date; an unpaid rate gets a reminder and another week; still unpaid, the plan is revoked: the open rates
fall due at once and the dunning resumes at the phone call.
"""

from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.dunning import DunningActivities
    from models.process import DunningInput, PlanRequest, PlanRevocation, ProcessStatus
    from rules.calendar import at_local_time
    from workflows.casework import Casework
    from workflows.common import DB_ACTIVITY, start_process

RATE_GRACE = timedelta(days=3)
REMINDER_WAIT = timedelta(days=7)


@workflow.defn
class InstalmentPlanWorkflow:
    def __init__(self) -> None:
        self.case = Casework()

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(state=self.case.state, waiting_for=self.case.waiting_for)

    @workflow.run
    async def run(self, plan: PlanRequest) -> ProcessStatus:
        self.case.tenant_id = plan.tenant_id
        rates = await workflow.execute_activity_method(DunningActivities.agree_plan, plan, **DB_ACTIVITY)
        await self.case.set_state("running")
        for number, (line_id, due) in enumerate(zip(rates.rate_line_ids, rates.due_dates, strict=True), start=1):
            if not await self._paid(line_id, due + RATE_GRACE, f"rate {number} due {due}"):
                await self.case.set_state("rate_reminded")
                if not await self._paid(line_id, due + RATE_GRACE + REMINDER_WAIT, f"rate {number} after reminder"):
                    await self._revoke(plan, rates.rate_line_ids)
                    return self.status()
                await self.case.set_state("running")
        await self.case.set_state("kept")
        return self.status()

    async def _paid(self, line_id: int, day: date, what: str) -> bool:
        deadline = at_local_time(day, 0)
        self.case.waiting_for = f"{what} (looked at on {day})"
        remaining = deadline - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining)
        self.case.waiting_for = None
        open_amount = await workflow.execute_activity_method(DunningActivities.rate_open, line_id, **DB_ACTIVITY)
        return Decimal(open_amount) == 0

    async def _revoke(self, plan: PlanRequest, rate_lines: list[int]) -> None:
        today = self.case.today()
        await workflow.execute_activity_method(
            DunningActivities.revoke_plan,
            PlanRevocation(
                tenant_id=plan.tenant_id,
                account_id=plan.account_id,
                case_key=plan.case_key,
                rate_line_ids=rate_lines,
                on=today,
            ),
            **DB_ACTIVITY,
        )
        await start_process(  # the account's dunning case, again, at the phone call; the rest is due at once
            "DunningWorkflow",
            f"dunning/{plan.tenant_id}/{plan.account_id}",
            DunningInput(
                tenant_id=plan.tenant_id,
                account_id=plan.account_id,
                case_key=f"plan-{plan.case_key}",
                level=2,
                grace_days=0,
            ),
            again=True,
        )
        await self.case.set_state("revoked")
