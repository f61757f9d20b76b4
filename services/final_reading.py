"""The final meter reading of an ended supply: watched for, looked up, or entered by a clerk."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from models.contracts import Contract, MarketLocation
from models.readings import MeterReading, ReadingWait
from rules.calendar import BERLIN
from services.billing import estimate_reading_on

FINAL_READING_SQL = """
SELECT r.value, r.quality FROM meter_reading r
WHERE r.tenant_id = :tenant AND r.period_start IS NULL AND r.location_id = ANY(:locations)
  AND r.at >= CAST(:day AS date) - 1 AND r.at < CAST(:day AS date) + 2
  AND (r.at AT TIME ZONE 'Europe/Berlin')::date = :day
ORDER BY r.id DESC LIMIT 1
"""


def locations(session: Session, contract: Contract) -> list[str]:
    """The MaLo and the MeLos of the contract's meters: the ids readings arrive for."""
    location = session.get(MarketLocation, contract.location_id)
    assert location is not None
    melos = session.execute(
        text("SELECT melo_id FROM meter WHERE location_id = :id AND melo_id IS NOT NULL"), {"id": location.id}
    ).scalars()
    return [location.malo_id, *melos]


def watch(session: Session, contract: Contract, workflow_id: str, active: bool) -> None:
    """Let inbound MSCONS for the contract's locations signal the workflow (or stop it)."""
    for location_id in locations(session, contract):
        session.execute(
            insert(ReadingWait)
            .values(tenant_id=contract.tenant_id, location_id=location_id, workflow_id=workflow_id, active=active)
            .on_conflict_do_update(index_elements=["workflow_id", "location_id"], set_={"active": active})
        )


def final_reading(session: Session, contract: Contract, day: date) -> Decimal | None:
    """The register reading at 00:00 of ``day`` (the last one received), if any."""
    row = session.execute(
        text(FINAL_READING_SQL),
        {"tenant": contract.tenant_id, "locations": locations(session, contract), "day": day},
    ).first()
    return None if row is None else Decimal(row.value)


def enter(session: Session, contract: Contract, day: date, value: Decimal | None, entered_by: str) -> Decimal:
    """Store the final reading a clerk enters: the customer's own value, or (None) an estimate; returns it.

    The customer's value counts as a true value (QTY 220, source ``customer``); an estimate is marked as a
    substitute value (QTY 67, source ``clerk``) and shows as estimated on the final bill."""
    location = session.get(MarketLocation, contract.location_id)
    assert location is not None and contract.id is not None
    estimated = value is None
    if value is None:
        value = estimate_reading_on(session, contract.tenant_id, contract.id, day).value
    session.add(
        MeterReading(
            tenant_id=contract.tenant_id,
            location_id=location.malo_id,
            value=value,
            quality="67" if estimated else "220",
            at=datetime(day.year, day.month, day.day, tzinfo=BERLIN),
            source="clerk" if estimated else "customer",
            entered_by=entered_by,
        )
    )
    session.flush()
    return value
