"""Work of the end-of-supply processes: find the contract, watch for and ask for the final reading."""

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select
from temporalio import activity

from activities.contracts import get_contract
from activities.errors import business_error
from activities.market import require_route
from models.contracts import Contract, MarketLocation
from models.process import (
    ContractLookup,
    EnteredReading,
    FinalReadingCheck,
    FinalReadingOrder,
    ReadingWatch,
)
from models.tenancy import Tenant
from services import final_reading
from services.billing import NotBillable
from services.reading_requests import ReadingOrder, Transport, queue_reading_order


class SupplyEndActivities:
    def __init__(self, engine: Engine, transport: Transport) -> None:
        self.engine = engine
        self.transport = transport

    @activity.defn
    def find_contract(self, lookup: ContractLookup) -> int | None:
        """The tenant's contract supplying the MaLo (the newest that has started), if any."""
        with Session(self.engine) as session:
            return session.exec(
                select(Contract.id)
                .join(MarketLocation, col(MarketLocation.id) == col(Contract.location_id))
                .where(
                    Contract.tenant_id == lookup.tenant_id,
                    MarketLocation.malo_id == lookup.malo_id,
                    col(Contract.supply_start).is_not(None),
                )
                .order_by(col(Contract.supply_start).desc())
            ).first()

    @activity.defn
    def watch_readings(self, watch: ReadingWatch) -> None:
        with Session(self.engine) as session:
            final_reading.watch(session, get_contract(session, watch.contract_id), watch.workflow_id, watch.active)
            session.commit()

    @activity.defn
    def final_reading_present(self, check: FinalReadingCheck) -> bool:
        with Session(self.engine) as session:
            return final_reading.final_reading(session, get_contract(session, check.contract_id), check.day) is not None

    @activity.defn
    def order_final_reading(self, order: FinalReadingOrder) -> int:
        """Ask the metering operator for the final reading (17102) or complain that it is missing (17113)."""
        with Session(self.engine) as session:
            contract = get_contract(session, order.contract_id)
            tenant = session.get(Tenant, contract.tenant_id)
            location = session.get(MarketLocation, contract.location_id)
            assert tenant is not None and location is not None
            sender = tenant.gas_market_partner_id if contract.division == "gas" else tenant.market_partner_id
            if not sender:
                raise business_error(
                    f"tenant {tenant.id} has no code number for {contract.division}", "TenantIncomplete"
                )
            melo = session.execute(
                text("SELECT melo_id FROM meter WHERE location_id = :id AND melo_id IS NOT NULL ORDER BY id DESC"),
                {"id": location.id},
            ).scalar()
            message = queue_reading_order(
                session,
                ReadingOrder(
                    tenant_id=tenant.id,
                    division=contract.division,
                    sender=sender,
                    receiver=location.grid_operator_id,
                    malo_id=location.malo_id,
                    location_id=melo or location.malo_id,
                    day=order.day,
                    business_key=order.business_key,
                    complaint=order.complaint,
                    contact_name=tenant.name,
                    contact=tenant.email,
                    workflow_id=order.workflow_id,
                ),
            )
            session.commit()
            assert message.id is not None and message.receiver and message.interchange_ref
            route = require_route(session, message)
            self.transport.send(tenant.id, message.receiver, message.interchange_ref, message.raw, route)
            if message.state != "sent":
                message.state = "sent"
                session.add(message)
                session.commit()
            return message.id

    @activity.defn
    def enter_final_reading(self, entered: EnteredReading) -> str:
        """Store the clerk's final reading (customer's value or estimate); returns the value."""
        with Session(self.engine) as session:
            contract = get_contract(session, entered.contract_id)
            try:
                value = final_reading.enter(session, contract, entered.day, entered.value, entered.entered_by)
            except (NotBillable, ValueError) as refused:
                raise business_error(f"no final reading can be estimated: {refused}", "NoEstimate") from refused
            session.commit()
            return str(value)
