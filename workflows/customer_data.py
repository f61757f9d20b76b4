"""A customer data change ``customer-data/{tenant}/{version}``: in effect on its day, and the grid operators told.

A version effective in the future waits for its day. Where the name or the correspondence address changed, the
grid operator of every MaLo in supply gets UTILMD 55109 (valid from the effective day) and answers with 55137;
no answer within ten working days, or a gas MaLo (no verified message here), goes to a clerk.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.customer_data import CustomerDataActivities
    from activities.market import MarketActivities
    from models.process import (
        MarketAnswer,
        MarketState,
        MarketTarget,
        ProcessStatus,
        SendUtilmd,
        VersionCase,
        VersionFacts,
    )
    from rules.calendar import add_working_days, at_local_time, day_start
    from workflows import search
    from workflows.casework import ClerkWorkflow
    from workflows.common import DB_ACTIVITY
    from workflows.conversation import Conversation

QUEUE = "master_data"
ANSWER_WITHIN_WT = 10
CONFIRMATIONS = frozenset({"55137"})


@workflow.defn
class CustomerDataChangeWorkflow(ClerkWorkflow):
    def __init__(self) -> None:
        super().__init__()
        self.conversation = Conversation()
        self.sent = 0

    @workflow.signal
    def market_answer(self, answer: MarketAnswer) -> None:
        self.conversation.receive(answer)

    def waiting_for(self) -> str | None:
        return self.case.waiting_for or self.conversation.waiting_for

    @workflow.run
    async def run(self, case: VersionCase) -> ProcessStatus:
        self.case.tenant_id = case.tenant_id
        facts = await workflow.execute_activity_method(
            CustomerDataActivities.load_version, case.version_id, **DB_ACTIVITY
        )
        workflow.upsert_search_attributes(
            [search.TENANT.value_set(case.tenant_id), search.CUSTOMER_NUMBER.value_set(facts.customer_number)]
        )
        if not facts.applied:
            effective = at_local_time(facts.valid_from, 0)
            if effective > workflow.now():
                self.case.waiting_for = f"the change to take effect on {facts.valid_from}"
                await workflow.sleep(effective - workflow.now())
                self.case.waiting_for = None
            await workflow.execute_activity_method(CustomerDataActivities.apply_version, case.version_id, **DB_ACTIVITY)
        await self.case.set_state("in_effect")
        if facts.market_state == "pending":
            outcomes = [await self._tell(facts, target) for target in facts.contracts]
            state = "confirmed" if all(outcomes) else "clearing"
            await workflow.execute_activity_method(
                CustomerDataActivities.set_market_state,
                MarketState(version_id=case.version_id, state=state),
                **DB_ACTIVITY,
            )
            await self.case.set_state(state)
        return self.status()

    async def _tell(self, facts: VersionFacts, target: MarketTarget) -> bool:
        """Tell the grid operator of one MaLo; True once it confirmed, False when a clerk took over."""
        self.case.contract_id = target.contract_id
        if target.division != "strom":
            await self.case.ask(
                "inform_grid_operator",
                f"Tell the grid operator of {target.malo_id} the new name/address of {facts.customer_number}",
                ["informed"],
                {"malo_id": target.malo_id, "data": facts.data, "valid_from": facts.valid_from},
                queue=QUEUE,
            )
            return False
        while True:
            self.sent += 1
            info = workflow.info()
            sent = await workflow.execute_activity_method(
                MarketActivities.send_utilmd,
                SendUtilmd(
                    tenant_id=facts.tenant_id,
                    contract_id=target.contract_id,
                    kind="master_data",
                    start=facts.valid_from,
                    business_key=f"{info.workflow_id}:{info.run_id}:55109:{self.sent}",
                    workflow_id=info.workflow_id,
                    customer_data=facts.data,
                ),
                **DB_ACTIVITY,
            )
            today = self.case.today()
            deadline = day_start(add_working_days(today, ANSWER_WITHIN_WT), "strom")
            answer = await self.conversation.wait(
                CONFIRMATIONS, deadline, f"55137 from the grid operator of {target.malo_id}", sent.transaction_id
            )
            if answer is not None:
                return True
            decision = await self.case.ask(
                "master_data_unanswered",
                f"No answer (55137) to our 55109 for {target.malo_id} within {ANSWER_WITHIN_WT} working days",
                ["resend", "dismiss"],
                {"malo_id": target.malo_id, "transaction": sent.transaction_id},
                queue=QUEUE,
                due_at=workflow.now() + timedelta(days=2),
            )
            if decision.decision == "dismiss":
                return False
