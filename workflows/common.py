"""Activity options shared by all workflows."""

from datetime import timedelta
from typing import TypedDict

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.inbox import start_process as start_process_activity
    from models.process import StartProcess


class ActivityOptions(TypedDict):
    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy


DB_ACTIVITY = ActivityOptions(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=20,
    ),
)
"""Database and rendering work: retried with backoff; business errors are raised non-retryable."""


async def start_process(workflow_type: str, workflow_id: str, payload: BaseModel, *, again: bool = False) -> None:
    """Start another process that lives on its own (a clerk may take days on it); once per workflow id.

    An activity rather than a child workflow: the process must outlive the one that starts it, whatever
    happens to that one."""
    await workflow.execute_activity(
        start_process_activity,
        StartProcess(
            workflow=workflow_type, workflow_id=workflow_id, input=payload.model_dump(mode="json"), again=again
        ),
        **DB_ACTIVITY,
    )
