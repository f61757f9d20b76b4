"""Contract intake: validate an order against master data and store it once per contract number."""

from datetime import date

from sqlmodel import Session, col, select

from models.base import utcnow
from models.contracts import Contract, ContractState, MarketLocation, Meter, Tariff
from models.customers import ContractAccount, Customer, SepaMandate
from models.orders import ContractOrder
from models.parties import MarketPartner
from models.tenancy import Tenant
from rules.calendar import earliest_supply_start


class OrderRejected(ValueError):
    """The order does not fit the rules or the master data; ``field`` names the offending input."""

    def __init__(self, field: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def supply_start_workflow_id(tenant_id: str, contract_number: str) -> str:
    return f"supply-start/{tenant_id}/{contract_number}"


def intake(session: Session, tenant: Tenant, order: ContractOrder, today: date) -> tuple[Contract, bool]:
    """Store the order; returns the contract and whether it is new (a repeated order returns the first)."""
    existing = session.exec(
        select(Contract).where(Contract.tenant_id == tenant.id, Contract.contract_number == order.contract_number)
    ).first()
    if existing is not None:
        return existing, False
    _check(session, tenant, order, today)
    tariff = session.exec(select(Tariff).where(Tariff.tenant_id == tenant.id, Tariff.code == order.tariff_code)).one()
    customer = _customer(session, tenant, order)
    account = _account(session, tenant, order, customer)
    location = _location(session, tenant, order)
    mandate = _mandate(session, tenant, order, account)
    contract = Contract(
        tenant_id=tenant.id,
        contract_number=order.contract_number,
        customer_id=_id(customer),
        account_id=_id(account),
        location_id=_id(location),
        tariff_id=_id(tariff),
        mandate_id=mandate.id if mandate else None,
        division=order.division,
        state=ContractState.ORDERED,
        transaction_reason=order.transaction_reason,
        wished_start=order.wished_start,
        annual_consumption_kwh=order.annual_consumption_kwh,
        previous_supplier_id=order.previous_supplier.partner_id if order.previous_supplier else None,
        cancel_previous=bool(order.previous_supplier and order.previous_supplier.cancel),
        previous_customer_number=order.previous_supplier.customer_number if order.previous_supplier else None,
        workflow_id=supply_start_workflow_id(tenant.id, order.contract_number),
    )
    session.add(contract)
    session.flush()
    return contract, True


def _check(session: Session, tenant: Tenant, order: ContractOrder, today: date) -> None:
    earliest = earliest_supply_start(today)
    if order.wished_start < earliest:
        raise OrderRejected(
            ("wished_start",),
            f"supply start {order.wished_start} is no longer possible under the market rules; "
            f"the earliest start is {earliest}",
        )
    tariff = session.exec(select(Tariff).where(Tariff.tenant_id == tenant.id, Tariff.code == order.tariff_code)).first()
    if tariff is None:
        raise OrderRejected(("tariff_code",), f"tariff {order.tariff_code} does not exist")
    if tariff.division != order.division:
        raise OrderRejected(("tariff_code",), f"tariff {order.tariff_code} is a {tariff.division} tariff")
    if order.division == "gas" and not tenant.gas_market_partner_id:
        raise OrderRejected(("division",), f"tenant {tenant.id} has no DVGW code number for gas")
    if session.get(MarketPartner, order.location.grid_operator_id) is None:
        raise OrderRejected(
            ("location", "grid_operator_id"),
            f"grid operator {order.location.grid_operator_id} is not in the market-partner directory",
        )
    previous = order.previous_supplier
    if previous is not None and session.get(MarketPartner, previous.partner_id) is None:
        raise OrderRejected(
            ("previous_supplier", "partner_id"),
            f"supplier {previous.partner_id} is not in the market-partner directory",
        )
    if order.transaction_reason == "E03" and previous is None:
        raise OrderRejected(("previous_supplier",), "a supplier switch (E03) needs the previous supplier")
    location = session.exec(
        select(MarketLocation).where(
            MarketLocation.tenant_id == tenant.id, MarketLocation.malo_id == order.location.malo_id
        )
    ).first()
    if location is not None:
        running = session.exec(
            select(Contract.contract_number).where(
                Contract.location_id == location.id,
                col(Contract.state).notin_([ContractState.CANCELLED, ContractState.ENDED]),
            )
        ).first()
        if running is not None:
            raise OrderRejected(
                ("location", "malo_id"),
                f"MaLo {order.location.malo_id} already has contract {running} of this tenant",
            )


def _customer(session: Session, tenant: Tenant, order: ContractOrder) -> Customer:
    data = order.customer
    customer = session.exec(
        select(Customer).where(Customer.tenant_id == tenant.id, Customer.customer_number == data.customer_number)
    ).first()
    if customer is None:
        customer = Customer(tenant_id=tenant.id, **data.model_dump())
        session.add(customer)
        session.flush()
    return customer


def _account(session: Session, tenant: Tenant, order: ContractOrder, customer: Customer) -> ContractAccount:
    number = order.account_number or order.customer.customer_number
    account = session.exec(
        select(ContractAccount).where(ContractAccount.tenant_id == tenant.id, ContractAccount.account_number == number)
    ).first()
    if account is None:
        account = ContractAccount(tenant_id=tenant.id, account_number=number, customer_id=_id(customer))
        session.add(account)
        session.flush()
    elif account.customer_id != customer.id:
        raise OrderRejected(("account_number",), f"contract account {number} belongs to another customer")
    return account


def _location(session: Session, tenant: Tenant, order: ContractOrder) -> MarketLocation:
    data = order.location
    location = session.exec(
        select(MarketLocation).where(MarketLocation.tenant_id == tenant.id, MarketLocation.malo_id == data.malo_id)
    ).first()
    if location is None:
        location = MarketLocation(
            tenant_id=tenant.id,
            malo_id=data.malo_id,
            division=order.division,
            grid_operator_id=data.grid_operator_id,
            street=data.street or order.customer.street,
            house_number=data.house_number or order.customer.house_number,
            postcode=data.postcode or order.customer.postcode,
            city=data.city or order.customer.city,
        )
        session.add(location)
        session.flush()
        if data.meter_number:
            session.add(Meter(tenant_id=tenant.id, location_id=_id(location), meter_number=data.meter_number))
    return location


def _mandate(session: Session, tenant: Tenant, order: ContractOrder, account: ContractAccount) -> SepaMandate | None:
    if order.sepa is None:
        return None
    reference = order.sepa.mandate_reference or f"{tenant.id[:8].upper()}-{order.contract_number}"[:35]
    mandate = session.exec(
        select(SepaMandate).where(SepaMandate.tenant_id == tenant.id, SepaMandate.reference == reference)
    ).first()
    if mandate is None:
        mandate = SepaMandate(
            tenant_id=tenant.id,
            account_id=_id(account),
            reference=reference,
            iban=order.sepa.iban,
            bic=order.sepa.bic,
            account_holder=order.sepa.account_holder,
            signed_on=order.sepa.signed_on,
            created_at=utcnow(),
        )
        session.add(mandate)
        session.flush()
    return mandate


def _id(row: object) -> int:
    value = getattr(row, "id", None)
    assert isinstance(value, int)
    return value
