"""Customer master data with history: every change is a version with the day it takes effect, who made it and
why; a change effective today or earlier is applied at once, a later one on its day. A bill and a letter use the
data valid on their day."""

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.base import utcnow
from models.customers import Customer
from models.master_data import CustomerVersion
from models.orders import CustomerFields
from services.customer_versions import FIELDS, data_on, snapshot
from services.delivery import release_held

MARKET_FIELDS = frozenset({"first_name", "last_name", "company", "street", "house_number", "postcode", "city"})
"""Name and correspondence address: the grid operator is told (UTILMD 55109)."""
ADDRESS_FIELDS = frozenset({"street", "house_number", "postcode", "city"})


class CustomerChange(CustomerFields):
    """Changed fields only (validated like intake); ``valid_from`` empty: today."""

    valid_from: date | None = Field(None, description="the day the change takes effect")


def record_change(
    session: Session,
    customer: Customer,
    change: CustomerChange,
    *,
    key: str,
    changed_by: str,
    source: str,
    today: date,
    outbox: Path,
) -> CustomerVersion | None:
    """Record the change as a version (once per ``key``) and apply it if it is effective; None if nothing changes.

    The snapshot builds on the data valid on the effective day, so a later version is not lost."""
    assert customer.id is not None
    existing = _by_key(session, customer.tenant_id, key)
    if existing is not None:
        return existing
    valid_from = change.valid_from or today
    _baseline(session, customer)
    before = data_on(session, customer, valid_from)
    changed = {name: value for name, value in change.changes().items() if before.get(name) != value}
    if not changed:
        return None
    session.execute(
        insert(CustomerVersion)
        .values(
            tenant_id=customer.tenant_id,
            customer_id=customer.id,
            business_key=key,
            valid_from=valid_from,
            data=before | changed,
            changed_fields=sorted(changed),
            changed_by=changed_by,
            source=source,
            market_state="pending" if MARKET_FIELDS & set(changed) else "not_needed",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "business_key"])
    )
    version = _by_key(session, customer.tenant_id, key)
    assert version is not None
    if valid_from <= today:
        apply_version(session, version, outbox)
    return version


BASELINE_DAY = date(1900, 1, 1)


def _baseline(session: Session, customer: Customer) -> None:
    """Before the first change, the data as it was (from intake) becomes the first version: every earlier day keeps
    its data (a bill of an earlier period shows the address of then)."""
    session.execute(
        insert(CustomerVersion)
        .values(
            tenant_id=customer.tenant_id,
            customer_id=customer.id,
            business_key=f"baseline:{customer.id}",
            valid_from=BASELINE_DAY,
            data=snapshot(customer),
            changed_fields=[],
            changed_by="",
            source="intake",
            applied_at=customer.created_at,
            market_state="not_needed",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "business_key"])
    )


def _by_key(session: Session, tenant_id: str, key: str) -> CustomerVersion | None:
    return session.exec(
        select(CustomerVersion).where(CustomerVersion.tenant_id == tenant_id, CustomerVersion.business_key == key)
    ).first()


def apply_version(session: Session, version: CustomerVersion, outbox: Path) -> list[str]:
    """Make the version the customer's current data (once); a new address clears a returned-mail mark and sends
    the letters that were held. Returns the fields that changed."""
    if version.applied_at is not None:
        return []
    customer = session.get(Customer, version.customer_id, with_for_update=True)
    assert customer is not None and customer.id is not None
    changed = [name for name in FIELDS if name in version.data and getattr(customer, name) != version.data[name]]
    for name in changed:
        setattr(customer, name, version.data[name])
    version.applied_at = utcnow()
    session.add_all([customer, version])
    session.flush()
    if set(changed) & (ADDRESS_FIELDS | {"email"}) and customer.address_unreliable_since is not None:
        customer.address_unreliable_since = None
        session.add(customer)
        session.flush()
        release_held(session, customer.id, outbox)
    return changed


def history(session: Session, customer_id: int) -> list[dict[str, Any]]:
    """Every version, oldest first."""
    rows = session.exec(
        select(CustomerVersion)
        .where(CustomerVersion.customer_id == customer_id)
        .order_by(col(CustomerVersion.valid_from), col(CustomerVersion.id))
    ).all()
    return [
        {
            "valid_from": v.valid_from,
            "changed_fields": v.changed_fields,
            "data": v.data,
            "changed_by": v.changed_by,
            "source": v.source,
            "applied_at": v.applied_at,
            "market_state": v.market_state,
            "created_at": v.created_at,
        }
        for v in rows
    ]
