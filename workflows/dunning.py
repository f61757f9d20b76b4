"""Dunning ``dunning/{tenant}/{account}/{case}``: reminder, phone call, termination, collection agency.

Level 1 sends the Zahlungserinnerung with the tenant's fee and a date two weeks on; level 2 asks a clerk to call
(promise to pay by a date, an instalment plan, a dispute, unreachable); level 3 terminates the contract in
writing, starts the supply end and hands the claim to the collection agency — or, for basic-supply customers of
a tenant who chose it and arrears above the §19 threshold, threatens disconnection, announces it and orders it
from the grid operator (ORDERS 17115). Before every step the process
looks again: what is paid, disputed or deferred is never dunned, and nothing overdue ends the case. An objection
(the ``object`` update) pauses it until a clerk decides.
"""

from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentActivities
    from activities.dunning import DunningActivities
    from models.process import (
        Arrears,
        ArrearsCheck,
        DisconnectionOrder,
        DunningInput,
        DunningItem,
        DunningLetter,
        FeeRequest,
        HoldRequest,
        MarketAnswer,
        PlanRequest,
        ProcessStatus,
        SupplyEndInput,
        TaskDecision,
    )
    from rules.calendar import add_working_days, answer_deadline, at_local_time, earliest_supply_start
    from workflows.casework import Casework
    from workflows.common import DB_ACTIVITY, start_process
    from workflows.conversation import Conversation

PAY_WITHIN = timedelta(days=14)
PROMISE_GRACE = timedelta(days=3)
TERMINATION_NOTICE = timedelta(days=14)
CALL_DECISIONS = ["promise_to_pay", "instalment_plan", "dispute", "unreachable"]
DISCONNECTION_THREAT = timedelta(weeks=4)
DISCONNECTION_NOTICE_WORKING_DAYS = 8
ORDER_ANSWERS = frozenset({"19116", "19117"})


@workflow.defn
class DunningWorkflow:
    def __init__(self) -> None:
        self.case = Casework()
        self.talk = Conversation()
        self.level = 0
        self.objection: str | None = None
        self._request: DunningInput | None = None

    @property
    def request(self) -> DunningInput:
        assert self._request is not None
        return self._request

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.case.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.case.desk.validate(decision)
        if decision.decision == "promise_to_pay":
            date.fromisoformat(str(decision.data.get("date", "")))
        if decision.decision == "instalment_plan":
            rates = int(decision.data.get("rates", 0))
            if not 2 <= rates <= 24:
                raise ValueError("an instalment plan has 2 to 24 rates (data.rates)")
            date.fromisoformat(str(decision.data.get("first_due", "")))

    @workflow.signal
    def market_answer(self, answer: MarketAnswer) -> None:
        """The grid operator's answer to our Sperrauftrag (ORDRSP 19116/19117)."""
        self.talk.receive(answer)

    @workflow.update
    def object(self, reason: str) -> str:
        """The customer objects (Widerspruch): the dunning pauses until a clerk decides."""
        self.objection = reason or "Widerspruch"
        return "paused"

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            state=self.case.state, waiting_for=self.case.waiting_for, open_task_ids=sorted(self.case.desk.open)
        )

    @workflow.run
    async def run(self, request: DunningInput) -> ProcessStatus:
        self.case.tenant_id = request.tenant_id
        self.case.description = f"Debtor account {request.account_id}, case {request.case_key}"
        self._request = request
        for level in range(request.level, 4):
            arrears = await self._arrears()
            if arrears.total <= 0:
                return await self._finish("settled")
            self.level = level
            if level == 1:
                outcome = await self._remind(arrears)
            elif level == 2:
                outcome = await self._call(arrears)
            else:
                outcome = await self._terminate(arrears)
            if outcome is not None:
                return await self._finish(outcome)
        return await self._finish("handed_over")

    async def _remind(self, arrears: Arrears) -> str | None:
        await self.case.set_state("level_1_reminder")
        pay_by = self.case.today() + PAY_WITHIN
        if arrears.reminder_fee > 0:
            await workflow.execute_activity_method(
                DunningActivities.book_fee,
                FeeRequest(
                    tenant_id=self.request.tenant_id,
                    account_id=self.request.account_id,
                    amount=arrears.reminder_fee,
                    on=self.case.today(),
                    key=f"reminder-fee:{self.request.case_key}",
                ),
                **DB_ACTIVITY,
            )
        if arrears.contract_id is not None:
            await workflow.execute_activity_method(
                DocumentActivities.payment_reminder, self._letter(arrears, pay_by=pay_by), **DB_ACTIVITY
            )
        return await self._wait_until(pay_by, "payment after the reminder")

    async def _call(self, arrears: Arrears) -> str | None:
        await self.case.set_state("level_2_call")
        while True:
            decision = await self.case.ask(
                "dunning_call",
                f"Call the customer: {arrears.total} EUR overdue after the reminder",
                CALL_DECISIONS,
                {"total": str(arrears.total), "items": [[i, str(d), str(a)] for i, d, a in arrears.items]},
                queue="dunning",
            )
            if decision.decision == "unreachable":
                return None
            if decision.decision == "dispute":
                return await self._pause(decision.data.get("reason", "Widerspruch am Telefon"), arrears)
            if decision.decision == "instalment_plan":
                await start_process(
                    "InstalmentPlanWorkflow",
                    f"instalment-plan/{self.request.tenant_id}/{self.request.case_key}",
                    PlanRequest(
                        tenant_id=self.request.tenant_id,
                        account_id=self.request.account_id,
                        case_key=self.request.case_key,
                        rates=int(decision.data["rates"]),
                        first_due=date.fromisoformat(str(decision.data["first_due"])),
                        on=self.case.today(),
                    ),
                )
                return "instalment_plan"
            promised = date.fromisoformat(str(decision.data["date"]))
            waited = await self._wait_until(promised + PROMISE_GRACE, f"payment promised by {promised}")
            if waited is not None:
                return waited
            arrears = await self._arrears()
            if arrears.total <= 0:
                return "settled"
            # the promise was not kept: the dunning goes on

    async def _terminate(self, arrears: Arrears) -> str | None:
        if arrears.disconnection:
            outcome = await self._disconnect(arrears)
            if outcome != "terminate":
                return outcome
            arrears = await self._arrears()
        await self.case.set_state("level_3_termination")
        if arrears.contract_id is None:
            await workflow.execute_activity_method(DunningActivities.hand_over, self.request, **DB_ACTIVITY)
            return "handed_over"
        end = earliest_supply_start(self.case.today() + TERMINATION_NOTICE)
        await workflow.execute_activity_method(
            DocumentActivities.dunning_termination, self._letter(arrears, supply_end=end), **DB_ACTIVITY
        )
        await start_process(
            "SupplyEndWorkflow",
            f"supply-end/{self.request.tenant_id}/{arrears.contract_number}",
            SupplyEndInput(contract_id=arrears.contract_id, end=end, reason="dunning"),
        )
        await workflow.execute_activity_method(DunningActivities.hand_over, self.request, **DB_ACTIVITY)
        return "handed_over"

    async def _disconnect(self, arrears: Arrears) -> str | None:
        """§19 StromGVV/GasGVV: threat, four weeks, announcement eight working days ahead (with the offer of an
        instalment agreement), Sperrauftrag 17115; the grid operator confirms (19116) or refuses (19117)."""
        await self.case.set_state("level_3_disconnection_threat")
        threat_until = self.case.today() + DISCONNECTION_THREAT
        await workflow.execute_activity_method(
            DocumentActivities.disconnection_threat, self._letter(arrears, disconnection_on=threat_until), **DB_ACTIVITY
        )
        waited = await self._wait_until(threat_until, "payment after the disconnection threat")
        if waited is not None:
            return waited
        arrears = await self._arrears()
        if arrears.total <= 0:
            return "settled"
        assert arrears.contract_id is not None
        day = add_working_days(self.case.today(), DISCONNECTION_NOTICE_WORKING_DAYS)
        await self.case.set_state("level_3_disconnection_ordered")
        await workflow.execute_activity_method(
            DocumentActivities.disconnection_notice, self._letter(arrears, disconnection_on=day), **DB_ACTIVITY
        )
        info = workflow.info()
        await workflow.execute_activity_method(
            DunningActivities.order_disconnection,
            DisconnectionOrder(
                contract_id=arrears.contract_id,
                earliest=day,
                business_key=f"{info.workflow_id}:{info.run_id}:17115",
                workflow_id=info.workflow_id,
            ),
            **DB_ACTIVITY,
        )
        answer = await self.talk.wait(
            ORDER_ANSWERS, answer_deadline(workflow.now(), None), "the grid operator's answer to the Sperrauftrag"
        )
        if answer is not None and answer.pruefidentifikator == "19116":
            return "disconnection_ordered"
        why = "refused" if answer is not None else "not answered"
        decision = await self.case.ask(
            "disconnection_refused",
            f"The grid operator {why} the Sperrauftrag ({answer.answer_code if answer else 'no answer'})",
            ["terminate_instead", "stop_dunning"],
            {"answer": answer.model_dump(mode="json") if answer else None},
            queue="dunning",
        )
        return "terminate" if decision.decision == "terminate_instead" else "stopped"

    async def _wait_until(self, day: date, what: str) -> str | None:
        """Sleep until ``day`` unless an objection comes first; returns an outcome if the case ended meanwhile."""
        deadline = at_local_time(day, 0)
        self.case.waiting_for = f"{what} until {day}"
        try:
            await workflow.wait_condition(
                lambda: self.objection is not None,
                timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
            )
        except TimeoutError:
            return None
        finally:
            self.case.waiting_for = None
        return await self._pause(self.objection or "Widerspruch", await self._arrears())

    async def _pause(self, reason: str, arrears: Arrears) -> str | None:
        """Hold the items while a clerk looks at the objection; continue, or stop the dunning."""
        await self.case.set_state("paused_objection")
        lines = [line_id for line_id, _, _ in arrears.items]
        hold = HoldRequest(
            tenant_id=self.request.tenant_id, line_ids=lines, kind="dispute", by="dunning", reason=reason
        )
        await workflow.execute_activity_method(DunningActivities.hold_items, hold, **DB_ACTIVITY)
        decision = await self.case.ask(
            "dunning_objection",
            f"The customer objects: {reason}",
            ["continue_dunning", "stop_dunning"],
            {"reason": reason},
            queue="dunning",
        )
        await workflow.execute_activity_method(
            DunningActivities.hold_items, hold.model_copy(update={"release": True}), **DB_ACTIVITY
        )
        self.objection = None
        if decision.decision == "stop_dunning":
            return "stopped"
        await self.case.set_state(f"level_{self.level}")
        return None

    async def _arrears(self) -> Arrears:
        return await workflow.execute_activity_method(
            DunningActivities.arrears,
            ArrearsCheck(
                tenant_id=self.request.tenant_id,
                account_id=self.request.account_id,
                on=self.case.today(),
                grace_days=self.request.grace_days,
            ),
            **DB_ACTIVITY,
        )

    def _letter(
        self,
        arrears: Arrears,
        *,
        pay_by: date | None = None,
        supply_end: date | None = None,
        disconnection_on: date | None = None,
    ) -> DunningLetter:
        assert arrears.contract_id is not None
        return DunningLetter(
            contract_id=arrears.contract_id,
            case_key=self.request.case_key,
            items=[
                DunningItem(due_date=due, text=arrears.texts.get(line_id, "Forderung"), amount=amount)
                for line_id, due, amount in arrears.items
            ],
            total=arrears.total,
            fee=arrears.reminder_fee if pay_by else Decimal("0.00"),
            pay_by=pay_by,
            supply_end=supply_end,
            disconnection_on=disconnection_on,
            iban=arrears.iban,
        )

    async def _finish(self, outcome: str) -> ProcessStatus:
        await self.case.set_state(outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()
