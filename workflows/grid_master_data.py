"""The grid operator's master data differs from ours ``grid-master-data/{tenant}/{record}``: a clerk decides.

``take_over`` makes the grid operator's data ours (address, grid operator, MeLo); ``keep_ours`` keeps ours (the
clerk clarifies it with the grid operator). Due in two working days; then it moves to the supervisors.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.customer_data import CustomerDataActivities
    from models.process import GridMasterDataCase, GridMasterDataDecision, ProcessStatus
    from rules.calendar import add_working_days, at_local_time
    from workflows import search
    from workflows.casework import ClerkWorkflow
    from workflows.common import DB_ACTIVITY

QUEUE = "master_data"


@workflow.defn
class GridMasterDataWorkflow(ClerkWorkflow):
    @workflow.run
    async def run(self, case: GridMasterDataCase) -> ProcessStatus:
        self.case.tenant_id = case.tenant_id
        record = await workflow.execute_activity_method(
            CustomerDataActivities.grid_master_data, case.record_id, **DB_ACTIVITY
        )
        workflow.upsert_search_attributes(
            [search.TENANT.value_set(case.tenant_id), search.MALO.value_set(record.malo_id)]
        )
        fields = ", ".join(str(d["field"]) for d in record.differences)
        due = at_local_time(add_working_days(self.case.today(), 2), 18)
        task_id = await self.case.open_task(
            "grid_master_data_differs",
            f"Master data of MaLo {record.malo_id} from the grid operator differs: {fields}",
            ["take_over", "keep_ours"],
            {"record_id": case.record_id, "differences": record.differences},
            queue=QUEUE,
            due_at=due,
        )
        decision = await self.case.decision(task_id, escalate_at=due)
        await workflow.execute_activity_method(
            CustomerDataActivities.decide_grid_master_data,
            GridMasterDataDecision(
                record_id=case.record_id, take_over=decision.decision == "take_over", decided_by=decision.decided_by
            ),
            **DB_ACTIVITY,
        )
        await self.case.set_state("taken_over" if decision.decision == "take_over" else "kept")
        return self.status()
