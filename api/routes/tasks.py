"""The clerks' task inbox: list, read, decide. A decision moves the waiting process on."""

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlmodel import col, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep
from api.errors import not_found
from models.base import utcnow
from models.process import TaskDecision
from models.tasks import Task, TaskState
from models.tenancy import Role

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
Clerk = Annotated[Principal, require(Role.CLERK, Role.SUPERVISOR)]
Supervisor = Annotated[Principal, require(Role.SUPERVISOR, Role.OPERATOR)]
SUPERVISOR_QUEUE = "supervisor"
REGISTRATION_RETRIES = 10


class TaskView(BaseModel):
    id: int
    queue: str
    kind: str
    priority: int
    state: str
    title: str
    description: str
    workflow_id: str | None
    contract_id: int | None
    customer_id: int | None
    assigned_to: str | None
    data: dict[str, Any]
    allowed_decisions: list[str]
    due_at: datetime | None
    overdue: bool
    decision: str | None
    decision_data: dict[str, Any] | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class DecisionIn(BaseModel):
    decision: str = Field(min_length=1, max_length=60)
    data: dict[str, Any] = Field(default_factory=dict)


def view(task: Task, now: datetime) -> TaskView:
    assert task.id is not None
    overdue = task.state == TaskState.OPEN and task.due_at is not None and task.due_at < now
    return TaskView(**task.model_dump(exclude={"tenant_id", "business_key"}), overdue=overdue)


def visible(principal: Principal, task: Task) -> bool:
    if task.tenant_id != principal.tenant_id:
        return False
    return task.queue != SUPERVISOR_QUEUE or principal.role in (Role.SUPERVISOR, Role.OPERATOR)


async def send_decision(client: Client, workflow_id: str, decision: TaskDecision) -> None:
    """Hand the decision to the process as an update; a refusal becomes 409 with the process's reason.

    A task row is visible a moment before its process has registered it; such a refusal is retried briefly.
    """
    handle = client.get_workflow_handle(workflow_id)
    for attempt in range(REGISTRATION_RETRIES + 1):
        try:
            await handle.execute_update("decide", decision)
            return
        except WorkflowUpdateFailedError as failed:
            message = str(getattr(failed.cause, "message", failed.cause))
            if "is not open in this process" in message and attempt < REGISTRATION_RETRIES:
                await asyncio.sleep(0.2)
                continue
            raise HTTPException(status.HTTP_409_CONFLICT, f"the process refused the decision: {message}") from failed
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise HTTPException(status.HTTP_409_CONFLICT, "the process is no longer running") from error
            raise


@router.get("", response_model=list[TaskView])
def list_tasks(
    principal: Clerk,
    session: SessionDep,
    queue: str | None = None,
    state: Annotated[str | None, Query(pattern="^(open|done|cancelled)$")] = "open",
    due_before: datetime | None = None,
    overdue: bool = False,
    assigned_to: Annotated[str | None, Query(description="a clerk's name, 'me', or 'nobody'")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TaskView]:
    """Tasks of the caller's tenant, most urgent first; supervisors also see the supervisor queue."""
    now = utcnow()
    query = select(Task).where(Task.tenant_id == principal.tenant_id)
    if principal.role == Role.CLERK:
        query = query.where(Task.queue != SUPERVISOR_QUEUE)
    if queue:
        query = query.where(Task.queue == queue)
    if state:
        query = query.where(Task.state == state)
    if due_before:
        query = query.where(col(Task.due_at) < due_before)
    if overdue:
        query = query.where(col(Task.due_at) < now, Task.state == TaskState.OPEN)
    if assigned_to == "nobody":
        query = query.where(col(Task.assigned_to).is_(None))
    elif assigned_to:
        query = query.where(Task.assigned_to == (principal.name if assigned_to == "me" else assigned_to))
    query = query.order_by(col(Task.priority), col(Task.due_at).nulls_last(), col(Task.id)).limit(limit)
    return [view(task, now) for task in session.exec(query).all()]


class QueueLoad(BaseModel):
    queue: str
    open: int
    overdue: int
    unassigned: int
    oldest_due_at: datetime | None


@router.get("/overview", response_model=list[QueueLoad])
def overview(principal: Supervisor, session: SessionDep) -> list[QueueLoad]:
    """Per queue: open tasks, how many are overdue, how many nobody works on, and the most overdue due time."""
    now = utcnow()
    rows = session.execute(
        text(
            "SELECT queue, count(*), count(*) FILTER (WHERE due_at < :now),"
            " count(*) FILTER (WHERE assigned_to IS NULL), min(due_at)"
            " FROM task WHERE tenant_id = :tenant AND state = 'open' GROUP BY queue ORDER BY queue"
        ),
        {"now": now, "tenant": principal.tenant_id},
    ).all()
    return [QueueLoad(queue=q, open=o, overdue=d, unassigned=u, oldest_due_at=m) for q, o, d, u, m in rows]


class AssignmentIn(BaseModel):
    assignee: str | None = Field(
        description="who works on the task; 'me' for oneself, null to give it back to the queue", max_length=100
    )


@router.post("/{task_id}/assignment", response_model=TaskView)
def assign(task_id: int, body: AssignmentIn, principal: Clerk, session: SessionDep) -> TaskView:
    """A clerk takes a task (or gives it back); supervisors assign tasks to anyone."""
    task = session.get(Task, task_id, with_for_update=True)
    if task is None or not visible(principal, task):
        raise not_found(f"task {task_id}")
    if task.state != TaskState.OPEN:
        raise HTTPException(status.HTTP_409_CONFLICT, f"task {task_id} is {task.state}, not open")
    assignee = principal.name if body.assignee == "me" else body.assignee
    if principal.role == Role.CLERK and assignee not in (principal.name, None):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a clerk takes tasks for themselves; supervisors assign others")
    if principal.role == Role.CLERK and task.assigned_to not in (None, principal.name):
        raise HTTPException(status.HTTP_409_CONFLICT, f"task {task_id} is assigned to {task.assigned_to}")
    task.assigned_to = assignee
    session.add(task)
    session.commit()
    return view(task, utcnow())


@router.get("/{task_id}", response_model=TaskView)
def get_task(task_id: int, principal: Clerk, session: SessionDep) -> TaskView:
    task = session.get(Task, task_id)
    if task is None or not visible(principal, task):
        raise not_found(f"task {task_id}")
    return view(task, utcnow())


@router.post("/{task_id}/decision", response_model=TaskView)
async def decide(task_id: int, body: DecisionIn, principal: Clerk, session: SessionDep, client: ClientDep) -> TaskView:
    """Check the decision against the allowed ones, hand it to the process and return the recorded task."""
    task = session.get(Task, task_id)
    if task is None or not visible(principal, task):
        raise not_found(f"task {task_id}")
    if task.state != TaskState.OPEN:
        raise HTTPException(status.HTTP_409_CONFLICT, f"task {task_id} is {task.state}, not open")
    if body.decision not in task.allowed_decisions:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "decision"],
                    "msg": f"decision must be one of {', '.join(task.allowed_decisions)}",
                    "type": "value_error",
                }
            ],
        )
    if task.workflow_id is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"task {task_id} belongs to no process")
    decision = TaskDecision(task_id=task_id, decision=body.decision, data=body.data, decided_by=principal.name)
    await send_decision(client, task.workflow_id, decision)
    session.expire_all()
    refreshed = session.get(Task, task_id)
    assert refreshed is not None
    return view(refreshed, utcnow())
