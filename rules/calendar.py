"""German market deadlines: working days (WT) of the BDEW calendar, supply days, answer deadlines.

A WT is Monday to Friday except days that are a public holiday in at least one German state,
24.12. and 31.12. (bdew_datetimes). Local time is Europe/Berlin; returned instants are UTC.
"""

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bdew_datetimes import create_bdew_calendar

BERLIN = ZoneInfo("Europe/Berlin")
DIVISIONS = ("strom", "gas")
_DAY_START_HOUR = {"strom": 0, "gas": 6}
_ONE_DAY = timedelta(days=1)

# The holidays library fills a year on first access and is not thread-safe while doing so:
# each year is collected once under a lock and then read from an immutable set.
_calendar = create_bdew_calendar()
_lock = threading.Lock()
_holidays_by_year: dict[int, frozenset[date]] = {}


def _holidays(year: int) -> frozenset[date]:
    found = _holidays_by_year.get(year)
    if found is None:
        with _lock:
            _ = date(year, 1, 1) in _calendar  # fills the year
            found = frozenset(day for day in _calendar if day.year == year)
            _holidays_by_year[year] = found
    return found


def _require_date(d: date) -> None:
    if isinstance(d, datetime):
        raise TypeError("expected a date, got a datetime: convert it to the Berlin date first")


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"datetime {instant.isoformat()} has no time zone")


def normalise_division(division: str) -> str:
    """Return "strom" or "gas" (case-insensitive); raise ValueError otherwise."""
    key = division.lower()
    if key not in DIVISIONS:
        raise ValueError(f"unknown division '{division}', expected one of {', '.join(DIVISIONS)}")
    return key


def is_working_day(d: date) -> bool:
    """True if d is a WT of the BDEW calendar."""
    _require_date(d)
    return d.weekday() < 5 and d not in _holidays(d.year)


def next_working_day(d: date) -> date:
    """First WT strictly after d."""
    _require_date(d)
    d += _ONE_DAY
    while not is_working_day(d):
        d += _ONE_DAY
    return d


def previous_working_day(d: date) -> date:
    """Last WT strictly before d."""
    _require_date(d)
    d -= _ONE_DAY
    while not is_working_day(d):
        d -= _ONE_DAY
    return d


def add_working_days(d: date, n: int) -> date:
    """The n-th WT after d (n >= 1); add_working_days(d, 1) == next_working_day(d)."""
    if n < 1:
        raise ValueError(f"number of working days must be at least 1, got {n}")
    for _ in range(n):
        d = next_working_day(d)
    return d


def latest_transmission_day(start: date) -> date:
    """Latest ÜT for a Zuordnungsbeginn/-ende on `start`: the day before the last WT before it.

    GPKE: "spätester ÜT ist der Tag vor dem letzten WT vor dem Zuordnungsbeginn".
    Example: start Tue 07.10.2025 -> last WT Mon 06.10. -> latest ÜT Sun 05.10.2025.
    """
    return previous_working_day(start) - _ONE_DAY


def earliest_supply_start(today: date) -> date:
    """Earliest Zuordnungsbeginn for a message sent on `today`: first WT after today, plus one day.

    The smallest start with latest_transmission_day(start) >= today.
    """
    return next_working_day(today) + _ONE_DAY


def at_local_time(d: date, hour: int, minute: int = 0) -> datetime:
    """d at hour:minute Berlin legal time, as an aware datetime in Europe/Berlin.

    A wall time skipped by the switch to summer time raises ValueError; a wall time that
    occurs twice (switch to winter time) means the first occurrence (summer time). Such a time
    compares unequal to any datetime of another zone (PEP 495): convert to UTC before comparing.
    """
    _require_date(d)
    local = datetime(d.year, d.month, d.day, hour, minute, tzinfo=BERLIN)
    if local.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"{d.isoformat()} {hour:02d}:{minute:02d} does not exist in Europe/Berlin")
    return local


def answer_deadline(sent_at: datetime, hour: int | None) -> datetime:
    """Deadline "hour:00 of the 1st WT after the transmission day", as an aware UTC datetime.

    The transmission day is the Berlin date of `sent_at`. With `hour` None the deadline is the
    end of that WT (00:00 Berlin of the following day).
    """
    _require_aware(sent_at)
    if hour is not None and not 0 <= hour <= 23:
        raise ValueError(f"hour must be between 0 and 23, got {hour}")
    working_day = next_working_day(sent_at.astimezone(BERLIN).date())
    if hour is None:
        return at_local_time(working_day + _ONE_DAY, 0).astimezone(UTC)
    return at_local_time(working_day, hour).astimezone(UTC)


def day_start(d: date, division: str) -> datetime:
    """Start of supply day d as an aware UTC datetime: Strom 00:00 Berlin, Gas 06:00 Berlin."""
    return at_local_time(d, _DAY_START_HOUR[normalise_division(division)]).astimezone(UTC)


def supply_date_from_instant(instant: datetime, division: str) -> date:
    """The supply day (Strom-/Gastag) that contains `instant`; inverse of day_start."""
    _require_aware(instant)
    hour = _DAY_START_HOUR[normalise_division(division)]
    wall = instant.astimezone(BERLIN).replace(tzinfo=None)
    return (wall - timedelta(hours=hour)).date()
