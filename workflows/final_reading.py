"""Messdateninkasso ``final-reading/{tenant}/{contract}``: wait for the final meter reading, ask, escalate, bill.

The metering operator owes the reading at the end of supply by the 28th calendar day after the end (REFERENCE
4.3). After that the process asks for it (ORDERS 17102) and waits four working days, then complains (17113) and
waits three more, then a clerk decides: ask again, bill on an estimate, or enter the customer's own reading.
A reading that arrives at any point (also late, also twice) is taken. With the reading the final bill is made;
it must leave within six weeks of the end (§40c EnWG), so the clerk's task is due before that.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.contracts import ContractActivities
    from activities.supply_end import SupplyEndActivities
    from models.process import (
        BillReleaseInput,
        ContractRef,
        ContractSnapshot,
        EnteredReading,
        FinalBillRequest,
        FinalReadingCheck,
        FinalReadingInput,
        FinalReadingOrder,
        ProcessStatus,
        ReadingsArrived,
        ReadingWatch,
        TaskDecision,
    )
    from rules.calendar import BERLIN, add_working_days, at_local_time
    from workflows import search
    from workflows.casework import Casework
    from workflows.common import DB_ACTIVITY, start_process

READING_DUE = timedelta(days=28)
REQUEST_WAIT = 4
"""Working days the metering operator has to deliver asked-for values."""
COMPLAINT_WAIT = 3
FINAL_BILL_WITHIN = timedelta(weeks=6)
DECISIONS = ["request_again", "accept_estimate", "customer_reading"]


@workflow.defn
class FinalReadingWorkflow:
    def __init__(self) -> None:
        self.case = Casework()
        self.arrivals = 0
        self.contract: ContractSnapshot | None = None
        self.bill_id: int | None = None

    @workflow.signal
    def meter_readings(self, readings: ReadingsArrived) -> None:
        self.arrivals += 1

    @workflow.update
    async def decide(self, decision: TaskDecision) -> str:
        await self.case.desk.record(decision)
        return "accepted"

    @decide.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        self.case.desk.validate(decision)
        if decision.decision == "customer_reading":
            try:
                value = Decimal(str(decision.data.get("value")))
            except ArithmeticError as error:
                raise ValueError("give the customer's reading as data.value, e.g. 4711.5") from error
            if not value.is_finite() or value < 0:
                raise ValueError(f"a meter reading is a number of at least 0, not {decision.data.get('value')}")

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            state=self.case.state, waiting_for=self.case.waiting_for, open_task_ids=sorted(self.case.desk.open)
        )

    @workflow.run
    async def run(self, request: FinalReadingInput) -> ProcessStatus:
        contract = await workflow.execute_activity_method(
            ContractActivities.load_contract, ContractRef(contract_id=request.contract_id), **DB_ACTIVITY
        )
        self.contract = contract
        self.case.tenant_id, self.case.contract_id = contract.tenant_id, contract.contract_id
        self.case.description = (
            f"Contract {contract.contract_number}, MaLo {contract.malo_id}, end {request.supply_end}"
        )
        workflow.upsert_search_attributes(
            [
                search.TENANT.value_set(contract.tenant_id),
                search.CUSTOMER_NUMBER.value_set(contract.customer_number),
                search.MALO.value_set(contract.malo_id),
            ]
        )
        await self._watch(True)
        await self.case.set_state("waiting_for_final_reading")
        end = request.supply_end
        due = at_local_time(end + READING_DUE, 0)
        if not await self._reading_by(due, end, "the final reading from the metering operator"):
            await self._escalate(end)
        await self._watch(False)
        await self._final_bill()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _escalate(self, end: date) -> None:
        """Ask, complain, then a clerk; until a reading is there (one that arrives meanwhile ends it at once)."""
        attempt = 0
        while True:
            attempt += 1
            for complaint, wait in ((False, REQUEST_WAIT), (True, COMPLAINT_WAIT)):
                await self.case.set_state("complaining" if complaint else "requesting_final_reading")
                await self._order(end, complaint, attempt)
                deadline = at_local_time(add_working_days(self.case.today(), wait) + timedelta(days=1), 0)
                what = "the values after the complaint (17113)" if complaint else "the asked-for values (17102)"
                if await self._reading_by(deadline, end, what):
                    return
            due_at = at_local_time(end + FINAL_BILL_WITHIN, 0) - timedelta(days=7)
            task_id = await self.case.open_task(
                "final_reading_missing",
                f"No final meter reading for the end of supply on {end}: ask again, estimate or enter the "
                "customer's reading (the final bill is due within six weeks of the end)",
                DECISIONS,
                {"supply_end": end},
                priority=1,
                due_at=due_at if due_at > workflow.now() else None,
            )
            if await self._decided_or_read(task_id, end):
                await self.case.desk.cancel(task_id)
                return
            decision = await self.case.desk.wait(task_id)
            if decision.decision == "request_again":
                continue
            value = None if decision.decision == "accept_estimate" else Decimal(str(decision.data["value"]))
            await workflow.execute_activity_method(
                SupplyEndActivities.enter_final_reading,
                EnteredReading(
                    contract_id=self.case.contract_id or 0, day=end, value=value, entered_by=decision.decided_by
                ),
                **DB_ACTIVITY,
            )
            return

    async def _decided_or_read(self, task_id: int, end: date) -> bool:
        """Wait for the clerk's decision; True if the final reading arrives first (the task is then moot)."""
        self.case.waiting_for = f"clerk decision on task {task_id} or the final reading"
        try:
            while task_id not in self.case.desk.decisions:
                seen = self.arrivals
                await workflow.wait_condition(
                    lambda seen=seen: task_id in self.case.desk.decisions or self.arrivals > seen  # type: ignore[misc]
                )
                if task_id not in self.case.desk.decisions and await self._present(end):
                    return True
            return False
        finally:
            self.case.waiting_for = None

    async def _reading_by(self, deadline: datetime, end: date, what: str) -> bool:
        """True as soon as the final reading is there; False when the deadline passes without it."""
        if await self._present(end):
            return True
        while True:
            seen = self.arrivals
            self.case.waiting_for = f"{what} until {deadline.astimezone(BERLIN):%Y-%m-%d %H:%M}"
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                self.case.waiting_for = None
                return False
            try:
                await workflow.wait_condition(lambda seen=seen: self.arrivals > seen, timeout=remaining)  # type: ignore[misc]
            except TimeoutError:
                self.case.waiting_for = None
                return await self._present(end)
            if await self._present(end):  # readings of other days (e.g. a monthly value) do not count
                self.case.waiting_for = None
                return True

    async def _present(self, end: date) -> bool:
        return await workflow.execute_activity_method(
            SupplyEndActivities.final_reading_present,
            FinalReadingCheck(contract_id=self.case.contract_id or 0, day=end),
            **DB_ACTIVITY,
        )

    async def _order(self, end: date, complaint: bool, attempt: int) -> None:
        info = workflow.info()
        await workflow.execute_activity_method(
            SupplyEndActivities.order_final_reading,
            FinalReadingOrder(
                contract_id=self.case.contract_id or 0,
                day=end,
                complaint=complaint,
                business_key=f"{info.workflow_id}:{'17113' if complaint else '17102'}:{attempt}",
                workflow_id=info.workflow_id,
            ),
            **DB_ACTIVITY,
        )

    async def _watch(self, active: bool) -> None:
        await workflow.execute_activity_method(
            SupplyEndActivities.watch_readings,
            ReadingWatch(
                contract_id=self.case.contract_id or 0, workflow_id=workflow.info().workflow_id, active=active
            ),
            **DB_ACTIVITY,
        )

    async def _final_bill(self) -> None:
        """The final bill; if it cannot be made a clerk clears it and it is tried again."""
        assert self.contract is not None
        while True:
            await self.case.set_state("final_billing")
            result = await workflow.execute_activity_method(
                BillingActivities.final_bill,
                FinalBillRequest(
                    tenant_id=self.case.tenant_id, contract_id=self.contract.contract_id, on=self.case.today()
                ),
                **DB_ACTIVITY,
            )
            if result.bill_id is not None:
                self.bill_id = result.bill_id
                if result.outcome == "held":
                    await start_process(
                        "BillReleaseWorkflow",
                        f"bill-release/{self.case.tenant_id}/{result.bill_id}",
                        BillReleaseInput(tenant_id=self.case.tenant_id, bill_id=result.bill_id),
                    )
                await self.case.set_state("final_bill_" + result.outcome)
                return
            await self.case.ask(
                "final_bill_failed", f"The final bill could not be made: {result.reason}", ["retry"], {}, priority=1
            )
