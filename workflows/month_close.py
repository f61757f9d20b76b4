"""Month close ``month-close/{tenant}/{yyyy-mm}``: run by a schedule early each month, or by an operator."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.ledger import LedgerActivities
    from models.process import MonthCloseInput
    from rules.calendar import BERLIN
    from services.month_close import MonthClose
    from workflows import search


SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class MonthCloseWorkflow:
    @workflow.run
    async def run(self, request: MonthCloseInput) -> MonthClose:
        period = request.period or self._previous_month()
        workflow.upsert_search_attributes(
            [search.TENANT.value_set(request.tenant_id), search.PROCESS_STATE.value_set("closing")]
        )
        result = await workflow.execute_activity_method(
            LedgerActivities.close_month,
            MonthCloseInput(tenant_id=request.tenant_id, period=period),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=5)),
        )
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set("closed")])
        return result

    @staticmethod
    def _previous_month() -> str:
        """The month before the scheduled start (Berlin), so a schedule needs no input but the tenant."""
        started = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        local = started.astimezone(BERLIN)
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return f"{year:04d}-{month:02d}"
