from datetime import UTC, date, datetime, timedelta

import pytest
from bdew_datetimes import is_bdew_working_day
from hypothesis import given
from hypothesis import strategies as st

from rules.calendar import (
    BERLIN,
    add_working_days,
    answer_deadline,
    at_local_time,
    day_start,
    earliest_supply_start,
    is_working_day,
    latest_transmission_day,
    next_working_day,
    previous_working_day,
    supply_date_from_instant,
)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
divisions = st.sampled_from(["strom", "gas"])
aware_instants = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- working days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 10, 3), False),  # Tag der Deutschen Einheit (Fri)
        (date(2025, 10, 2), True),
        (date(2025, 10, 6), True),
        (date(2025, 10, 4), False),  # Saturday
        (date(2025, 10, 5), False),  # Sunday
        (date(2025, 10, 31), False),  # Reformationstag, holiday in some states only
        (date(2025, 11, 19), False),  # Buß- und Bettag, Saxony only
        (date(2025, 6, 6), False),  # BDEW Sonderfeiertag (LFW24 go-live)
        (date(2024, 6, 6), True),
        (date(2025, 12, 23), True),
        (date(2025, 12, 24), False),  # Heiligabend (Wed)
        (date(2025, 12, 25), False),
        (date(2025, 12, 26), False),
        (date(2025, 12, 29), True),
        (date(2025, 12, 30), True),
        (date(2025, 12, 31), False),  # Silvester (Wed)
        (date(2026, 1, 1), False),
        (date(2026, 1, 2), True),
        (date(2025, 3, 28), True),  # Friday before the switch to summer time
        (date(2025, 3, 31), True),
        (date(2025, 10, 27), True),  # Monday after the switch to winter time
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@given(dates)
def test_is_working_day_agrees_with_bdew_datetimes(day: date) -> None:
    assert is_working_day(day) == is_bdew_working_day(day)


def test_datetime_is_refused_where_a_date_is_expected() -> None:
    with pytest.raises(TypeError):
        is_working_day(datetime(2025, 10, 2, 23, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("day", "following", "preceding"),
    [
        (date(2025, 10, 2), date(2025, 10, 6), date(2025, 10, 1)),
        (date(2025, 10, 3), date(2025, 10, 6), date(2025, 10, 2)),
        (date(2025, 10, 6), date(2025, 10, 7), date(2025, 10, 2)),
        (date(2025, 12, 23), date(2025, 12, 29), date(2025, 12, 22)),
        (date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 23)),
        (date(2025, 12, 30), date(2026, 1, 2), date(2025, 12, 29)),
        (date(2026, 1, 2), date(2026, 1, 5), date(2025, 12, 30)),
    ],
)
def test_next_and_previous_working_day(day: date, following: date, preceding: date) -> None:
    assert next_working_day(day) == following
    assert previous_working_day(day) == preceding


@given(dates)
def test_next_working_day_skips_only_non_working_days(day: date) -> None:
    following = next_working_day(day)
    assert following > day and is_working_day(following)
    assert not any(is_working_day(day + timedelta(days=i)) for i in range(1, (following - day).days))
    preceding = previous_working_day(day)
    assert preceding < day and is_working_day(preceding)
    assert not any(is_working_day(day - timedelta(days=i)) for i in range(1, (day - preceding).days))


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2025, 12, 23), 1, date(2025, 12, 29)),
        (date(2025, 12, 23), 2, date(2025, 12, 30)),
        (date(2025, 12, 23), 3, date(2026, 1, 2)),
        (date(2025, 10, 1), 2, date(2025, 10, 6)),
    ],
)
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert add_working_days(day, n) == expected


@given(dates, st.integers(min_value=1, max_value=30))
def test_add_working_days_counts_working_days(day: date, n: int) -> None:
    result = add_working_days(day, n)
    assert is_working_day(result)
    assert sum(is_working_day(day + timedelta(days=i)) for i in range(1, (result - day).days + 1)) == n


@pytest.mark.parametrize("n", [0, -1])
def test_add_working_days_needs_at_least_one(n: int) -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2025, 10, 1), n)


# --- transmission deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "latest"),
    [
        (date(2025, 10, 7), date(2025, 10, 5)),  # BDEW: Auszug 06.10., Zuordnungsende 07.10.
        (date(2025, 10, 8), date(2025, 10, 6)),  # BDEW Anmeldung example: sent 03.10., start 08.10.
        (date(2025, 10, 6), date(2025, 10, 1)),  # last WT before is Thu 02.10. (03.10. holiday)
        (date(2025, 12, 29), date(2025, 12, 22)),
        (date(2025, 12, 30), date(2025, 12, 28)),
        (date(2026, 1, 1), date(2025, 12, 29)),
        (date(2026, 1, 2), date(2025, 12, 29)),
        (date(2026, 1, 5), date(2026, 1, 1)),
        (date(2025, 3, 31), date(2025, 3, 27)),  # DST change on Sun 30.03.
    ],
)
def test_latest_transmission_day(start: date, latest: date) -> None:
    assert latest_transmission_day(start) == latest


@pytest.mark.parametrize(
    ("today", "start"),
    [
        (date(2025, 10, 5), date(2025, 10, 7)),  # REFERENCE §2.3
        (date(2025, 10, 3), date(2025, 10, 7)),
        (date(2025, 10, 2), date(2025, 10, 7)),
        (date(2025, 10, 1), date(2025, 10, 3)),
        (date(2025, 12, 22), date(2025, 12, 24)),
        (date(2025, 12, 23), date(2025, 12, 30)),
        (date(2025, 12, 29), date(2025, 12, 31)),
        (date(2025, 12, 30), date(2026, 1, 3)),
        (date(2025, 12, 31), date(2026, 1, 3)),
    ],
)
def test_earliest_supply_start(today: date, start: date) -> None:
    assert earliest_supply_start(today) == start


@given(dates)
def test_earliest_supply_start_is_in_time_and_minimal(today: date) -> None:
    start = earliest_supply_start(today)
    assert latest_transmission_day(start) >= today
    assert latest_transmission_day(start - timedelta(days=1)) < today


@given(dates, dates)
def test_latest_transmission_day_is_monotonic(a: date, b: date) -> None:
    a, b = min(a, b), max(a, b)
    assert latest_transmission_day(a) <= latest_transmission_day(b)
    assert latest_transmission_day(a) < a


# --- local times and answer deadlines ------------------------------------------------------------


def test_berlin_zone() -> None:
    assert str(BERLIN) == "Europe/Berlin"


@pytest.mark.parametrize(
    ("day", "hour", "expected_utc"),
    [
        (date(2025, 1, 15), 11, utc(2025, 1, 15, 10)),
        (date(2025, 7, 15), 11, utc(2025, 7, 15, 9)),
        (date(2025, 3, 30), 1, utc(2025, 3, 30, 0)),
        (date(2025, 3, 30), 3, utc(2025, 3, 30, 1)),
        (date(2025, 10, 26), 2, utc(2025, 10, 26, 0)),  # occurs twice: first occurrence (summer time)
        (date(2025, 10, 26), 3, utc(2025, 10, 26, 2)),
    ],
)
def test_at_local_time(day: date, hour: int, expected_utc: datetime) -> None:
    local = at_local_time(day, hour)
    assert local.tzinfo is BERLIN
    assert (local.date(), local.hour, local.minute) == (day, hour, 0)
    assert local.astimezone(UTC) == expected_utc


@pytest.mark.parametrize("minute", [0, 30])
def test_at_local_time_skipped_by_summer_time(minute: int) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        at_local_time(date(2025, 3, 30), 2, minute)


@pytest.mark.parametrize(
    ("sent_at", "hour", "deadline"),
    [
        # BDEW example: Nachrichtendatum Fri 03.10.2025 13:50 (holiday) -> Mon 06.10.
        (utc(2025, 10, 3, 11, 50), 11, utc(2025, 10, 6, 9)),
        (utc(2025, 10, 3, 11, 50), 7, utc(2025, 10, 6, 5)),
        # 23:30 Berlin on Wed 01.10. -> Thu 02.10.; 00:30 Berlin on Thu 02.10. -> Mon 06.10.
        (utc(2025, 10, 1, 21, 30), 11, utc(2025, 10, 2, 9)),
        (utc(2025, 10, 1, 22, 30), 11, utc(2025, 10, 6, 9)),
        # across the DST changes
        (utc(2025, 3, 28, 10), 11, utc(2025, 3, 31, 9)),
        (utc(2025, 10, 24, 10), 11, utc(2025, 10, 27, 10)),
        (utc(2025, 10, 24, 10), None, utc(2025, 10, 27, 23)),
        # year end: 24.-26.12. and 31.12./01.01. are no working days
        (utc(2025, 12, 23, 10), 12, utc(2025, 12, 29, 11)),
        (utc(2025, 12, 23, 23, 30), 12, utc(2025, 12, 29, 11)),
        (utc(2025, 12, 29, 15), None, utc(2025, 12, 30, 23)),
        (utc(2025, 12, 30, 15), 9, utc(2026, 1, 2, 8)),
    ],
)
def test_answer_deadline(sent_at: datetime, hour: int | None, deadline: datetime) -> None:
    result = answer_deadline(sent_at, hour)
    assert result == deadline
    assert result.utcoffset() == timedelta(0)


@given(aware_instants, st.one_of(st.none(), st.integers(min_value=0, max_value=23)))
def test_answer_deadline_is_on_the_first_working_day_after_sending(sent_at: datetime, hour: int | None) -> None:
    deadline = answer_deadline(sent_at, hour).astimezone(BERLIN)
    sent_day = sent_at.astimezone(BERLIN).date()
    if hour is None:
        assert (deadline.hour, deadline.minute) == (0, 0)
        assert deadline.date() == next_working_day(sent_day) + timedelta(days=1)
    else:
        assert deadline.hour == hour
        assert deadline.date() == next_working_day(sent_day)
    assert deadline > sent_at


def test_answer_deadline_needs_time_zone() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        answer_deadline(datetime(2025, 10, 1, 12), 11)


@pytest.mark.parametrize("hour", [-1, 24])
def test_answer_deadline_hour_range(hour: int) -> None:
    with pytest.raises(ValueError):
        answer_deadline(utc(2025, 10, 1, 12), hour)


# --- supply days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "division", "start"),
    [
        (date(2025, 10, 8), "strom", utc(2025, 10, 7, 22)),  # DTM+92:202510072200?+00
        (date(2024, 12, 2), "strom", utc(2024, 12, 1, 23)),
        (date(2025, 1, 1), "strom", utc(2024, 12, 31, 23)),
        (date(2025, 3, 30), "strom", utc(2025, 3, 29, 23)),
        (date(2025, 3, 31), "strom", utc(2025, 3, 30, 22)),
        (date(2025, 10, 26), "strom", utc(2025, 10, 25, 22)),
        (date(2025, 10, 27), "strom", utc(2025, 10, 26, 23)),
        (date(2024, 5, 1), "gas", utc(2024, 5, 1, 4)),
        (date(2025, 1, 1), "gas", utc(2025, 1, 1, 5)),
        (date(2025, 3, 30), "gas", utc(2025, 3, 30, 4)),
        (date(2025, 10, 26), "gas", utc(2025, 10, 26, 5)),
        (date(2025, 10, 8), "Strom", utc(2025, 10, 7, 22)),
        (date(2025, 10, 8), "GAS", utc(2025, 10, 8, 4)),
    ],
)
def test_day_start(day: date, division: str, start: datetime) -> None:
    assert day_start(day, division) == start
    assert day_start(day, division).utcoffset() == timedelta(0)
    assert supply_date_from_instant(start, division) == day


@pytest.mark.parametrize(
    ("day", "division", "hours"),
    [
        (date(2025, 3, 30), "strom", 23),
        (date(2025, 10, 26), "strom", 25),
        (date(2025, 3, 29), "gas", 23),  # gas day 29.03. 06:00 CET - 30.03. 06:00 CEST
        (date(2025, 10, 25), "gas", 25),
        (date(2025, 12, 31), "strom", 24),
    ],
)
def test_day_length_on_dst_change(day: date, division: str, hours: int) -> None:
    assert day_start(day + timedelta(days=1), division) - day_start(day, division) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("instant", "division", "day"),
    [
        (utc(2024, 12, 1, 23), "strom", date(2024, 12, 2)),
        (utc(2024, 12, 1, 22, 59, 59), "strom", date(2024, 12, 1)),
        (utc(2024, 5, 1, 4), "gas", date(2024, 5, 1)),
        (utc(2024, 5, 1, 3, 59), "gas", date(2024, 4, 30)),
        (datetime(2024, 5, 1, 5, 59, tzinfo=BERLIN), "gas", date(2024, 4, 30)),
        (utc(2025, 12, 31, 23), "strom", date(2026, 1, 1)),
    ],
)
def test_supply_date_from_instant(instant: datetime, division: str, day: date) -> None:
    assert supply_date_from_instant(instant, division) == day


@given(dates, divisions)
def test_day_start_round_trip_and_length(day: date, division: str) -> None:
    start, end = day_start(day, division), day_start(day + timedelta(days=1), division)
    assert supply_date_from_instant(start, division) == day
    assert supply_date_from_instant(end - timedelta(microseconds=1), division) == day
    assert end - start in {timedelta(hours=h) for h in (23, 24, 25)}


@given(aware_instants, divisions)
def test_instant_lies_in_its_supply_day(instant: datetime, division: str) -> None:
    day = supply_date_from_instant(instant, division)
    assert day_start(day, division) <= instant < day_start(day + timedelta(days=1), division)


def test_unknown_division() -> None:
    with pytest.raises(ValueError, match="unknown division"):
        day_start(date(2025, 1, 1), "wasser")


def test_supply_date_needs_time_zone() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        supply_date_from_instant(datetime(2025, 1, 1), "strom")
