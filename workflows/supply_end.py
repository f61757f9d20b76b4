"""Supply end (Lieferende) ``supply-end/{tenant}/{contract}``: deregister at the grid operator, end the contract,
start the watch for the final reading.

Abmeldung 55004 (Gas 44004) leaves by the day before the last working day before the end; the grid operator
answers 55005/55006 (44005/44006) by 06:00 of the first working day. A rejection or a missing answer goes to a
clerk. When the grid operator ended the assignment itself (55037, 55007), nothing is sent. The grid operator's
55037 may arrive while the Abmeldung waits for its answer: it ends the supply just the same.
"""

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from activities.documents import DocumentActivities
    from activities.market import MarketActivities
    from models.process import (
        ContractRef,
        ContractSnapshot,
        ContractStateChange,
        FinalReadingInput,
        MarketAnswer,
        ProcessStatus,
        SendUtilmd,
        SupplyEndInput,
        SupplyEndLetter,
        TaskDecision,
    )
    from rules.calendar import BERLIN, answer_deadline, day_start, earliest_supply_start, latest_transmission_day
    from rules.market_processes import exchange
    from workflows import search
    from workflows.casework import Casework
    from workflows.common import DB_ACTIVITY, start_process
    from workflows.conversation import Conversation

ENDED_BY_GRID = frozenset({"55037", "44037"})
REASONS = {
    "switch": "Ihr neuer Lieferant hat die Belieferung übernommen.",
    "grid_operator": "Der Netzbetreiber hat die Belieferung Ihrer Marktlokation beendet.",
    "move_out": "Sie haben uns Ihren Auszug mitgeteilt.",
    "dunning": "Wir haben den Vertrag wegen offener Forderungen gekündigt.",
}
"""Reason sentences of the supply-end letter (a customer's own cancellation has its confirmation letter)."""


class SupplyEndCancelled(Exception):
    """A clerk decided the supply does not end after all."""


@workflow.defn
class SupplyEndWorkflow:
    def __init__(self) -> None:
        self.case = Casework()
        self.talk = Conversation()
        self.contract: ContractSnapshot | None = None
        self.end: date | None = None
        self.step = 0

    @workflow.signal
    def market_answer(self, answer: MarketAnswer) -> None:
        self.talk.receive(answer)

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.case.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.case.desk.validate(decision)
        if decision.decision == "resend_with_date":
            chosen = decision.data.get("end")
            if not chosen:
                raise ValueError("give the new end of supply as data.end (YYYY-MM-DD)")
            if latest_transmission_day(date.fromisoformat(str(chosen))) < self.case.today():
                earliest = earliest_supply_start(self.case.today())
                raise ValueError(f"{chosen} can no longer be deregistered; the earliest end is {earliest}")

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            state=self.case.state,
            waiting_for=self.case.waiting_for or self.talk.waiting_for,
            open_task_ids=sorted(self.case.desk.open),
        )

    @workflow.run
    async def run(self, request: SupplyEndInput) -> ProcessStatus:
        contract = await workflow.execute_activity_method(
            ContractActivities.load_contract, ContractRef(contract_id=request.contract_id), **DB_ACTIVITY
        )
        self.contract = contract
        self.case.tenant_id, self.case.contract_id = contract.tenant_id, contract.contract_id
        self.case.description = f"Contract {contract.contract_number}, MaLo {contract.malo_id}"
        workflow.upsert_search_attributes(
            [
                search.TENANT.value_set(contract.tenant_id),
                search.CUSTOMER_NUMBER.value_set(contract.customer_number),
                search.MALO.value_set(contract.malo_id),
            ]
        )
        end = request.end
        try:
            if request.deregister and not self.talk.has(ENDED_BY_GRID):
                end = await self._deregister(end, "E01" if request.reason == "move_out" else "E03")
            else:
                ended = self.talk.take(ENDED_BY_GRID)
                end = ended.end if ended and ended.end else end
        except SupplyEndCancelled:
            await self.case.set_state("cancelled", contract_state="active")
            return self.status()
        self.end = end
        await workflow.execute_activity_method(
            ContractActivities.set_contract_state,
            ContractStateChange(contract_id=contract.contract_id, state="ending", supply_end=end),
            **DB_ACTIVITY,
        )
        if request.reason in REASONS:
            await workflow.execute_activity_method(
                DocumentActivities.supply_end_letter,
                SupplyEndLetter(contract_id=contract.contract_id, supply_end=end, reason=REASONS[request.reason]),
                **DB_ACTIVITY,
            )
        await start_process(
            "FinalReadingWorkflow",
            f"final-reading/{contract.tenant_id}/{contract.contract_number}",
            FinalReadingInput(contract_id=contract.contract_id, supply_end=end),
        )
        await self.case.set_state("ending")
        self.case.waiting_for = f"the end of supply on {end}"
        await workflow.sleep(max(timedelta(0), self._until(end)))
        self.case.waiting_for = None
        await self.case.set_state("ended", contract_state="ended")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _deregister(self, end: date, reason: str) -> date:
        """Abmeldung until the grid operator confirms (or ends the assignment itself); returns the end."""
        assert self.contract is not None
        ex = exchange("deregistration", self.contract.division)
        while True:
            end = await self._ensure_in_time(end)
            await self.case.set_state("deregistering", contract_state="ending")
            transaction = await self._send(end, reason)
            answer = await self._answer(ex.confirmations | ex.rejections, transaction, ex.answer_hour)
            if answer is None:
                decision = await self.case.ask(
                    "deregistration_no_answer",
                    "Grid operator did not answer the Abmeldung by 06:00 of the first working day",
                    ["resend", "keep_waiting", "cancel_supply_end"],
                    {"end": end},
                )
                if decision.decision == "cancel_supply_end":
                    raise SupplyEndCancelled
                if decision.decision == "resend":
                    continue
                answer = await self._answer(ex.confirmations | ex.rejections, transaction, None)
            assert answer is not None
            if answer.pruefidentifikator in ex.confirmations or answer.pruefidentifikator in ENDED_BY_GRID:
                return answer.end or end
            decision = await self.case.ask(
                "deregistration_rejected",
                f"Grid operator rejected the Abmeldung ({answer.answer_code or 'no code'})",
                ["resend_with_date", "accept_as_ended", "cancel_supply_end"],
                {"answer": answer.model_dump(mode="json"), "end": end},
            )
            if decision.decision == "cancel_supply_end":
                raise SupplyEndCancelled
            if decision.decision == "accept_as_ended":
                return answer.end or end
            end = date.fromisoformat(str(decision.data["end"]))

    async def _answer(self, pids: frozenset[str], transaction: str, hour: int | None) -> MarketAnswer | None:
        """The answer to this Abmeldung, or the grid operator's 55037; None once the answer deadline passed."""
        deadline = answer_deadline(workflow.now(), hour) if hour is not None else None
        self.case.waiting_for = "the grid operator's answer to the Abmeldung" + (
            f" until {deadline.astimezone(BERLIN):%Y-%m-%d %H:%M}" if deadline else ""
        )
        try:
            await workflow.wait_condition(
                lambda: self.talk.has(pids, transaction) or self.talk.has(ENDED_BY_GRID),
                timeout=max(deadline - workflow.now(), timedelta(seconds=1)) if deadline else None,
            )
        except TimeoutError:
            return None
        finally:
            self.case.waiting_for = None
        return self.talk.take(ENDED_BY_GRID) or self.talk.take(pids, transaction)

    async def _ensure_in_time(self, end: date) -> date:
        """The Abmeldung must leave by its latest transmission day; else a clerk picks a later end."""
        while latest_transmission_day(end) < self.case.today():
            earliest = earliest_supply_start(self.case.today())
            decision = await self.case.ask(
                "end_date_no_longer_possible",
                f"End of supply {end} can no longer be deregistered; the earliest end is {earliest}",
                ["resend_with_date", "cancel_supply_end"],
                {"end": earliest},
            )
            if decision.decision == "cancel_supply_end":
                raise SupplyEndCancelled
            end = date.fromisoformat(str(decision.data["end"]))
        return end

    async def _send(self, end: date, reason: str) -> str:
        assert self.contract is not None
        self.step += 1
        info = workflow.info()
        sent = await workflow.execute_activity_method(
            MarketActivities.send_utilmd,
            SendUtilmd(
                tenant_id=self.contract.tenant_id,
                contract_id=self.contract.contract_id,
                kind="deregistration",
                start=end,
                transaction_reason=reason,
                business_key=f"{info.workflow_id}:{info.run_id}:deregistration:{self.step}",
                workflow_id=info.workflow_id,
            ),
            **DB_ACTIVITY,
        )
        return sent.transaction_id

    def _until(self, end: date) -> timedelta:
        assert self.contract is not None
        return day_start(end, self.contract.division) - workflow.now()
