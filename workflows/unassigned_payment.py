"""Unassigned payment ``unassigned-payment/{tenant}/{transaction}``: a clerk assigns it, refunds it or keeps it.

A payment that matched no debtor sits on the clearing account until then. ``assign`` (data.account, the contract
account number) books it to that debtor and settles the open items; ``refund`` sends it back to the payer;
``keep_as_credit`` assigns it without settling (the customer's credit).
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from models.process import PaymentDecision, ProcessStatus, TaskDecision, UnassignedPayment
    from workflows.casework import ClerkWorkflow
    from workflows.common import DB_ACTIVITY

DECISIONS = ["assign", "refund", "keep_as_credit"]


@workflow.defn
class UnassignedPaymentWorkflow(ClerkWorkflow):
    def check_decision(self, decision: TaskDecision) -> None:
        if decision.decision in ("assign", "keep_as_credit") and not decision.data.get("account"):
            raise ValueError("name the contract account as data.account")

    @workflow.run
    async def run(self, payment: UnassignedPayment) -> ProcessStatus:
        self.case.tenant_id = payment.tenant_id
        self.case.description = f"{payment.amount} EUR from {payment.payer}: {payment.remittance}"
        problem = ""
        while True:
            decision = await self.case.ask(
                "unassigned_payment",
                f"Payment of {payment.amount} EUR from {payment.payer} could not be assigned{problem}",
                DECISIONS,
                payment.model_dump(mode="json"),
                queue="payments",
            )
            outcome = await workflow.execute_activity_method(
                PaymentActivities.settle_unassigned,
                PaymentDecision(
                    tenant_id=payment.tenant_id,
                    transaction_id=payment.transaction_id,
                    decision=decision.decision,
                    account=str(decision.data.get("account", "")),
                    decided_by=decision.decided_by,
                ),
                **DB_ACTIVITY,
            )
            if not outcome.startswith("refused:"):
                await self.case.set_state(outcome)
                return self.status()
            problem = f" ({outcome})"
