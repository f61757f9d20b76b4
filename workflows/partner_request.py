"""What the processes a market partner's request starts have in common: the request, its contract, the answer.

The request arrives as the first ``market_answer`` signal (signal-with-start by the inbound process); a repeated
request reaches the running process and is ignored. Our answer is built from the request (RFF+TN) and sent once.
"""

from datetime import date, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from activities.market import AnswerActivities
    from activities.supply_end import SupplyEndActivities
    from models.process import (
        AnswerRequest,
        ContractLookup,
        ContractRef,
        ContractSnapshot,
        MarketAnswer,
        PartnerRequestInput,
        PartnerRequestOutcome,
        ProcessStatus,
        SupplyEndInput,
        TaskDecision,
    )
    from rules import end_of_supply as eos
    from rules.calendar import BERLIN
    from rules.market_processes import PARTNER_REQUESTS
    from workflows import search
    from workflows.casework import Casework
    from workflows.common import DB_ACTIVITY, start_process
    from workflows.conversation import Conversation


class PartnerRequestProcess:
    """Base of the partner-request workflows: signal, update and query handlers and the shared steps."""

    def __init__(self) -> None:
        self.case = Casework()
        self.talk = Conversation()
        self.contract: ContractSnapshot | None = None
        self.request: MarketAnswer | None = None

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
        if decision.decision == "reject" and not decision.data.get("code"):
            raise ValueError("a rejection needs its answer code as data.code (e.g. A99)")
        for field in ("end", "next_possible_end"):
            if decision.data.get(field):
                date.fromisoformat(str(decision.data[field]))

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            state=self.case.state,
            waiting_for=self.case.waiting_for or self.talk.waiting_for,
            open_task_ids=sorted(self.case.desk.open),
        )

    async def receive(self, request: PartnerRequestInput) -> MarketAnswer:
        """The request (already delivered with the start), and the contract at its MaLo if we have one."""
        self.case.tenant_id = request.tenant_id
        attributes = [search.TENANT.value_set(request.tenant_id)]
        if request.malo_id:
            attributes.append(search.MALO.value_set(request.malo_id))
        workflow.upsert_search_attributes(attributes)
        pids = frozenset(PARTNER_REQUESTS)
        await workflow.wait_condition(lambda: self.talk.has(pids))
        received = self.talk.take(pids)
        assert received is not None
        self.request = received
        contract_id = await workflow.execute_activity_method(
            SupplyEndActivities.find_contract,
            ContractLookup(tenant_id=request.tenant_id, malo_id=request.malo_id),
            **DB_ACTIVITY,
        )
        if contract_id is not None:
            self.contract = await workflow.execute_activity_method(
                ContractActivities.load_contract, ContractRef(contract_id=contract_id), **DB_ACTIVITY
            )
            self.case.contract_id = contract_id
            workflow.upsert_search_attributes([search.CUSTOMER_NUMBER.value_set(self.contract.customer_number)])
        self.case.description = f"MaLo {request.malo_id}, request {received.pruefidentifikator} from {received.sender}"
        return received

    def terms(self) -> "eos.ContractTerms | None":
        c = self.contract
        if c is None or c.supply_start is None:
            return None
        return eos.ContractTerms(
            supply_start=c.supply_start,
            supply_end=c.supply_end,
            notice_period_days=c.notice_period_days,
            minimum_term_until=c.minimum_term_until,
        )

    async def clear(self, reason: str, answer: "eos.MarketAnswer", deadline: datetime) -> TaskDecision | None:
        """A clerk confirms or rejects before the answer deadline; None if the deadline passes undecided."""
        task_id = await self.case.open_task(
            reason,
            f"{answer.note} Decide by {deadline.astimezone(BERLIN):%d.%m.%Y %H:%M}.",
            ["confirm", "reject"],
            {"request": self.request.model_dump(mode="json") if self.request else {}},
            priority=1,
            due_at=deadline,
        )
        self.case.waiting_for = f"clerk decision on task {task_id} until {deadline.astimezone(BERLIN):%Y-%m-%d %H:%M}"
        try:
            await workflow.wait_condition(
                lambda: task_id in self.case.desk.decisions,
                timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
            )
        except TimeoutError:
            await self.case.desk.cancel(task_id)
            return None
        finally:
            self.case.waiting_for = None
        return self.case.desk.decisions[task_id]

    async def send_answer(self, answer: "eos.MarketAnswer", annual_kwh: bool = False) -> str:
        """Send our confirmation or rejection of the request; returns its Prüfidentifikator."""
        assert self.request is not None and self.request.transaction_id
        kind = PARTNER_REQUESTS[self.request.pruefidentifikator]
        pid = kind.confirmation if answer.outcome is eos.Outcome.CONFIRM else kind.rejection
        assert pid is not None and answer.code is not None
        info = workflow.info()
        months = round((answer.notice_period_days or 0) / 30)
        await workflow.execute_activity_method(
            AnswerActivities.answer_request,
            AnswerRequest(
                request_message_id=self.request.message_id,
                request_transaction=self.request.transaction_id,
                pruefidentifikator=pid,
                answer_code=answer.code,
                answer_code_list=answer.code_list,
                end=answer.end,
                next_possible_date=answer.next_possible_end,
                notice_period=f"{months:02d}MQ" if answer.notice_period_days and months else None,
                valid_from=answer.next_possible_end - timedelta(days=answer.notice_period_days)
                if answer.next_possible_end and answer.notice_period_days
                else None,
                annual_consumption_kwh=self.contract.annual_consumption_kwh if annual_kwh and self.contract else None,
                business_key=f"{info.workflow_id}:answer",
                workflow_id=info.workflow_id,
            ),
            **DB_ACTIVITY,
        )
        return pid

    async def start_supply_end(self, end: date, reason: str, deregister: bool) -> None:
        assert self.contract is not None
        await start_process(  # once per contract: a supply end already running keeps its course
            "SupplyEndWorkflow",
            f"supply-end/{self.contract.tenant_id}/{self.contract.contract_number}",
            SupplyEndInput(contract_id=self.contract.contract_id, end=end, reason=reason, deregister=deregister),  # type: ignore[arg-type]
        )

    def outcome(self, state: str, answer: str | None, end: date | None) -> PartnerRequestOutcome:
        return PartnerRequestOutcome(
            state=state, answer=answer, contract_id=self.contract.contract_id if self.contract else None, end=end
        )

    @staticmethod
    def decided(decision: TaskDecision, proposal: "eos.MarketAnswer", division: str) -> "eos.MarketAnswer":
        """The clerk's decision as our answer (codes of the division's decision tree)."""
        data = decision.data
        if decision.decision == "confirm":
            end = date.fromisoformat(str(data["end"])) if data.get("end") else proposal.end
            return eos.MarketAnswer(
                outcome=eos.Outcome.CONFIRM,
                code=str(data.get("code") or proposal.code or "A09"),
                code_list=proposal.code_list,
                end=end,
                note="Bestätigt durch Sachbearbeitung.",
            )
        next_date = data.get("next_possible_end")
        return eos.MarketAnswer(
            outcome=eos.Outcome.REJECT,
            code=str(data["code"]),
            code_list=proposal.code_list,
            next_possible_end=date.fromisoformat(str(next_date)) if next_date else None,
            notice_period_days=proposal.notice_period_days,
            note="Abgelehnt durch Sachbearbeitung.",
        )
