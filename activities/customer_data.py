"""Master data steps: a customer data version put into effect and its market state; the grid operator's master
data taken over or not."""

from pathlib import Path

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select
from temporalio import activity

from activities.errors import business_error
from models.contracts import Contract, MarketLocation
from models.customers import Customer
from models.master_data import CustomerVersion, GridMasterData
from models.process import GridMasterDataDecision, GridMasterDataView, MarketState, MarketTarget, VersionFacts
from services import customer_data, grid_master_data


class CustomerDataActivities:
    def __init__(self, engine: Engine, outbox: Path) -> None:
        self.engine = engine
        self.outbox = outbox

    @activity.defn
    def load_version(self, version_id: int) -> VersionFacts:
        with Session(self.engine) as session:
            version = _version(session, version_id)
            customer = session.get(Customer, version.customer_id)
            assert customer is not None and version.id is not None
            contracts = session.exec(
                select(Contract, MarketLocation)
                .join(MarketLocation, col(MarketLocation.id) == col(Contract.location_id))
                .where(
                    Contract.customer_id == customer.id,
                    col(Contract.supply_start).is_not(None),
                    or_(col(Contract.supply_end).is_(None), col(Contract.supply_end) > version.valid_from),
                    col(Contract.state).in_(("active", "ending", "registered", "confirmed")),
                )
                .order_by(col(Contract.id))
            ).all()
            return VersionFacts(
                tenant_id=version.tenant_id,
                version_id=version.id,
                customer_number=customer.customer_number,
                valid_from=version.valid_from,
                applied=version.applied_at is not None,
                market_state=version.market_state,
                data={k: str(v) for k, v in version.data.items()},
                changed_fields=list(version.changed_fields),
                contracts=[
                    MarketTarget(
                        contract_id=contract.id or 0,
                        contract_number=contract.contract_number,
                        division=contract.division,
                        malo_id=location.malo_id,
                    )
                    for contract, location in contracts
                ],
            )

    @activity.defn
    def apply_version(self, version_id: int) -> list[str]:
        with Session(self.engine) as session:
            changed = customer_data.apply_version(session, _version(session, version_id), self.outbox)
            session.commit()
            return changed

    @activity.defn
    def set_market_state(self, state: MarketState) -> None:
        with Session(self.engine) as session:
            version = _version(session, state.version_id)
            version.market_state = state.state
            session.add(version)
            session.commit()

    @activity.defn
    def grid_master_data(self, record_id: int) -> GridMasterDataView:
        with Session(self.engine) as session:
            row = _record(session, record_id)
            return GridMasterDataView(malo_id=row.malo_id, differences=row.differences, state=row.state)

    @activity.defn
    def decide_grid_master_data(self, decision: GridMasterDataDecision) -> None:
        with Session(self.engine) as session:
            row = _record(session, decision.record_id)
            if row.state in ("taken_over", "kept"):
                return
            if decision.take_over:
                grid_master_data.take_over(session, row, decision.decided_by)
            else:
                grid_master_data.keep_ours(session, row, decision.decided_by)
            session.commit()


def _record(session: Session, record_id: int) -> GridMasterData:
    row = session.get(GridMasterData, record_id)
    if row is None:
        raise business_error(f"grid master data {record_id} does not exist", "NotFound")
    return row


def _version(session: Session, version_id: int) -> CustomerVersion:
    version = session.get(CustomerVersion, version_id)
    if version is None:
        raise business_error(f"customer data version {version_id} does not exist", "NotFound")
    return version
