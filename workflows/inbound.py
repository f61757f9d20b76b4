"""An inbound interchange: parse it, hand each answer to its waiting process, clear what fits nowhere."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.inbox import InboxActivities, deliver_answer, deliver_readings, start_process
    from models.messages import MessageState
    from models.process import (
        Delivery,
        InboundInput,
        InboundOutcome,
        InboundResult,
        ProcessStatus,
        SignalDelivery,
        TaskDecision,
        TaskRequest,
    )
    from workflows import search
    from workflows.clerk import ClerkDesk
    from workflows.common import DB_ACTIVITY

MARKET_QUEUE = "market-communication"
CLERK_GRACE = timedelta(days=1)


@workflow.defn
class InboundMessageWorkflow:
    def __init__(self) -> None:
        self.desk = ClerkDesk()
        self.state = "received"

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.desk.validate(decision)

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(state=self.state, open_task_ids=sorted(self.desk.open))

    @workflow.run
    async def run(self, inbound: InboundInput) -> ProcessStatus:
        workflow.upsert_search_attributes([search.TENANT.value_set(inbound.tenant_id)])
        attempt = 0
        while True:
            attempt += 1
            result = await workflow.execute_activity_method(InboxActivities.process_inbound, inbound, **DB_ACTIVITY)
            if result.state == MessageState.DUPLICATE:
                self.state = result.state
                break
            problems = [*result.problems, *await self._deliver(result)]
            await self._deliver_readings(result)
            for start in result.starts:
                await workflow.execute_activity(start_process, start, **DB_ACTIVITY)
            if not problems:
                final = MessageState.REJECTED if result.state == MessageState.REJECTED else MessageState.PROCESSED
                await self._finish(inbound, final, result.error)
                break
            self.state = "clearing"
            await self._mark(inbound, MessageState.CLEARING, "; ".join(problems))
            decision = await self._clear(inbound, problems, attempt)
            if decision.decision == "dismiss":
                await self._finish(inbound, MessageState.PROCESSED, "dismissed: " + "; ".join(problems))
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _deliver(self, result: InboundResult) -> list[str]:
        """Hand each answer to its process; what finds none is returned as a problem."""
        problems = []
        for delivery in result.deliveries:
            if delivery.workflow_id is None:
                problems.append(self._describe(delivery, delivery.problem or "no process found"))
                continue
            delivered = await workflow.execute_activity(
                deliver_answer,
                SignalDelivery(workflow_id=delivery.workflow_id, answer=delivery.answer, start=delivery.start),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=1)),
            )
            if not delivered:
                problems.append(self._describe(delivery, f"process {delivery.workflow_id} is no longer waiting"))
        return problems

    async def _deliver_readings(self, result: InboundResult) -> None:
        """Tell waiting processes about new readings; one that stopped waiting simply misses the signal."""
        for delivery in result.readings:
            await workflow.execute_activity(
                deliver_readings,
                delivery,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=1)),
            )

    async def _clear(self, inbound: InboundInput, problems: list[str], attempt: int) -> TaskDecision:
        info = workflow.info()
        workflow.upsert_search_attributes(
            [search.PROCESS_STATE.value_set("clearing"), search.CLEARING_REASON.value_set("unmatched_message")]
        )
        task_id = await self.desk.create(
            TaskRequest(
                tenant_id=inbound.tenant_id,
                business_key=f"{info.workflow_id}:{info.run_id}:clearing:{attempt}",
                queue=MARKET_QUEUE,
                kind="inbound_message_clearing",
                title=f"Inbound market message {inbound.message_id} could not be processed",
                description="\n".join(problems),
                workflow_id=info.workflow_id,
                allowed_decisions=["reprocess", "dismiss"],
                due_at=workflow.now() + CLERK_GRACE,
                data={"message_id": inbound.message_id, "problems": problems},
            )
        )
        return await self.desk.wait(task_id, escalate_after=CLERK_GRACE)

    async def _finish(self, inbound: InboundInput, state: str, note: str | None) -> None:
        self.state = state
        workflow.upsert_search_attributes([search.PROCESS_STATE.value_set(state)])
        await self._mark(inbound, state, note)

    async def _mark(self, inbound: InboundInput, state: str, error: str | None) -> None:
        await workflow.execute_activity_method(
            InboxActivities.mark_inbound,
            InboundOutcome(message_id=inbound.message_id, state=state, error=error),
            **DB_ACTIVITY,
        )

    @staticmethod
    def _describe(delivery: Delivery, problem: str) -> str:
        answer = delivery.answer
        return f"{answer.pruefidentifikator} from {answer.sender} (RFF+TN {answer.reference_transaction}): {problem}"
