"""Asking a clerk: create a task, wait for the decision (an Update), escalate when it is overdue."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.tasks import TaskActivities
    from models.process import TaskClose, TaskDecision, TaskEscalation, TaskRequest
    from workflows.common import DB_ACTIVITY

SUPERVISOR_QUEUE = "supervisor"


class ClerkDesk:
    """The open tasks of one workflow run and the decisions taken on them."""

    def __init__(self) -> None:
        self.open: dict[int, list[str]] = {}
        self.requests: dict[int, TaskRequest] = {}
        self.decisions: dict[int, TaskDecision] = {}

    def validate(self, decision: TaskDecision) -> None:
        """Refuse a decision before it reaches history (update validator)."""
        allowed = self.open.get(decision.task_id)
        if allowed is None:
            raise ValueError(f"task {decision.task_id} is not open in this process")
        if decision.decision not in allowed:
            raise ValueError(f"decision {decision.decision!r} is not allowed; choose one of {', '.join(allowed)}")

    async def record(self, decision: TaskDecision) -> None:
        """Record who decided what (update handler) and wake the waiting step."""
        self.open.pop(decision.task_id, None)
        await workflow.execute_activity_method(
            TaskActivities.close_task,
            TaskClose(task_id=decision.task_id, state="done", decision=decision),
            **DB_ACTIVITY,
        )
        self.decisions[decision.task_id] = decision

    async def create(self, request: TaskRequest) -> int:
        task_id = await workflow.execute_activity_method(TaskActivities.create_task, request, **DB_ACTIVITY)
        self.requests[task_id] = request
        if task_id not in self.decisions:
            self.open[task_id] = request.allowed_decisions
        return task_id

    async def cancel(self, task_id: int) -> None:
        """Close a task that is no longer needed (e.g. the awaited answer came after all)."""
        if self.open.pop(task_id, None) is not None:
            await workflow.execute_activity_method(
                TaskActivities.close_task, TaskClose(task_id=task_id, state="cancelled"), **DB_ACTIVITY
            )

    async def wait(self, task_id: int, escalate_after: timedelta | None = None) -> TaskDecision:
        """Wait for the decision; once overdue the task moves to the supervisors' queue and waits on."""
        if escalate_after is not None:
            try:
                await workflow.wait_condition(lambda: task_id in self.decisions, timeout=escalate_after)
            except TimeoutError:
                await workflow.execute_activity_method(
                    TaskActivities.escalate_task,
                    TaskEscalation(task_id=task_id, queue=SUPERVISOR_QUEUE, priority=1),
                    **DB_ACTIVITY,
                )
        await workflow.wait_condition(lambda: task_id in self.decisions)
        return self.decisions[task_id]
