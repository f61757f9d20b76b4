"""Storing meter readings in bulk (COPY) inside the caller's transaction, and finding who waits for them."""

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import delete
from sqlmodel import Session, col, select

from edifact.profile import ProfileSeries
from models.readings import LoadProfile, MeterReading, ReadingWait

COLUMNS = (
    "tenant_id",
    "location_id",
    "meter_number",
    "obis",
    "value",
    "quality",
    "unit",
    "at",
    "period_start",
    "statuses",
    "pruefidentifikator",
    "message_id",
    "created_at",
)
COPY_SQL = f"COPY meter_reading ({', '.join(COLUMNS)}) FROM STDIN"


class Reading(NamedTuple):
    location_id: str
    meter_number: str | None
    obis: str | None
    value: Decimal
    quality: str
    unit: str | None
    at: datetime
    period_start: datetime | None
    statuses: str
    pruefidentifikator: str


def clear_readings(session: Session, message_id: int) -> None:
    """Remove what an earlier, committed attempt at the same inbound message stored."""
    session.execute(delete(MeterReading).where(col(MeterReading.message_id) == message_id))
    session.execute(delete(LoadProfile).where(col(LoadProfile.message_id) == message_id))


def copy_readings(session: Session, tenant_id: str, message_id: int, readings: Iterable[Reading]) -> int:
    """COPY readings of one inbound message in the session's transaction; returns how many."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    now = datetime.now(UTC)
    count = 0
    with raw.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
        for r in readings:
            copy.write_row((tenant_id, *r[:9], r.pruefidentifikator, message_id, now))
            count += 1
    return count


PROFILE_COLUMNS = (
    "tenant_id",
    "location_id",
    "obis",
    "start",
    "end",
    "interval_minutes",
    "unit",
    "values",
    "qualities",
    "pruefidentifikator",
    "message_id",
    "created_at",
)
PROFILE_COPY_SQL = "COPY load_profile ({}) FROM STDIN".format(", ".join(f'"{c}"' for c in PROFILE_COLUMNS))


def copy_profiles(session: Session, tenant_id: str, message_id: int, series: Iterable[ProfileSeries]) -> int:
    """COPY load-profile series (one row each) in the session's transaction; returns the number of values."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    now = datetime.now(UTC)
    values = 0
    with raw.cursor() as cursor, cursor.copy(PROFILE_COPY_SQL) as copy:
        for s in series:
            copy.write_row(
                (
                    tenant_id,
                    s.location_id,
                    s.obis,
                    s.start,
                    s.end,
                    s.interval_minutes,
                    s.unit,
                    _array(s.values),
                    _array(s.qualities),
                    s.pruefidentifikator,
                    message_id,
                    now,
                )
            )
            values += len(s.values)
    return values


_PLAIN = re.compile(r"[0-9A-Z.+-]+(?:,[0-9A-Z.+-]+)*")


def _array(items: list[str]) -> str | list[str]:
    """Plain items (decimals, codes) as a PostgreSQL array literal, which COPY reads as text several times faster
    than psycopg adapts a list; other items (empty, with quotes, spaces or commas, or NULL) as the list."""
    literal = ",".join(items)
    plain = _PLAIN.fullmatch(literal) and literal.count(",") == len(items) - 1 and "NULL" not in items
    return f"{{{literal}}}" if plain else items


def waiting_processes(session: Session, tenant_id: str, location_ids: Iterable[str]) -> dict[str, list[str]]:
    """Workflow ids waiting for readings, per location."""
    waits = session.exec(
        select(ReadingWait).where(
            ReadingWait.tenant_id == tenant_id,
            col(ReadingWait.location_id).in_(list(set(location_ids))),
            col(ReadingWait.active).is_(True),
        )
    ).all()
    found: dict[str, list[str]] = {}
    for wait in waits:
        found.setdefault(wait.location_id, []).append(wait.workflow_id)
    return found
