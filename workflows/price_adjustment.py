"""The price adjustment run ``price-adjustment/{tenant}/{adjustment}``: every customer on the tariff gets a new
budget plan and the notice with the special right to cancel, in chunks (each customer once; a restarted run goes
on after the last customer done). The progress is the query ``status`` and the search attribute BpoProcessState.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.products import ProductActivities
    from models.process import PriceChunk, PriceProgress, PriceRun, ProcessStatus
    from workflows import search
    from workflows.common import DB_ACTIVITY

CHUNK = 200
CHUNKS_PER_RUN = 100
"""Continue as new after this many chunks (20,000 letters) to keep the history short."""
LETTERS_TIMEOUT = timedelta(hours=1)
LETTERS_HEARTBEAT = timedelta(minutes=5)
LETTERS_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


@workflow.defn
class PriceAdjustmentRunWorkflow:
    def __init__(self) -> None:
        self.state = "started"
        self.notified = 0
        self.customers = 0

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(state=self.state, waiting_for=f"{self.notified} of {self.customers} customers notified")

    @workflow.run
    async def run(self, run: PriceRun) -> ProcessStatus:
        workflow.upsert_search_attributes([search.TENANT.value_set(run.tenant_id)])
        customers = run.customers
        if customers is None:
            customers = await workflow.execute_activity_method(
                ProductActivities.start_adjustment, run.adjustment_id, **DB_ACTIVITY
            )
        self.customers, self.notified, after = customers, run.notified, run.after_contract_id
        for _ in range(CHUNKS_PER_RUN):
            done = await workflow.execute_activity_method(
                ProductActivities.notify_chunk,
                PriceChunk(adjustment_id=run.adjustment_id, after_contract_id=after, limit=CHUNK),
                start_to_close_timeout=LETTERS_TIMEOUT,
                heartbeat_timeout=LETTERS_HEARTBEAT,
                retry_policy=LETTERS_RETRY,
            )
            self.notified += done.count
            after = done.last_contract_id
            finished = done.count < CHUNK
            self.state = "notified" if finished else "notifying"
            workflow.upsert_search_attributes([search.PROCESS_STATE.value_set(f"{self.notified}/{customers}")])
            await workflow.execute_activity_method(
                ProductActivities.record_progress,
                PriceProgress(adjustment_id=run.adjustment_id, notified=self.notified, done=finished),
                **DB_ACTIVITY,
            )
            if finished:
                return self.status()
        workflow.continue_as_new(
            run.model_copy(update={"after_contract_id": after, "notified": self.notified, "customers": customers})
        )
