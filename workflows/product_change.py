"""A product change ``product-change/{tenant}/{contract}/{day}``: the new budget plan, the confirmation letter,
and the contract on its new tariff from the day (billing prorates at the change)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentActivities
    from activities.products import ProductActivities
    from models.process import ProcessStatus, ProductChange, Replan, TariffLetter
    from rules.calendar import day_start
    from workflows import search
    from workflows.common import DB_ACTIVITY


@workflow.defn
class ProductChangeWorkflow:
    def __init__(self) -> None:
        self.state = "started"
        self.waiting_for: str | None = None

    @workflow.query
    def status(self) -> ProcessStatus:
        return ProcessStatus(state=self.state, waiting_for=self.waiting_for)

    @workflow.run
    async def run(self, change: ProductChange) -> ProcessStatus:
        workflow.upsert_search_attributes([search.TENANT.value_set(change.tenant_id)])
        key = f"product-change:{change.contract_id}:{change.effective_from}"
        plan_id = await workflow.execute_activity_method(
            ProductActivities.replan_budget,
            Replan(contract_id=change.contract_id, from_day=change.effective_from, key=key),
            **DB_ACTIVITY,
        )
        await workflow.execute_activity_method(
            DocumentActivities.tariff_letter,
            TariffLetter(
                contract_id=change.contract_id,
                kind="product_change",
                effective_from=change.effective_from,
                plan_id=plan_id,
                old_tariff_id=change.old_tariff_id,
                key=key,
            ),
            **DB_ACTIVITY,
        )
        self.state = "confirmed"
        switch_at = day_start(change.effective_from, "strom")
        if switch_at > workflow.now():
            self.waiting_for = f"the change on {change.effective_from}"
            await workflow.sleep(switch_at - workflow.now())
            self.waiting_for = None
        await workflow.execute_activity_method(ProductActivities.switch_tariff, change.contract_id, **DB_ACTIVITY)
        self.state = "switched"
        return self.status()
