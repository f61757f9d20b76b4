"""Contract state, corrections and the budget-billing plan of a starting supply."""

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select
from temporalio import activity

from activities.errors import business_error
from core.logging import get_logger
from models.base import utcnow
from models.contracts import (
    BudgetInstalment,
    BudgetPlan,
    Contract,
    MarketLocation,
    TariffPrice,
)
from models.customers import Customer
from models.parties import MarketPartner
from models.process import (
    BudgetPlanSummary,
    ContractCorrection,
    ContractRef,
    ContractSnapshot,
    ContractStateChange,
)
from rules import budget
from rules.ids import InvalidIdentifier, validate_malo_id

log = get_logger()


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise business_error(f"contract {contract_id} does not exist", "ContractNotFound")
    return contract


def price_valid_on(session: Session, tariff_id: int, on: date) -> TariffPrice:
    price = session.exec(
        select(TariffPrice)
        .where(TariffPrice.tariff_id == tariff_id, TariffPrice.valid_from <= on)
        .order_by(col(TariffPrice.valid_from).desc())
    ).first()
    if price is None:
        raise business_error(f"tariff {tariff_id} has no price valid on {on}", "NoPriceVersion")
    return price


class ContractActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def load_contract(self, ref: ContractRef) -> ContractSnapshot:
        with Session(self.engine) as session:
            contract = get_contract(session, ref.contract_id)
            customer = session.get(Customer, contract.customer_id)
            location = session.get(MarketLocation, contract.location_id)
            assert customer is not None and location is not None
            return ContractSnapshot(
                tenant_id=contract.tenant_id,
                contract_id=ref.contract_id,
                contract_number=contract.contract_number,
                customer_number=customer.customer_number,
                division=contract.division,
                malo_id=location.malo_id,
                grid_operator_id=location.grid_operator_id,
                previous_supplier_id=contract.previous_supplier_id,
                cancel_previous=contract.cancel_previous,
                wished_start=contract.wished_start,
                state=contract.state,
                supply_start=contract.supply_start,
                supply_end=contract.supply_end,
                notice_period_days=contract.notice_period_days,
                minimum_term_until=contract.minimum_term_until,
                annual_consumption_kwh=contract.annual_consumption_kwh,
            )

    @activity.defn
    def set_contract_state(self, change: ContractStateChange) -> None:
        with Session(self.engine) as session:
            contract = get_contract(session, change.contract_id)
            contract.state = change.state
            if change.supply_start is not None:
                contract.supply_start = change.supply_start
            if change.supply_end is not None:
                contract.supply_end = change.supply_end
            contract.updated_at = utcnow()
            session.add(contract)
            session.commit()
            log.info("contract state", tenant=contract.tenant_id, contract=contract.contract_number, state=change.state)

    @activity.defn
    def correct_contract(self, correction: ContractCorrection) -> ContractSnapshot:
        """Apply a clerk's correction (validated like intake) and return the contract as it is now."""
        with Session(self.engine) as session:
            contract = get_contract(session, correction.contract_id)
            location = session.get(MarketLocation, contract.location_id)
            assert location is not None
            if correction.malo_id is not None:
                try:
                    location.malo_id = validate_malo_id(correction.malo_id)
                except InvalidIdentifier as error:
                    raise business_error(str(error), "InvalidCorrection") from error
            if correction.grid_operator_id is not None:
                if session.get(MarketPartner, correction.grid_operator_id) is None:
                    raise business_error(
                        f"grid operator {correction.grid_operator_id} is not in the partner directory",
                        "InvalidCorrection",
                    )
                location.grid_operator_id = correction.grid_operator_id
            if correction.wished_start is not None:
                contract.wished_start = correction.wished_start
            contract.updated_at = utcnow()
            session.add_all([contract, location])
            session.commit()
        return self.load_contract(ContractRef(contract_id=correction.contract_id))

    @activity.defn
    def create_budget_plan(self, ref: ContractRef) -> BudgetPlanSummary:
        """Compute the budget-billing plan from the forecast consumption and the tariff price at supply start."""
        with Session(self.engine) as session:
            contract = get_contract(session, ref.contract_id)
            if contract.supply_start is None:
                raise business_error(f"contract {contract.contract_number} has no supply start", "NotActive")
            key = f"budget-plan:{contract.id}:{contract.supply_start.isoformat()}"
            existing = session.exec(select(BudgetPlan).where(BudgetPlan.business_key == key)).first()
            if existing is None:
                existing = self._insert_plan(session, contract, key)
            first_due = session.exec(
                select(col(BudgetInstalment.due_date))
                .where(BudgetInstalment.plan_id == existing.id)
                .order_by(col(BudgetInstalment.due_date))
            ).first()
            assert existing.id is not None and first_due is not None
            return BudgetPlanSummary(
                plan_id=existing.id,
                instalment=existing.instalment,
                first_due=first_due,
                annual_gross=existing.annual_gross,
            )

    def _insert_plan(self, session: Session, contract: Contract, key: str) -> BudgetPlan:
        assert contract.supply_start is not None and contract.id is not None
        version = price_valid_on(session, contract.tariff_id, contract.supply_start)
        plan = budget.budget_plan(
            contract.annual_consumption_kwh,
            budget.PriceVersion(
                valid_from=version.valid_from,
                working_price=version.working_price,
                base_price_per_year=version.base_price_per_year,
            ),
            budget.first_instalment_due(contract.supply_start),
            contract.division,
        )
        statement = (
            insert(BudgetPlan)
            .values(
                tenant_id=contract.tenant_id,
                contract_id=contract.id,
                business_key=key,
                valid_from=contract.supply_start,
                annual_net=plan.annual.net,
                annual_vat=plan.annual.vat,
                annual_gross=plan.annual.gross,
                instalment=plan.instalment,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["business_key"])
            .returning(col(BudgetPlan.id))
        )
        plan_id = session.execute(statement).scalar()
        if plan_id is not None:
            session.add_all(
                BudgetInstalment(plan_id=plan_id, due_date=item.due_date, amount=item.amount)
                for item in plan.instalments
            )
        session.commit()
        return session.exec(select(BudgetPlan).where(BudgetPlan.business_key == key)).one()
