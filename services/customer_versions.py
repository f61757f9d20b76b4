"""Which customer data is valid on a day: the newest version from then or before (read only)."""

from datetime import date

from sqlmodel import Session, col, select

from models.customers import Customer
from models.master_data import CustomerVersion

FIELDS = (
    "first_name",
    "last_name",
    "company",
    "street",
    "house_number",
    "postcode",
    "city",
    "email",
    "phone",
    "billing_channel",
)


def snapshot(customer: Customer) -> dict[str, str]:
    return {name: getattr(customer, name) for name in FIELDS}


def data_on(session: Session, customer: Customer, day: date) -> dict[str, str]:
    """The customer's data valid on ``day``: the newest version from then or before, else as stored."""
    version = session.exec(
        select(CustomerVersion)
        .where(CustomerVersion.customer_id == customer.id, col(CustomerVersion.valid_from) <= day)
        .order_by(col(CustomerVersion.valid_from).desc(), col(CustomerVersion.id).desc())
    ).first()
    return dict(version.data) if version is not None else snapshot(customer)
