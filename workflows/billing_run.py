"""Daily run ``billing-run/{tenant}/{date}``: request due instalments and missing readings, make the direct-debit
run and pay out credits, bill every due contract in chunks, open dunning cases, then deliver the bills. A daily
schedule runs it (``billing-run/{tenant}``).

Contracts are taken in ascending id order, a page at a time, and billed by parallel chunk activities; each
chunk commits in small batches and is skipped where already done, so a crashed worker or a restarted run
never bills anyone twice. Held bills each get a release process with a clerk task. The ``progress`` query
tells the CLI how far the run is; long runs continue as new with their cursor and totals.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.dunning import DunningActivities
    from activities.payments import PaymentActivities
    from models.process import (
        BillingChunk,
        BillingRunInput,
        BillingTotals,
        BillReleaseInput,
        DeliveryPage,
        DuePage,
        TenantDay,
    )
    from rules.calendar import BERLIN
    from workflows import search
    from workflows.common import DB_ACTIVITY, start_process

CHUNK_TIMEOUT = timedelta(minutes=30)
CHUNK_HEARTBEAT = timedelta(minutes=2)
CHUNK_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10)
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
PAGES_PER_RUN = 100
"""Pages before the history is cut by continue-as-new."""


@workflow.defn
class BillingRunWorkflow:
    def __init__(self) -> None:
        self.totals = BillingTotals()
        self.phase = "billing"

    @workflow.query
    def progress(self) -> BillingTotals:
        return self.totals

    @workflow.query
    def current_phase(self) -> str:
        return self.phase

    @workflow.run
    async def run(self, request: BillingRunInput) -> BillingTotals:
        run_id = workflow.info().workflow_id
        if request.on is None:
            started = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
            request = request.model_copy(update={"on": started.astimezone(BERLIN).date()})
        on = request.on
        assert on is not None
        self.totals = request.totals
        workflow.upsert_search_attributes(
            [search.TENANT.value_set(request.tenant_id), search.PROCESS_STATE.value_set("billing")]
        )
        if request.after_id == 0:
            self.phase = "instalments"
            self.totals.instalments = await workflow.execute_activity_method(
                BillingActivities.request_instalments,
                TenantDay(tenant_id=request.tenant_id, on=on),
                start_to_close_timeout=CHUNK_TIMEOUT,
                heartbeat_timeout=CHUNK_HEARTBEAT,
                retry_policy=CHUNK_RETRY,
            )
            self.phase = "reading requests"
            self.totals.reading_requests = await workflow.execute_activity_method(
                BillingActivities.request_readings,
                TenantDay(tenant_id=request.tenant_id, on=on),
                start_to_close_timeout=CHUNK_TIMEOUT,
                heartbeat_timeout=CHUNK_HEARTBEAT,
                retry_policy=CHUNK_RETRY,
            )
            self.phase = "payments"
            self.totals.direct_debits, self.totals.refunds = await workflow.execute_activity_method(
                PaymentActivities.daily_payments,
                TenantDay(tenant_id=request.tenant_id, on=on),
                start_to_close_timeout=CHUNK_TIMEOUT,
                retry_policy=CHUNK_RETRY,
            )
            self.phase = "billing"
            self.totals.due = await workflow.execute_activity_method(
                BillingActivities.count_due,
                DuePage(tenant_id=request.tenant_id, on=on, after_id=0, limit=0),
                **DB_ACTIVITY,
            )
        after = request.after_id
        for _ in range(PAGES_PER_RUN):
            ids = await workflow.execute_activity_method(
                BillingActivities.due_contracts,
                DuePage(
                    tenant_id=request.tenant_id,
                    on=on,
                    after_id=after,
                    limit=request.chunk_size * request.parallel,
                ),
                **DB_ACTIVITY,
            )
            if not ids:
                break
            chunks = [ids[i : i + request.chunk_size] for i in range(0, len(ids), request.chunk_size)]
            results = await asyncio.gather(
                *(
                    workflow.execute_activity_method(
                        BillingActivities.bill_chunk,
                        BillingChunk(tenant_id=request.tenant_id, run_id=run_id, on=on, contract_ids=chunk),
                        start_to_close_timeout=CHUNK_TIMEOUT,
                        heartbeat_timeout=CHUNK_HEARTBEAT,
                        retry_policy=CHUNK_RETRY,
                    )
                    for chunk in chunks
                )
            )
            for result in results:
                self.totals.billed += result.billed
                self.totals.failed += result.failed
                self.totals.held += len(result.held_bill_ids)
                for bill_id in result.held_bill_ids:
                    await self._ask_for_release(request.tenant_id, bill_id)
            after = ids[-1]
        else:
            workflow.continue_as_new(request.model_copy(update={"after_id": after, "totals": self.totals}))
        self.phase = "dunning"  # after billing: what today's bills settle is not dunned
        self.totals.dunning_cases = await workflow.execute_activity_method(
            DunningActivities.open_dunning_cases,
            TenantDay(tenant_id=request.tenant_id, on=on),
            start_to_close_timeout=CHUNK_TIMEOUT,
            retry_policy=CHUNK_RETRY,
        )
        self.phase = "delivering"
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set("delivering")])
        while request.deliver and (
            delivered := await workflow.execute_activity_method(
                BillingActivities.deliver_bills,
                DeliveryPage(tenant_id=request.tenant_id, run_id=run_id),
                start_to_close_timeout=CHUNK_TIMEOUT,
                heartbeat_timeout=CHUNK_HEARTBEAT,
                retry_policy=CHUNK_RETRY,
            )
        ):
            self.totals.delivered += delivered
        self.phase = "done"
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set("done")])
        return self.totals

    async def _ask_for_release(self, tenant_id: str, bill_id: int) -> None:
        """A release process per held bill; it outlives the run (a clerk may take days)."""
        await start_process(
            "BillReleaseWorkflow",
            f"bill-release/{tenant_id}/{bill_id}",
            BillReleaseInput(tenant_id=tenant_id, bill_id=bill_id),
        )
