"""Master data a grid operator sends for a MaLo: stored the day it arrives, compared with ours, taken over on a
clerk's word where it differs."""

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from edifact.utilmd import UtilmdMessage
from models.base import utcnow
from models.contracts import MarketLocation, Meter
from models.master_data import GridMasterData
from rules.master_data import LocationData, differences


def ours(session: Session, location: MarketLocation) -> LocationData:
    melos = session.exec(select(Meter.melo_id).where(Meter.location_id == location.id)).all()
    return LocationData(
        grid_operator=location.grid_operator_id,
        street=location.street,
        house_number=location.house_number,
        postcode=location.postcode,
        city=location.city,
        melo_ids=frozenset(m for m in melos if m),
    )


def theirs(message: UtilmdMessage) -> LocationData:
    address = message.location_address or message.customer_address  # NAD+DP (see UtilmdMessage)
    return LocationData(
        grid_operator=message.sender,
        street=(address.street or "") if address else "",
        house_number=(address.house_number or "") if address else "",
        postcode=(address.postcode or "") if address else "",
        city=(address.city or "") if address else "",
        melo_ids=frozenset(message.melo_ids),
    )


def store(session: Session, tenant_id: str, message_id: int, message: UtilmdMessage) -> GridMasterData | None:
    """Keep what the grid operator sent and what differs from ours; None when the MaLo is not one of ours."""
    assert message.malo_id is not None
    location = session.exec(
        select(MarketLocation).where(MarketLocation.tenant_id == tenant_id, MarketLocation.malo_id == message.malo_id)
    ).first()
    if location is None:
        return None
    reported = theirs(message)
    found = differences(reported, ours(session, location))
    session.execute(
        insert(GridMasterData)
        .values(
            tenant_id=tenant_id,
            message_id=message_id,
            pruefidentifikator=message.pruefidentifikator,
            sender=message.sender,
            malo_id=message.malo_id,
            valid_from=message.valid_from.date() if message.valid_from else None,
            data={
                "grid_operator": reported.grid_operator,
                "street": reported.street,
                "house_number": reported.house_number,
                "postcode": reported.postcode,
                "city": reported.city,
                "melo_ids": sorted(reported.melo_ids),
            },
            differences=found,
            state="clearing" if found else "matches",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["message_id", "malo_id"])
    )
    return session.exec(
        select(GridMasterData).where(GridMasterData.message_id == message_id, GridMasterData.malo_id == message.malo_id)
    ).one()


def take_over(session: Session, row: GridMasterData, decided_by: str) -> None:
    """Make the grid operator's data ours: address, grid operator, and the MeLo of a location with one meter."""
    location = session.exec(
        select(MarketLocation).where(MarketLocation.tenant_id == row.tenant_id, MarketLocation.malo_id == row.malo_id)
    ).one()
    for name in ("grid_operator", "street", "house_number", "postcode", "city"):
        value = row.data.get(name)
        if value:
            setattr(location, "grid_operator_id" if name == "grid_operator" else name, value)
    session.add(location)
    meters = session.exec(select(Meter).where(Meter.location_id == location.id)).all()
    melos = row.data.get("melo_ids") or []
    if len(meters) == 1 and len(melos) == 1:
        meters[0].melo_id = melos[0]
        session.add(meters[0])
    row.state, row.decided_by = "taken_over", decided_by
    session.add(row)
    session.flush()


def keep_ours(session: Session, row: GridMasterData, decided_by: str) -> None:
    row.state, row.decided_by = "kept", decided_by
    session.add(row)
    session.flush()
