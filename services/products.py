"""Product changes (the customer's tariff from a day on) and budget plans recalculated for a new price."""

from datetime import date

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.base import utcnow
from models.contracts import BudgetInstalment, BudgetPlan, Contract, ContractTariff, Tariff, TariffPrice
from rules import budget

CHANGEABLE = ("active", "registered", "confirmed")


class ProductChangeRefused(ValueError):
    """The change cannot be made (with the field it concerns)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def tariff_on(session: Session, contract: Contract, day: date) -> int:
    """The contract's tariff on ``day``: the newest product change from then or before, else its own tariff."""
    switch = session.exec(
        select(ContractTariff)
        .where(ContractTariff.contract_id == contract.id, col(ContractTariff.valid_from) <= day)
        .order_by(col(ContractTariff.valid_from).desc())
    ).first()
    return switch.tariff_id if switch is not None else contract.tariff_id


def change_product(
    session: Session, contract: Contract, tariff_code: str, effective_from: date, changed_by: str, today: date
) -> Tariff:
    """Record the change (once per contract and day; a repeated request returns the same); in effect at once
    when ``effective_from`` is today. Billing prorates at the change."""
    tariff = session.exec(
        select(Tariff).where(Tariff.tenant_id == contract.tenant_id, Tariff.code == tariff_code)
    ).first()
    if tariff is None or tariff.id is None:
        raise ProductChangeRefused("tariff_code", f"tariff {tariff_code} does not exist")
    if tariff.division != contract.division:
        raise ProductChangeRefused(
            "tariff_code", f"tariff {tariff_code} is for {tariff.division}, not {contract.division}"
        )
    if contract.supply_start is None or contract.state not in CHANGEABLE:
        raise ProductChangeRefused("contract", f"contract {contract.contract_number} is {contract.state}")
    if effective_from < today:
        raise ProductChangeRefused("effective_from", "a product change cannot take effect in the past")
    if contract.billed_until is not None and effective_from < contract.billed_until:
        raise ProductChangeRefused("effective_from", f"the contract is billed until {contract.billed_until}")
    if contract.supply_end is not None and effective_from >= contract.supply_end:
        raise ProductChangeRefused("effective_from", f"the supply ends on {contract.supply_end}")
    if (
        session.exec(
            select(TariffPrice.id).where(TariffPrice.tariff_id == tariff.id, TariffPrice.valid_from <= effective_from)
        ).first()
        is None
    ):
        raise ProductChangeRefused("tariff_code", f"tariff {tariff_code} has no price valid on {effective_from}")
    existing = session.exec(
        select(ContractTariff).where(
            ContractTariff.contract_id == contract.id, ContractTariff.valid_from == effective_from
        )
    ).first()
    if existing is not None and existing.tariff_id == tariff.id:
        return tariff
    if tariff_on(session, contract, effective_from) == tariff.id:
        raise ProductChangeRefused("tariff_code", f"the contract is on tariff {tariff_code} then already")
    first = session.exec(select(ContractTariff.id).where(ContractTariff.contract_id == contract.id)).first()
    rows = [] if first is not None else [(contract.tariff_id, contract.supply_start, "")]
    rows.append((tariff.id, effective_from, changed_by))
    for tariff_id, valid_from, by in rows:
        session.execute(
            insert(ContractTariff)
            .values(
                contract_id=contract.id, tariff_id=tariff_id, valid_from=valid_from, changed_by=by, created_at=utcnow()
            )
            .on_conflict_do_update(index_elements=["contract_id", "valid_from"], set_={"tariff_id": tariff_id})
        )
    if effective_from <= today:
        contract.tariff_id = tariff.id
        session.add(contract)
    session.flush()
    return tariff


def switch_due(session: Session, contract: Contract, today: date) -> int:
    """Bring the contract's current tariff up to date with its changes; returns it."""
    contract.tariff_id = tariff_on(session, contract, today)
    session.add(contract)
    session.flush()
    return contract.tariff_id


def replan(session: Session, contract: Contract, from_day: date, issued_on: date, key: str) -> BudgetPlan:
    """A new budget plan with the price valid on ``from_day`` (of the tariff then); the open plan ends where the
    new one starts. Once per ``key``."""
    existing = session.exec(select(BudgetPlan).where(BudgetPlan.business_key == key)).first()
    if existing is not None:
        return existing
    tariff_id = tariff_on(session, contract, from_day)
    version = session.exec(
        select(TariffPrice)
        .where(TariffPrice.tariff_id == tariff_id, TariffPrice.valid_from <= from_day)
        .order_by(col(TariffPrice.valid_from).desc())
    ).first()
    assert version is not None and contract.id is not None
    first_due = budget.first_instalment_due(from_day, issued_on=issued_on)
    plan = budget.budget_plan(
        contract.annual_consumption_kwh,
        budget.PriceVersion(
            valid_from=version.valid_from,
            working_price=version.working_price,
            base_price_per_year=version.base_price_per_year,
        ),
        first_due,
        contract.division,
    )
    for old in session.exec(
        select(BudgetPlan).where(BudgetPlan.contract_id == contract.id, col(BudgetPlan.ended_on).is_(None))
    ):
        old.ended_on = first_due
        session.add(old)
    new = BudgetPlan(
        tenant_id=contract.tenant_id,
        contract_id=contract.id,
        business_key=key,
        valid_from=first_due,
        annual_net=plan.annual.net,
        annual_vat=plan.annual.vat,
        annual_gross=plan.annual.gross,
        instalment=plan.instalment,
    )
    session.add(new)
    session.flush()
    assert new.id is not None
    session.add_all(BudgetInstalment(plan_id=new.id, due_date=i.due_date, amount=i.amount) for i in plan.instalments)
    session.flush()
    return new
