"""What every clearing-capable process shares: its state as search attributes, and asking a clerk."""

from datetime import date, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from models.process import ContractStateChange, ProcessStatus, TaskDecision, TaskRequest
    from rules.calendar import BERLIN
    from workflows import search
    from workflows.clerk import ClerkDesk
    from workflows.common import DB_ACTIVITY

CLEARING_QUEUE = "clearing"
CLERK_GRACE = timedelta(days=2)


class Casework:
    """State, waiting reason and clerk tasks of one process run."""

    def __init__(self) -> None:
        self.desk = ClerkDesk()
        self.state = "started"
        self._waiting_for: str | None = None
        self.tenant_id = ""
        self.contract_id: int | None = None
        self.customer_id: int | None = None
        self.description = ""
        self.tasks = 0

    @property
    def waiting_for(self) -> str | None:
        return self._waiting_for

    @waiting_for.setter
    def waiting_for(self, reason: str | None) -> None:
        """What the process waits for, also as the search attribute BpoWaitingFor (Temporal UI)."""
        if reason != self._waiting_for:
            self._waiting_for = reason
            workflow.upsert_search_attributes(
                [search.WAITING_FOR.value_set(reason) if reason else search.WAITING_FOR.value_unset()]
            )

    async def set_state(
        self, state: str, *, contract_state: str | None = None, clearing_reason: str | None = None
    ) -> None:
        self.state = state
        attributes = [search.PROCESS_STATE.value_set(state)]
        if clearing_reason:
            attributes.append(search.CLEARING_REASON.value_set(clearing_reason))
        elif state != "clearing":
            attributes.append(search.CLEARING_REASON.value_unset())
        workflow.upsert_search_attributes(attributes)
        if contract_state and self.contract_id is not None:
            await workflow.execute_activity_method(
                ContractActivities.set_contract_state,
                ContractStateChange(contract_id=self.contract_id, state=contract_state),
                **DB_ACTIVITY,
            )

    async def ask(
        self,
        reason: str,
        title: str,
        allowed: list[str],
        data: dict[str, object],
        *,
        queue: str = CLEARING_QUEUE,
        priority: int = 2,
        due_at: datetime | None = None,
    ) -> TaskDecision:
        """A clerk task; undecided by ``due_at`` (default: two days) it moves to the supervisors."""
        task_id = await self.open_task(reason, title, allowed, data, queue=queue, priority=priority, due_at=due_at)
        return await self.decision(task_id)

    async def open_task(
        self,
        reason: str,
        title: str,
        allowed: list[str],
        data: dict[str, object],
        *,
        queue: str = CLEARING_QUEUE,
        priority: int = 2,
        due_at: datetime | None = None,
    ) -> int:
        info = workflow.info()
        self.tasks += 1
        await self.set_state("clearing", clearing_reason=reason)
        return await self.desk.create(
            TaskRequest(
                tenant_id=self.tenant_id,
                business_key=f"{info.workflow_id}:{info.run_id}:task:{self.tasks}",
                queue=queue,
                kind=reason,
                title=title,
                description=self.description,
                workflow_id=info.workflow_id,
                contract_id=self.contract_id,
                customer_id=self.customer_id,
                allowed_decisions=allowed,
                due_at=due_at or workflow.now() + CLERK_GRACE,
                priority=priority,
                data={k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()},
            )
        )

    async def decision(self, task_id: int, escalate_at: datetime | None = None) -> TaskDecision:
        self.waiting_for = f"clerk decision on task {task_id}"
        grace = (escalate_at - workflow.now()) if escalate_at else CLERK_GRACE
        decision = await self.desk.wait(task_id, escalate_after=max(grace, timedelta(seconds=1)))
        self.waiting_for = None
        return decision

    def today(self) -> date:
        return workflow.now().astimezone(BERLIN).date()


class ClerkWorkflow:
    """Base of processes that ask clerks: the ``decide`` update (checked by ``check_decision``) and the ``status``
    query with the open tasks."""

    def __init__(self) -> None:
        self.case = Casework()

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.case.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.case.desk.validate(decision)
        self.check_decision(decision)

    def check_decision(self, decision: TaskDecision) -> None:
        """Refuse a decision whose data does not fit (raise ValueError); every decision fits by default."""

    def waiting_for(self) -> str | None:
        return self.case.waiting_for

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            state=self.case.state, waiting_for=self.waiting_for(), open_task_ids=sorted(self.case.desk.open)
        )
