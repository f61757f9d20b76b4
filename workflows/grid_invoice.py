"""A grid operator's invoice ``grid-invoice/{tenant}/{invoice}``: checked, answered, booked and paid.

The decision tree (E_0406, MMM quantities, Storno) decides; what it cannot decide (a quantity within the tenant's
tolerance, no quantities of ours, an Abschlagsrechnung) goes to a clerk in the ``grid_invoices`` queue
(``accept``, or ``reject`` with ``{"code": "A33", "text": ...}``), due by the last day to answer (the 4th working
day before the payment date); undecided then, it moves to the supervisors. The REMADV goes out at once; an
accepted invoice is booked on the grid operator's creditor account and paid in the transfer run of its due date.
A Storno of an accepted invoice reverses its booking and is confirmed.
"""

import re
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.grid_invoices import GridInvoiceActivities
    from models.process import GridInvoiceCase, InvoiceCheck, InvoiceDecision, PayDue, ProcessStatus, TaskDecision
    from rules.calendar import at_local_time
    from rules.grid_invoices import MMM_PIDS
    from workflows import search
    from workflows.casework import ClerkWorkflow
    from workflows.common import DB_ACTIVITY

QUEUE = "grid_invoices"
PAYMENT_HOUR = 6
REJECTION_CODE = r"^[A-Z0-9]{2,3}$"


@workflow.defn
class GridInvoiceWorkflow(ClerkWorkflow):
    def check_decision(self, decision: TaskDecision) -> None:
        if decision.decision == "reject" and not re.fullmatch(REJECTION_CODE, str(decision.data.get("code", ""))):
            raise ValueError('reject needs data.code, the answer code of the decision tree, e.g. "A33"')

    @workflow.run
    async def run(self, case: GridInvoiceCase) -> ProcessStatus:
        self.case.tenant_id = case.tenant_id
        workflow.upsert_search_attributes([search.TENANT.value_set(case.tenant_id)])
        check = await workflow.execute_activity_method(GridInvoiceActivities.check_invoice, case, **DB_ACTIVITY)
        if check.malo_id:
            workflow.upsert_search_attributes([search.MALO.value_set(check.malo_id)])
        self.case.description = f"Rechnung {check.invoice_number} von {check.partner_id}"
        decided_by = ""
        if check.outcome == "clearing":
            check, decided_by = await self._clear(check)
        answer = await workflow.execute_activity_method(
            GridInvoiceActivities.decide_invoice, InvoiceDecision(check=check, decided_by=decided_by), **DB_ACTIVITY
        )
        await self.case.set_state("accepted" if answer == "33001" else "rejected")
        if answer == "33001" and not check.storno and check.due_date is not None:
            await self._pay(case, check)
        return self.status()

    async def _clear(self, check: InvoiceCheck) -> tuple[InvoiceCheck, str]:
        await workflow.execute_activity_method(GridInvoiceActivities.hold_for_clearing, check, **DB_ACTIVITY)
        deadline = at_local_time(check.answer_by, 12) if check.answer_by else workflow.now() + timedelta(days=2)
        task_id = await self.case.open_task(
            "grid_invoice_check",
            f"Rechnung {check.invoice_number} prüfen: {check.text}",
            ["accept", "reject"],
            {"invoice_id": check.invoice_id, "code": check.code, "notes": check.notes, "answer_by": check.answer_by},
            queue=QUEUE,
            due_at=deadline,
        )
        decision = await self.case.decision(task_id, escalate_at=deadline)
        if decision.decision == "accept":
            return check.model_copy(update={"outcome": "accept", "code": "", "text": ""}), decision.decided_by
        tree = check.code_list or ("E_0801" if check.pruefidentifikator in MMM_PIDS else "E_0406")
        rejected = check.model_copy(
            update={
                "outcome": "reject",
                "code": str(decision.data["code"]),
                "code_list": str(decision.data.get("code_list") or tree),
                "text": str(decision.data.get("text") or check.text),
                "position": decision.data.get("position", check.position),
            }
        )
        return rejected, decision.decided_by

    async def _pay(self, case: GridInvoiceCase, check: InvoiceCheck) -> None:
        assert check.due_date is not None
        pay_at = at_local_time(check.due_date, PAYMENT_HOUR)
        self.case.waiting_for = f"the transfer run of the due date {check.due_date}"
        if pay_at > workflow.now():
            await workflow.sleep(pay_at - workflow.now())
        self.case.waiting_for = None
        while True:
            try:
                await workflow.execute_activity_method(
                    GridInvoiceActivities.pay_due_invoices,
                    PayDue(tenant_id=case.tenant_id, on=max(check.due_date, self.case.today())),
                    **DB_ACTIVITY,
                )
                break
            except ActivityError as blocked:
                why = str(getattr(blocked.cause, "message", blocked))
                decision = await self.case.ask(
                    "grid_invoice_payment",
                    f"Rechnung {check.invoice_number} kann nicht bezahlt werden: {why}",
                    ["retry", "paid_elsewhere"],
                    {"invoice_id": check.invoice_id},
                    queue=QUEUE,
                )
                if decision.decision == "paid_elsewhere":
                    break
        state = await workflow.execute_activity_method(
            GridInvoiceActivities.invoice_state, check.invoice_id, **DB_ACTIVITY
        )
        await self.case.set_state(state)
