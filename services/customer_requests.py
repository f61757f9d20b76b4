"""What a customer's contact changes on file: a meter reading, bank details, master data, a new address, the
address that came back as undeliverable, and the contract at a new address after a move."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, select

from models.base import utcnow
from models.contact_input import MasterDataRequest, MoveRequest
from models.contracts import Contract, MarketLocation, Tariff
from models.customers import ContractAccount, Customer, SepaMandate
from models.master_data import CustomerVersion
from models.orders import ContractOrder
from models.readings import MeterReading
from models.tenancy import Tenant
from rules.calendar import BERLIN
from services import customer_data
from services.delivery import release_held
from services.final_reading import locations
from services.intake import intake

IMPLAUSIBLE_FACTOR = 3
"""A customer's reading is questioned when it means more than three times the forecast consumption."""
MINIMUM_EXPECTED_KWH = Decimal(100)


@dataclass(frozen=True)
class LastReading:
    value: Decimal
    on: date


def last_reading(session: Session, contract: Contract, before: date) -> LastReading | None:
    """The latest register reading of the contract's locations before ``before``."""
    row = session.execute(
        text(
            "SELECT value, at FROM meter_reading WHERE tenant_id = :tenant AND location_id = ANY(:locations)"
            " AND period_start IS NULL AND at < :before ORDER BY at DESC, id DESC LIMIT 1"
        ),
        {
            "tenant": contract.tenant_id,
            "locations": locations(session, contract),
            "before": datetime(before.year, before.month, before.day, tzinfo=BERLIN),
        },
    ).first()
    return None if row is None else LastReading(Decimal(row.value), row.at.astimezone(BERLIN).date())


def reading_problem(session: Session, contract: Contract, read_on: date, value: Decimal, today: date) -> str | None:
    """Why a reading the customer gives is not plausible; None if it is."""
    if read_on > today:
        return f"the reading is dated {read_on}, in the future"
    if contract.supply_start is None or read_on < contract.supply_start:
        return f"the reading of {read_on} is not within the supply of contract {contract.contract_number}"
    last = last_reading(session, contract, read_on)
    if last is None:
        return None
    if value < last.value:
        return f"{value} is lower than the last reading {last.value} of {last.on} (meter change or typo?)"
    days = max((read_on - last.on).days, 1)
    expected = max(contract.annual_consumption_kwh * days / 365, MINIMUM_EXPECTED_KWH)
    consumed = value - last.value
    if consumed > IMPLAUSIBLE_FACTOR * expected:
        return (
            f"{consumed} kWh in {days} days since {last.on} is more than {IMPLAUSIBLE_FACTOR} times the forecast "
            f"({expected.quantize(Decimal('1'))} kWh)"
        )
    return None


def store_reading(session: Session, contract: Contract, read_on: date, value: Decimal, entered_by: str) -> int:
    """The customer's reading as a true value on the MaLo (billing takes it); once per day and value."""
    location = session.get(MarketLocation, contract.location_id)
    assert location is not None
    at = datetime(read_on.year, read_on.month, read_on.day, tzinfo=BERLIN)
    existing = session.exec(
        select(MeterReading.id).where(
            MeterReading.tenant_id == contract.tenant_id,
            MeterReading.location_id == location.malo_id,
            MeterReading.at == at,
            MeterReading.value == value,
            MeterReading.source == "customer",
        )
    ).first()
    if existing is not None:
        return existing
    reading = MeterReading(
        tenant_id=contract.tenant_id,
        location_id=location.malo_id,
        value=value,
        quality="220",
        at=at,
        source="customer",
        entered_by=entered_by,
    )
    session.add(reading)
    session.flush()
    assert reading.id is not None
    return reading.id


def change_bank_details(
    session: Session, contract: Contract, iban: str, holder: str, signed_on: date, key: str
) -> SepaMandate:
    """A new SEPA mandate for the contract's account; the account's other active mandates end. Once per key."""
    reference = f"{contract.contract_number[:24]}-{key}"[:35]
    mandate = session.exec(
        select(SepaMandate).where(SepaMandate.tenant_id == contract.tenant_id, SepaMandate.reference == reference)
    ).first()
    if mandate is None:
        for old in session.exec(
            select(SepaMandate).where(SepaMandate.account_id == contract.account_id, SepaMandate.state == "active")
        ).all():
            old.state, old.stopped_reason = "replaced", f"new bank details ({reference})"
            session.add(old)
        mandate = SepaMandate(
            tenant_id=contract.tenant_id,
            account_id=contract.account_id,
            reference=reference,
            iban=iban,
            account_holder=holder,
            signed_on=signed_on,
            created_at=utcnow(),
        )
        session.add(mandate)
        session.flush()
    contract.mandate_id = mandate.id
    session.add(contract)
    session.flush()
    return mandate


def change_master_data(
    session: Session,
    customer: Customer,
    change: MasterDataRequest,
    *,
    key: str,
    changed_by: str,
    today: date,
    outbox: Path,
    valid_from: date | None = None,
) -> CustomerVersion | None:
    """Record the change as a version of the customer's data (in effect at once unless dated later); a new
    postal address clears a returned-mail mark and sends the held letters. None when nothing changes."""
    return customer_data.record_change(
        session,
        customer,
        customer_data.CustomerChange(**change.changes(), valid_from=valid_from),
        key=key,
        changed_by=changed_by,
        source="contact",
        today=today,
        outbox=outbox,
    )


def mark_returned_mail(session: Session, customer: Customer) -> None:
    """A letter came back: the postal address is not reliable; prints are held from now on."""
    if customer.address_unreliable_since is None:
        customer.address_unreliable_since = utcnow()
        session.add(customer)
        session.flush()


def clear_address(session: Session, customer: Customer, outbox: Path) -> list[Path]:
    """The address is right (again): deliver what was held."""
    customer.address_unreliable_since = None
    session.add(customer)
    session.flush()
    assert customer.id is not None
    return release_held(session, customer.id, outbox)


def move_in_contract(session: Session, contract: Contract, move: MoveRequest, today: date) -> Contract:
    """The contract at the new address (move-in, E01, same tariff and account); the same one on a retry."""
    assert move.new_supply is not None
    tenant = session.get(Tenant, contract.tenant_id)
    customer = session.get(Customer, contract.customer_id)
    tariff = session.get(Tariff, contract.tariff_id)
    account = session.get(ContractAccount, contract.account_id)
    assert tenant is not None and customer is not None and tariff is not None and account is not None
    supply = move.new_supply
    order = ContractOrder.model_validate(
        {
            "contract_number": f"{contract.contract_number[:30]}-{move.moved_out_on:%y%m%d}",
            "division": contract.division,
            "tariff_code": tariff.code,
            "wished_start": move.moved_out_on,
            "annual_consumption_kwh": supply.annual_consumption_kwh or contract.annual_consumption_kwh,
            "transaction_reason": "E01",
            "account_number": account.account_number,
            "customer": {
                "customer_number": customer.customer_number,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "company": customer.company,
                "street": move.street,
                "house_number": move.house_number,
                "postcode": move.postcode,
                "city": move.city,
                "email": customer.email,
                "phone": customer.phone,
            },
            "location": {
                "malo_id": supply.malo_id,
                "grid_operator_id": supply.grid_operator_id,
                "street": move.street,
                "house_number": move.house_number,
                "postcode": move.postcode,
                "city": move.city,
                "meter_number": supply.meter_number,
            },
        }
    )
    new, _ = intake(session, tenant, order, today)
    if contract.mandate_id is not None and new.mandate_id is None:
        new.mandate_id = contract.mandate_id
        session.add(new)
    session.flush()
    return new


def move_address(
    session: Session, customer: Customer, move: MoveRequest, *, key: str, changed_by: str, today: date, outbox: Path
) -> CustomerVersion | None:
    """The customer's postal address from the move-out day on (letters go there from then)."""
    change = MasterDataRequest(
        action="master_data", street=move.street, house_number=move.house_number, postcode=move.postcode, city=move.city
    )
    return change_master_data(
        session,
        customer,
        change,
        key=key,
        changed_by=changed_by,
        today=today,
        outbox=outbox,
        valid_from=move.moved_out_on,
    )
