"""Temporal schedules for recurring processes (Europe/Berlin, overlap skipped, bounded catch-up)."""

import contextlib
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from models.process import BillingRunInput, MonthCloseInput
from workflows.billing_run import BillingRunWorkflow
from workflows.month_close import MonthCloseWorkflow


def month_close_schedule_id(tenant_id: str) -> str:
    return f"month-close/{tenant_id}"


async def schedule_month_close(client: Client, task_queue: str, tenant_id: str, day: int = 2, hour: int = 6) -> str:
    """Close the previous month on ``day`` of each month at ``hour`` (Berlin); creating it twice is harmless."""
    if not 1 <= day <= 28 or not 0 <= hour <= 23 or hour == 2:
        raise ValueError("day 1-28 and an hour outside 02:00-03:00 (the clock changes then)")
    schedule_id = month_close_schedule_id(tenant_id)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            MonthCloseWorkflow.run,
            MonthCloseInput(tenant_id=tenant_id, period=""),
            id=f"month-close/{tenant_id}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(day)], hour=[ScheduleRange(hour)], minute=[ScheduleRange(0)]
                )
            ],
            time_zone_name="Europe/Berlin",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=3)),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, schedule)
    return schedule_id


def billing_run_schedule_id(tenant_id: str) -> str:
    return f"billing-run/{tenant_id}"


async def schedule_billing_run(client: Client, task_queue: str, tenant_id: str, hour: int = 4) -> str:
    """Run billing every day at ``hour`` (Berlin): instalment requests, due bills, delivery."""
    if not 0 <= hour <= 23 or hour == 2:
        raise ValueError("an hour outside 02:00-03:00 (the clock changes then)")
    schedule_id = billing_run_schedule_id(tenant_id)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            BillingRunWorkflow.run,
            BillingRunInput(tenant_id=tenant_id),
            id=f"billing-run/{tenant_id}/scheduled",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(0)])],
            time_zone_name="Europe/Berlin",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, schedule)
    return schedule_id
