"""Supply start (Lieferbeginn): cancel at the previous supplier, register with the grid operator, activate.

Strom per GPKE/LFW24 (55016 → 55017/55018, 55001 → 55036, 55002/55003), Gas per GeLi Gas (440xx).
Answers arrive as the ``market_answer`` signal; clerks decide clearing tasks through the ``decide`` update.
"""

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from activities.documents import DocumentActivities
    from activities.market import MarketActivities
    from models.process import (
        ContractCorrection,
        ContractRef,
        ContractSnapshot,
        ContractStateChange,
        LetterRequest,
        MarketAnswer,
        ProcessStatus,
        SendUtilmd,
        SupplyStartInput,
        TaskDecision,
        TaskRequest,
    )
    from rules.calendar import BERLIN, answer_deadline, earliest_supply_start, latest_transmission_day
    from rules.ids import validate_malo_id, validate_market_partner_id
    from rules.market_processes import Exchange, exchange
    from workflows import search
    from workflows.clerk import SUPERVISOR_QUEUE, ClerkDesk
    from workflows.common import DB_ACTIVITY

CLEARING_QUEUE = "clearing"
CLERK_GRACE = timedelta(days=2)
"""A clearing task not decided within this time moves to the supervisors."""


class OrderCancelled(Exception):
    """The clerk cancelled the order; the process ends after the letter."""


@workflow.defn
class SupplyStartWorkflow:
    def __init__(self) -> None:
        self.desk = ClerkDesk()
        self.answers: list[MarketAnswer] = []
        self.state = "started"
        self.waiting_for: str | None = None
        self.supply_start: date | None = None
        self.contract: ContractSnapshot | None = None
        self.step = 0
        self.task_count = 0
        self.existing_supplier: str | None = None

    # ---------------------------------------------------------------- handlers

    @workflow.signal
    def market_answer(self, answer: MarketAnswer) -> None:
        if all(a.message_id != answer.message_id for a in self.answers):
            self.answers.append(answer)
            if answer.previous_supplier:
                self.existing_supplier = answer.previous_supplier

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.desk.validate(decision)
        start = decision.data.get("start")
        if start is not None:
            chosen = date.fromisoformat(str(start))
            # A start too early would be asked about again under the same task key and loop (same decision).
            if latest_transmission_day(chosen) < self._today():
                earliest = earliest_supply_start(self._today())
                raise ValueError(f"supply start {chosen} can no longer be registered; the earliest is {earliest}")
        # A correction the activity would refuse must be refused here: afterwards it would fail the process.
        if decision.data.get("malo_id") is not None:
            validate_malo_id(str(decision.data["malo_id"]))
        if decision.data.get("grid_operator_id") is not None:
            validate_market_partner_id(str(decision.data["grid_operator_id"]))
        proposal = self.desk.requests[decision.task_id].data.get("proposed_start")
        if decision.decision == "take_next_date" and not (start or proposal):
            raise ValueError("no date was proposed: give the new supply start as data.start (YYYY-MM-DD)")

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            state=self.state,
            waiting_for=self.waiting_for,
            open_task_ids=sorted(self.desk.open),
            supply_start=self.supply_start,
            existing_supplier=self.existing_supplier,
        )

    # ---------------------------------------------------------------- process

    @workflow.run
    async def run(self, order: SupplyStartInput) -> ProcessStatus:
        contract = await workflow.execute_activity_method(
            ContractActivities.load_contract, ContractRef(contract_id=order.contract_id), **DB_ACTIVITY
        )
        self.contract = contract
        workflow.upsert_search_attributes(
            [
                search.TENANT.value_set(contract.tenant_id),
                search.CUSTOMER_NUMBER.value_set(contract.customer_number),
                search.MALO.value_set(contract.malo_id),
            ]
        )
        try:
            start = contract.wished_start
            if contract.cancel_previous:
                start = await self._cancel_previous(start)
            confirmed = await self._register(start)
            await self._activate(confirmed)
        except OrderCancelled as cancelled:
            await self._cancel_order(str(cancelled))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _cancel_previous(self, start: date) -> date:
        """Kündigung at the previous supplier; returns the start date that follows from its answer."""
        assert self.contract is not None
        ex = exchange("cancellation", self.contract.division)
        allowed = ["resend_cancellation", "proceed", "take_next_date", "cancel_order"]
        while True:
            await self._set_state("cancelling_previous", contract_state="cancelling_previous")
            sent = await self._send("cancellation", start)
            answer = await self._await_answer(ex, sent, answer_deadline(workflow.now(), ex.answer_hour), "cancellation")
            if answer is None:
                outcome = await self._ask_unless_answered(
                    ex,
                    sent,
                    "previous_supplier_no_answer",
                    "Previous supplier did not answer the cancellation in time",
                    allowed,
                    {},
                )
                if isinstance(outcome, MarketAnswer):
                    answer = outcome
                else:
                    decision, proposal = outcome, None
            if answer is not None:
                if answer.pruefidentifikator in ex.confirmations:
                    return max(start, answer.end or start)
                proposal = answer.next_possible_date
                decision = await self._ask(
                    "previous_supplier_rejected",
                    f"Previous supplier rejected the cancellation ({self._code(answer)})",
                    allowed,
                    {"answer": answer.model_dump(mode="json"), "proposed_start": proposal},
                )
            if decision.decision == "proceed":
                return start
            if decision.decision == "take_next_date":
                return self._chosen_date(decision, proposal)
            if decision.decision == "cancel_order":
                raise OrderCancelled("Ihr bisheriger Lieferant hat die Kündigung nicht bestätigt.")

    async def _register(self, start: date) -> date:
        """Anmeldung at the grid operator until it confirms the assignment; returns the confirmed start."""
        assert self.contract is not None
        ex = exchange("registration", self.contract.division)
        while True:
            start = await self._ensure_start_allowed(start)
            await self._set_state("registering", contract_state="registering")
            sent = await self._send("registration", start)
            answer = await self._await_answer(ex, sent, answer_deadline(workflow.now(), ex.answer_hour), "registration")
            if answer is None:
                outcome = await self._ask_unless_answered(
                    ex,
                    sent,
                    "grid_operator_no_answer",
                    "Grid operator did not answer the registration by 11:00 of the first working day",
                    ["resend", "keep_waiting", "cancel_order"],
                    {},
                    queue=SUPERVISOR_QUEUE,
                )
                if isinstance(outcome, MarketAnswer):
                    answer = outcome
                elif outcome.decision == "cancel_order":
                    raise OrderCancelled("Der Netzbetreiber hat Ihre Anmeldung nicht beantwortet.")
                elif outcome.decision == "resend":
                    continue
                else:
                    await self._set_state("registering")
                    answer = await self._await_answer(ex, sent, None, "registration")
            assert answer is not None
            if answer.pruefidentifikator in ex.confirmations:
                return answer.start or start
            start = await self._clear_rejection(answer, start)

    async def _clear_rejection(self, answer: MarketAnswer, start: date) -> date:
        """The grid operator rejected the Anmeldung: a clerk corrects, takes the next date or cancels."""
        assert self.contract is not None
        proposal = answer.next_possible_date
        problem = ""
        while True:
            decision = await self._ask(
                "registration_rejected",
                f"Grid operator rejected the registration ({self._code(answer)}){problem}",
                ["correct_and_resend", "take_next_date", "cancel_order"],
                {"answer": answer.model_dump(mode="json"), "proposed_start": proposal},
            )
            if decision.decision == "cancel_order":
                raise OrderCancelled(
                    f"Der Netzbetreiber hat die Anmeldung abgelehnt (Antwortcode {answer.answer_code})."
                )
            if decision.decision == "take_next_date":
                return self._chosen_date(decision, proposal)
            data = decision.data
            try:
                self.contract = await workflow.execute_activity_method(
                    ContractActivities.correct_contract,
                    ContractCorrection(
                        contract_id=self.contract.contract_id,
                        malo_id=data.get("malo_id"),
                        grid_operator_id=data.get("grid_operator_id"),
                        wished_start=date.fromisoformat(data["start"]) if data.get("start") else None,
                    ),
                    **DB_ACTIVITY,
                )
            except ActivityError as error:
                problem = f"; the correction was refused: {error.cause}"
                continue
            workflow.upsert_search_attributes([search.MALO.value_set(self.contract.malo_id)])
            return self.contract.wished_start if data.get("start") else start

    async def _ensure_start_allowed(self, start: date) -> date:
        """The Anmeldung must leave on the latest transmission day at the latest; else a clerk picks a date."""
        while latest_transmission_day(start) < self._today():
            proposal = earliest_supply_start(self._today())
            decision = await self._ask(
                "start_date_no_longer_possible",
                f"Supply start {start.isoformat()} can no longer be registered; earliest is {proposal}",
                ["take_next_date", "cancel_order"],
                {"proposed_start": proposal},
            )
            if decision.decision == "cancel_order":
                raise OrderCancelled("Der gewünschte Lieferbeginn ist nach den Marktregeln nicht mehr möglich.")
            start = self._chosen_date(decision, proposal)
        return start

    async def _activate(self, start: date) -> None:
        assert self.contract is not None
        self.supply_start = start
        ref = ContractRef(contract_id=self.contract.contract_id)
        await workflow.execute_activity_method(
            ContractActivities.set_contract_state,
            ContractStateChange(contract_id=self.contract.contract_id, state="active", supply_start=start),
            **DB_ACTIVITY,
        )
        await workflow.execute_activity_method(ContractActivities.create_budget_plan, ref, **DB_ACTIVITY)
        await workflow.execute_activity_method(
            DocumentActivities.welcome_letter, LetterRequest(contract_id=self.contract.contract_id), **DB_ACTIVITY
        )
        await self._set_state("active")

    async def _cancel_order(self, reason: str) -> None:
        assert self.contract is not None
        await workflow.execute_activity_method(
            ContractActivities.set_contract_state,
            ContractStateChange(contract_id=self.contract.contract_id, state="cancelled"),
            **DB_ACTIVITY,
        )
        await workflow.execute_activity_method(
            DocumentActivities.order_cancelled_letter,
            LetterRequest(contract_id=self.contract.contract_id, reason=reason),
            **DB_ACTIVITY,
        )
        await self._set_state("cancelled")

    # ---------------------------------------------------------------- market messages

    async def _send(self, kind: str, start: date) -> str:
        """Send one request (once, whatever the retries) and return its transaction id for the answer."""
        assert self.contract is not None
        self.step += 1
        info = workflow.info()
        sent = await workflow.execute_activity_method(
            MarketActivities.send_utilmd,
            SendUtilmd(
                tenant_id=self.contract.tenant_id,
                contract_id=self.contract.contract_id,
                kind=kind,  # type: ignore[arg-type]
                start=start,
                business_key=f"{info.workflow_id}:{info.run_id}:{kind}:{self.step}",
                workflow_id=info.workflow_id,
            ),
            **DB_ACTIVITY,
        )
        return sent.transaction_id

    def _is_final_answer(self, answer: MarketAnswer, ex: Exchange, transaction: str) -> bool:
        return answer.reference_transaction == transaction and answer.pruefidentifikator in (
            ex.confirmations | ex.rejections
        )

    def _has_answer(self, ex: Exchange, transaction: str) -> bool:
        return any(self._is_final_answer(a, ex, transaction) for a in self.answers)

    def _take_answer(self, ex: Exchange, transaction: str) -> MarketAnswer | None:
        """Remove and return the first final answer to the request (information messages stay)."""
        for index, answer in enumerate(self.answers):
            if self._is_final_answer(answer, ex, transaction):
                return self.answers.pop(index)
        return None

    async def _await_answer(
        self, ex: Exchange, transaction: str, deadline: datetime | None, what: str
    ) -> MarketAnswer | None:
        """The final answer to the request, or None once the deadline (Berlin time) has passed."""
        until = f" until {deadline.astimezone(BERLIN):%Y-%m-%d %H:%M}" if deadline else " (overdue)"
        self.waiting_for = f"{what} answer{until}"
        try:
            timeout = max(deadline - workflow.now(), timedelta(seconds=1)) if deadline else None
            await workflow.wait_condition(lambda: self._has_answer(ex, transaction), timeout=timeout)
        except TimeoutError:
            return None
        finally:
            self.waiting_for = None
        return self._take_answer(ex, transaction)

    # ---------------------------------------------------------------- clerks

    async def _create_task(
        self, reason: str, title: str, allowed: list[str], data: dict[str, object], *, queue: str, priority: int
    ) -> int:
        assert self.contract is not None
        info = workflow.info()
        self.task_count += 1
        await self._set_state("clearing", contract_state="clearing", clearing_reason=reason)
        return await self.desk.create(
            TaskRequest(
                tenant_id=self.contract.tenant_id,
                business_key=f"{info.workflow_id}:{info.run_id}:task:{self.task_count}",
                queue=queue,
                kind=reason,
                title=title,
                description=f"Contract {self.contract.contract_number}, MaLo {self.contract.malo_id}",
                workflow_id=info.workflow_id,
                contract_id=self.contract.contract_id,
                allowed_decisions=allowed,
                due_at=workflow.now() + CLERK_GRACE,
                priority=priority,
                data={k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()},
            )
        )

    async def _ask(self, reason: str, title: str, allowed: list[str], data: dict[str, object]) -> TaskDecision:
        """A clearing task; undecided after the grace period it moves to the supervisors."""
        task_id = await self._create_task(reason, title, allowed, data, queue=CLEARING_QUEUE, priority=2)
        self.waiting_for = f"clerk decision on task {task_id}"
        decision = await self.desk.wait(task_id, escalate_after=CLERK_GRACE)
        self.waiting_for = None
        return decision

    async def _ask_unless_answered(
        self,
        ex: Exchange,
        transaction: str,
        reason: str,
        title: str,
        allowed: list[str],
        data: dict[str, object],
        *,
        queue: str = CLEARING_QUEUE,
    ) -> TaskDecision | MarketAnswer:
        """An overdue answer: a person decides, unless the answer still arrives first (the task is then cancelled)."""
        task_id = await self._create_task(reason, title, allowed, data, queue=queue, priority=1)
        self.waiting_for = f"decision on task {task_id} or a late answer"
        await workflow.wait_condition(lambda: self._has_answer(ex, transaction) or task_id in self.desk.decisions)
        self.waiting_for = None
        late = self._take_answer(ex, transaction)
        if late is not None and task_id not in self.desk.decisions:
            await self.desk.cancel(task_id)
            return late
        if late is not None:
            self.answers.insert(0, late)
        return self.desk.decisions[task_id]

    async def _set_state(
        self, state: str, *, contract_state: str | None = None, clearing_reason: str | None = None
    ) -> None:
        self.state = state
        attributes = [search.PROCESS_STATE.value_set(state)]
        if clearing_reason:
            attributes.append(search.CLEARING_REASON.value_set(clearing_reason))
        elif state != "clearing":
            attributes.append(search.CLEARING_REASON.value_unset())
        workflow.upsert_search_attributes(attributes)
        if contract_state and self.contract is not None:
            await workflow.execute_activity_method(
                ContractActivities.set_contract_state,
                ContractStateChange(contract_id=self.contract.contract_id, state=contract_state),
                **DB_ACTIVITY,
            )

    def _today(self) -> date:
        return workflow.now().astimezone(BERLIN).date()

    @staticmethod
    def _chosen_date(decision: TaskDecision, proposal: date | None) -> date:
        chosen = decision.data.get("start")
        if chosen:
            return date.fromisoformat(str(chosen))
        assert proposal is not None, "the validator refuses take_next_date without a date"
        return proposal

    @staticmethod
    def _code(answer: MarketAnswer) -> str:
        code = answer.answer_code or "no code"
        return f"{code}:{answer.answer_code_list}" if answer.answer_code_list else code
