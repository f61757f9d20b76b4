"""Human tasks: create (idempotent per business key), close with the recorded decision, escalate."""

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select
from temporalio import activity

from activities.errors import business_error
from core.logging import get_logger
from models.base import utcnow
from models.process import TaskClose, TaskEscalation, TaskRequest
from models.tasks import Task, TaskState

log = get_logger()


class TaskActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def create_task(self, request: TaskRequest) -> int:
        """Create the task once; a retry returns the id of the task already created."""
        values = request.model_dump()
        values["due_at"] = request.due_at
        with Session(self.engine) as session:
            statement = insert(Task).values(**values).on_conflict_do_nothing(index_elements=["business_key"])
            session.execute(statement)
            session.commit()
            task_id = session.exec(select(Task.id).where(Task.business_key == request.business_key)).one()
        assert task_id is not None
        log.info("task open", tenant=request.tenant_id, task_id=task_id, kind=request.kind, queue=request.queue)
        return task_id

    @activity.defn
    def close_task(self, close: TaskClose) -> None:
        with Session(self.engine) as session:
            task = session.get(Task, close.task_id, with_for_update=True)
            if task is None:
                raise business_error(f"task {close.task_id} does not exist", "TaskNotFound")
            if task.state != TaskState.OPEN:
                return
            task.state = close.state
            if close.decision is not None:
                task.decision = close.decision.decision
                task.decision_data = close.decision.data
                task.decided_by = close.decision.decided_by
                task.decided_at = utcnow()
            session.add(task)
            session.commit()

    @activity.defn
    def escalate_task(self, escalation: TaskEscalation) -> None:
        with Session(self.engine) as session:
            task = session.get(Task, escalation.task_id, with_for_update=True)
            if task is None or task.state != TaskState.OPEN:
                return
            task.queue = escalation.queue
            task.priority = min(task.priority, escalation.priority)
            session.add(task)
            session.commit()
