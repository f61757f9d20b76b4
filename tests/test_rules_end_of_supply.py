from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.calendar import BERLIN, is_working_day
from rules.end_of_supply import (
    ContractTerms,
    GridEndReason,
    Outcome,
    answer_assignment_end,
    answer_cancellation,
    answer_grid_supply_end,
    assignment_end_answer_due,
    cancellation_answer_due,
    cancellation_end,
    deregistration_answer_due,
    deregistration_latest_day,
    earliest_end,
    final_bill_latest,
    final_reading_chase,
    final_reading_due,
    grid_supply_end_answer_due,
)

# Calendar used below (BDEW working days, WT): Good Friday Fri 03.04.2026 and Easter Monday Mon 06.04.2026 are no
# WT, so the last WT before Tue 07.04.2026 is Thu 02.04.; Fri 01.05.2026 and Thu 14.05.2026 (Ascension) are no WT;
# 24.12., 25.12., 31.12.2026, 01.01. and 06.01.2027 (Epiphany, holiday in some states) are no WT.

dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
notices = st.integers(min_value=0, max_value=120)
START = date(2025, 1, 1)
RECEIVED = date(2026, 4, 2)  # Thu before Easter; 28 days notice run out on Thu 30.04.2026


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def terms(
    notice: int = 28, supply_end: date | None = None, minimum_term_until: date | None = None, start: date = START
) -> ContractTerms:
    return ContractTerms(
        supply_start=start, supply_end=supply_end, notice_period_days=notice, minimum_term_until=minimum_term_until
    )


# --- customer cancellation -----------------------------------------------------------------------


def test_requested_date_with_notice_kept() -> None:
    decision = cancellation_end(date(2026, 3, 2), date(2026, 4, 1), 28)
    assert (decision.end, decision.requested_kept) == (date(2026, 4, 1), True)
    assert decision.text == (
        "Wir bestätigen Ihre Kündigung zum gewünschten Termin: Ihr Vertrag endet mit Ablauf des 31.03.2026."
    )


def test_notice_runs_out_exactly_on_the_requested_date() -> None:
    decision = cancellation_end(date(2026, 3, 2), date(2026, 3, 30), 28)
    assert (decision.end, decision.requested_kept) == (date(2026, 3, 30), True)


def test_notice_missed_by_one_day_ends_at_the_earliest_date() -> None:
    decision = cancellation_end(date(2026, 3, 2), date(2026, 3, 29), 28)
    assert (decision.end, decision.requested_kept) == (date(2026, 3, 30), False)
    assert decision.text == (
        "Eine Beendigung mit Ablauf des 28.03.2026 ist wegen der Kündigungsfrist von 28 Tagen ab Eingang Ihrer "
        "Kündigung am 02.03.2026 nicht möglich; Ihr Vertrag endet zum nächstmöglichen Termin mit Ablauf des 29.03.2026."
    )


def test_next_possible_date() -> None:
    decision = cancellation_end(date(2026, 3, 2), None, 28)
    assert (decision.end, decision.requested_kept) == (date(2026, 3, 30), True)
    assert decision.text == (
        "Wir bestätigen Ihre Kündigung zum nächstmöglichen Termin: Ihr Vertrag endet mit Ablauf des 29.03.2026."
    )


def test_minimum_term_holds_the_contract() -> None:
    decision = cancellation_end(date(2026, 3, 2), date(2026, 5, 1), 28, minimum_term_until=date(2026, 7, 1))
    assert (decision.end, decision.requested_kept) == (date(2026, 7, 1), False)
    assert decision.text == (
        "Eine Beendigung mit Ablauf des 30.04.2026 ist wegen der Mindestvertragslaufzeit bis zum 30.06.2026 nicht "
        "möglich; Ihr Vertrag endet zum nächstmöglichen Termin mit Ablauf des 30.06.2026."
    )
    assert cancellation_end(date(2026, 3, 2), None, 28, date(2026, 7, 1)).end == date(2026, 7, 1)


def test_minimum_term_over_before_the_notice_runs_out() -> None:
    decision = cancellation_end(date(2026, 3, 2), date(2026, 3, 20), 28, minimum_term_until=date(2026, 3, 15))
    assert (decision.end, decision.requested_kept) == (date(2026, 3, 30), False)
    assert "Kündigungsfrist von 28 Tagen" in decision.text
    assert cancellation_end(date(2026, 3, 2), date(2026, 4, 1), 28, date(2026, 3, 15)).requested_kept


def test_requested_date_before_receipt_ends_at_the_earliest_date() -> None:
    decision = cancellation_end(date(2026, 3, 2), date(2026, 3, 1), 28)
    assert (decision.end, decision.requested_kept) == (date(2026, 3, 30), False)


def test_cancellation_without_notice_may_end_on_the_day_of_receipt() -> None:
    assert cancellation_end(date(2026, 4, 3), date(2026, 4, 3), 0).requested_kept


def test_negative_notice_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        cancellation_end(date(2026, 3, 2), None, -1)
    with pytest.raises(ValueError, match="must not be negative"):
        earliest_end(date(2026, 3, 2), -1)


@given(dates, st.one_of(st.none(), dates), notices, st.one_of(st.none(), dates))
def test_cancellation_end_properties(
    received: date, requested: date | None, notice: int, minimum_term: date | None
) -> None:
    decision = cancellation_end(received, requested, notice, minimum_term)
    earliest = earliest_end(received, notice, minimum_term)
    assert decision.end >= earliest >= received + timedelta(days=notice)
    assert minimum_term is None or decision.end >= minimum_term
    if requested is None:
        assert decision.requested_kept and decision.end == earliest
    else:
        assert decision.requested_kept == (requested >= earliest)
        assert decision.end == (requested if decision.requested_kept else earliest)
    assert f"Ablauf des {(decision.end - timedelta(days=1)).strftime('%d.%m.%Y')}." in decision.text


# --- contract terms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"supply_end": START},  # end not after start
        {"supply_end": START - timedelta(days=1)},
        {"minimum_term_until": START},
        {"notice_period_days": -1},
    ],
)
def test_contract_terms_refuse_nonsense(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ContractTerms.model_validate({"supply_start": START, "notice_period_days": 28, **fields})


# --- answer to a cancellation (55016 -> 55017/55018, EBD E_0614) ---------------------------------


def test_requested_date_before_receipt_is_rejected_a01() -> None:
    answer = answer_cancellation(terms(), date(2026, 4, 7), date(2026, 4, 1))
    assert (answer.outcome, answer.status) == (Outcome.REJECT, "A01:E_0614")
    assert (answer.next_possible_end, answer.notice_period_days) == (date(2026, 5, 5), 28)


def test_request_for_the_day_of_receipt_is_checked_against_the_notice() -> None:
    answer = answer_cancellation(terms(notice=0), date(2026, 4, 6), date(2026, 4, 6))  # Easter Monday
    assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A09", date(2026, 4, 6))
    assert answer_cancellation(terms(), date(2026, 4, 6), date(2026, 4, 6)).code == "A06"


def test_notice_kept_is_confirmed_a09() -> None:
    answer = answer_cancellation(terms(), RECEIVED, date(2026, 4, 30))
    assert (answer.outcome, answer.status, answer.end) == (Outcome.CONFIRM, "A09:E_0614", date(2026, 4, 30))
    assert answer.next_possible_end is None


def test_already_cancelled_to_the_requested_date_is_confirmed_a03() -> None:
    answer = answer_cancellation(terms(), RECEIVED, date(2026, 4, 15), already_cancelled_to=date(2026, 4, 15))
    assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A03", date(2026, 4, 15))


@pytest.mark.parametrize(
    ("contract", "already_cancelled_to"),
    [(terms(), date(2026, 5, 1)), (terms(supply_end=date(2026, 5, 1)), None)],
)
def test_contract_ending_before_the_requested_date_is_rejected_a04(
    contract: ContractTerms, already_cancelled_to: date | None
) -> None:
    answer = answer_cancellation(contract, RECEIVED, date(2026, 6, 1), already_cancelled_to)
    assert (answer.outcome, answer.code, answer.end) == (Outcome.REJECT, "A04", date(2026, 5, 1))


def test_notice_not_kept_is_rejected_a06_with_next_date_and_notice() -> None:
    answer = answer_cancellation(terms(), RECEIVED, date(2026, 4, 29))
    assert (answer.outcome, answer.status, answer.end) == (Outcome.REJECT, "A06:E_0614", None)
    assert (answer.next_possible_end, answer.notice_period_days) == (date(2026, 4, 30), 28)


def test_minimum_term_is_rejected_a06_with_its_end() -> None:
    answer = answer_cancellation(terms(minimum_term_until=date(2026, 7, 1)), RECEIVED, date(2026, 5, 1))
    assert (answer.code, answer.next_possible_end) == ("A06", date(2026, 7, 1))


def test_binding_with_a_later_end_already_fixed_is_rejected_a05() -> None:
    answer = answer_cancellation(terms(), RECEIVED, date(2026, 4, 15), already_cancelled_to=date(2026, 9, 1))
    assert (answer.outcome, answer.code, answer.end) == (Outcome.REJECT, "A05", date(2026, 9, 1))
    assert (answer.next_possible_end, answer.notice_period_days) == (date(2026, 4, 30), 28)
    # minimum term beyond the fixed end: the contract still ends on the fixed end
    bound = terms(minimum_term_until=date(2026, 10, 1), supply_end=date(2026, 9, 1))
    assert answer_cancellation(bound, RECEIVED, date(2026, 6, 1)).next_possible_end == date(2026, 9, 1)


def test_later_end_already_fixed_does_not_block_a_timely_cancellation() -> None:
    answer = answer_cancellation(terms(), RECEIVED, date(2026, 5, 1), already_cancelled_to=date(2026, 9, 1))
    assert (answer.code, answer.end) == ("A09", date(2026, 5, 1))


def test_next_possible_date_is_confirmed_a09() -> None:
    answer = answer_cancellation(terms(), RECEIVED, None)
    assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A09", date(2026, 4, 30))
    later_fixed = answer_cancellation(terms(), RECEIVED, None, already_cancelled_to=date(2026, 6, 1))
    assert (later_fixed.code, later_fixed.end) == ("A09", date(2026, 4, 30))


def test_next_possible_date_with_an_earlier_end_already_fixed_is_confirmed_a03() -> None:
    answer = answer_cancellation(terms(), RECEIVED, None, already_cancelled_to=date(2026, 4, 20))
    assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A03", date(2026, 4, 20))


def test_next_possible_date_of_an_ended_contract_is_rejected_a04() -> None:
    answer = answer_cancellation(terms(supply_end=date(2026, 3, 1)), RECEIVED, None)
    assert (answer.outcome, answer.code, answer.end) == (Outcome.REJECT, "A04", date(2026, 3, 1))


def test_missing_contract_goes_to_clearing() -> None:
    answer = answer_cancellation(None, RECEIVED, date(2026, 5, 1))
    assert (answer.outcome, answer.code, answer.code_list, answer.status) == (Outcome.CLEARING, None, None, None)
    assert answer.note


@pytest.mark.parametrize("requested", [date(2026, 5, 1), date(2026, 6, 1), None])
def test_end_before_our_supply_begins_goes_to_clearing(requested: date | None) -> None:
    future = terms(start=date(2026, 6, 1))
    assert answer_cancellation(future, RECEIVED, requested).outcome is Outcome.CLEARING


@pytest.mark.parametrize(
    ("requested", "already_cancelled_to", "status"),
    [
        (date(2026, 4, 30), None, "E15:G_0006"),  # A09
        (date(2026, 4, 15), date(2026, 4, 15), "E15:G_0006"),  # A03
        (date(2026, 4, 1), None, "E14:G_0005"),  # A01 (received 02.04.)
        (date(2026, 6, 1), date(2026, 5, 1), "Z34:G_0005"),  # A04
        (date(2026, 4, 15), date(2026, 9, 1), "Z12:G_0005"),  # A05
        (date(2026, 4, 15), None, "Z12:G_0005"),  # A06
    ],
)
def test_gas_takes_the_same_decisions_with_gas_codes(
    requested: date, already_cancelled_to: date | None, status: str
) -> None:
    strom = answer_cancellation(terms(), RECEIVED, requested, already_cancelled_to)
    gas = answer_cancellation(terms(), RECEIVED, requested, already_cancelled_to, division="Gas")
    assert gas.status == status
    assert strom.model_copy(update={"code": gas.code, "code_list": gas.code_list}) == gas


def test_answer_cancellation_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="after supply_start"):
        answer_cancellation(terms(), RECEIVED, None, already_cancelled_to=START)
    with pytest.raises(ValueError, match="unknown division"):
        answer_cancellation(None, RECEIVED, None, division="wasser")


@given(dates, st.one_of(st.none(), dates), notices, st.one_of(st.none(), dates))
def test_answer_agrees_with_the_customer_cancellation(
    received: date, requested: date | None, notice: int, minimum_term: date | None
) -> None:
    if minimum_term is not None and minimum_term <= START:
        minimum_term = None
    answer = answer_cancellation(terms(notice, minimum_term_until=minimum_term), received, requested)
    decision = cancellation_end(received, requested, notice, minimum_term)
    if requested is not None and requested < received:
        assert answer.code == "A01"
    elif (requested or decision.end) <= START:
        assert answer.outcome is Outcome.CLEARING
    elif decision.requested_kept:
        assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A09", decision.end)
    else:
        assert (answer.outcome, answer.code, answer.next_possible_end) == (Outcome.REJECT, "A06", decision.end)


# --- answer to the grid operator's supply end (55007 -> 55008/55009, EBD E_0609) -----------------


@pytest.mark.parametrize(
    ("received", "code"),
    [
        (date(2026, 4, 1), "A10"),  # latest ÜT for an end on Tue 07.04.2026 is Wed 01.04. (Easter)
        (date(2026, 4, 2), "A03"),
        (date(2026, 4, 6), "A03"),
    ],
)
def test_grid_supply_end_lead_time_over_easter(received: date, code: str) -> None:
    answer = answer_grid_supply_end(date(2026, 4, 7), received, GridEndReason.SHUTDOWN)
    assert answer.code == code
    assert answer.outcome is (Outcome.CONFIRM if code == "A10" else Outcome.REJECT)
    assert answer.code_list == "E_0609"


def test_grid_supply_end_confirmation_carries_the_end() -> None:
    answer = answer_grid_supply_end(date(2026, 4, 7), date(2026, 4, 1), GridEndReason.SHUTDOWN)
    assert (answer.status, answer.end) == ("A10:E_0609", date(2026, 4, 7))


def test_grid_supply_end_already_confirmed_is_rejected_a02() -> None:
    answer = answer_grid_supply_end(
        date(2026, 4, 7), date(2026, 4, 1), GridEndReason.SHUTDOWN, confirmed_end=date(2026, 4, 7)
    )
    assert (answer.outcome, answer.code) == (Outcome.REJECT, "A02")
    other = answer_grid_supply_end(date(2026, 4, 7), date(2026, 4, 1), GridEndReason.SHUTDOWN, date(2026, 5, 1))
    assert other.code == "A10"


def test_shutdown_of_a_location_in_use_is_rejected_a04() -> None:
    answer = answer_grid_supply_end(date(2026, 4, 7), date(2026, 4, 1), GridEndReason.SHUTDOWN, known_in_use=True)
    assert (answer.outcome, answer.code) == (Outcome.REJECT, "A04")
    other = answer_grid_supply_end(
        date(2026, 5, 1), date(2026, 4, 1), GridEndReason.TIME_SERIES_CHANGE, known_in_use=True
    )
    assert other.code == "A10"


@pytest.mark.parametrize(
    ("end", "received", "code"),
    [
        (date(2026, 5, 1), date(2026, 4, 1), "A10"),
        (date(2026, 6, 1), date(2026, 4, 1), "A05"),  # not the next 1st of a month
        (date(2026, 4, 15), date(2026, 4, 1), "A05"),
        (date(2027, 1, 1), date(2026, 12, 29), "A10"),  # last WT before 01.01.2027 is Wed 30.12.: latest ÜT 29.12.
        (date(2027, 1, 1), date(2026, 12, 30), "A03"),
    ],
)
def test_time_series_change_must_end_on_the_next_first_of_a_month(end: date, received: date, code: str) -> None:
    assert answer_grid_supply_end(end, received, GridEndReason.TIME_SERIES_CHANGE).code == code


@pytest.mark.parametrize(
    ("received", "code"),
    [
        (date(2026, 4, 20), "A10"),
        (date(2026, 5, 4), "A10"),  # after the end: the lead time of the other reasons does not apply
        (date(2026, 5, 8), "A10"),  # 5th WT of May 2026 (01.05. is a holiday)
        (date(2026, 5, 11), "A09"),
    ],
)
def test_deactivated_authorisation_until_the_fifth_working_day(received: date, code: str) -> None:
    answer = answer_grid_supply_end(date(2026, 5, 1), received, GridEndReason.AUTHORISATION_ENDED)
    assert answer.code == code


def test_grid_supply_end_gas_codes() -> None:
    confirm = answer_grid_supply_end(date(2026, 4, 7), date(2026, 4, 1), GridEndReason.SHUTDOWN, division="gas")
    assert (confirm.outcome, confirm.status) == (Outcome.CONFIRM, "E15")
    reject = answer_grid_supply_end(date(2026, 4, 7), date(2026, 4, 2), GridEndReason.SHUTDOWN, division="gas")
    assert (reject.outcome, reject.status) == (Outcome.REJECT, "E14:G_0068")


# --- answer to the request to end our assignment (55010 -> 55011/55012, EBD E_0624) --------------


def test_assignment_end_without_contract_is_confirmed_a36() -> None:
    answer = answer_assignment_end(None, date(2026, 5, 1))
    assert (answer.outcome, answer.status, answer.end) == (Outcome.CONFIRM, "A36:E_0624", date(2026, 5, 1))


@pytest.mark.parametrize(
    ("contract", "confirmed_cancellation_end"),
    [
        (terms(supply_end=date(2026, 5, 1)), None),
        (terms(supply_end=date(2026, 4, 1)), None),
        (terms(), date(2026, 4, 15)),
        (terms(supply_end=date(2026, 9, 1)), date(2026, 5, 1)),
    ],
)
def test_contract_ending_in_time_is_confirmed_a36(
    contract: ContractTerms, confirmed_cancellation_end: date | None
) -> None:
    answer = answer_assignment_end(contract, date(2026, 5, 1), confirmed_cancellation_end)
    assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A36", date(2026, 5, 1))


def test_running_contract_is_rejected_a35() -> None:
    answer = answer_assignment_end(terms(), date(2026, 5, 1))
    assert (answer.outcome, answer.status, answer.end) == (Outcome.REJECT, "A35:E_0624", None)
    later = answer_assignment_end(terms(), date(2026, 5, 1), confirmed_cancellation_end=date(2026, 6, 1))
    assert (later.code, later.end) == ("A35", date(2026, 6, 1))


def test_move_in_of_a_new_customer_is_confirmed_a34() -> None:
    answer = answer_assignment_end(terms(), date(2026, 5, 1), move_in=True)
    assert (answer.outcome, answer.code, answer.end) == (Outcome.CONFIRM, "A34", date(2026, 5, 1))


def test_assignment_already_ended_by_our_confirmed_deregistration_is_rejected_a30() -> None:
    answer = answer_assignment_end(
        terms(supply_end=date(2026, 4, 1)), date(2026, 5, 1), deregistered_to=date(2026, 4, 1)
    )
    assert (answer.outcome, answer.code, answer.end) == (Outcome.REJECT, "A30", date(2026, 4, 1))
    later = answer_assignment_end(terms(), date(2026, 5, 1), deregistered_to=date(2026, 6, 1))
    assert later.code == "A35"


def test_assignment_end_gas_codes() -> None:
    assert answer_assignment_end(None, date(2026, 5, 1), division="gas").status == "E15:G_0010"
    assert answer_assignment_end(terms(), date(2026, 5, 1), division="gas").status == "E14"


# --- deadlines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_at", "due"),
    [
        (utc(2026, 4, 2, 8), utc(2026, 4, 7, 22)),  # Thu before Easter -> end of Tue 07.04. (CEST)
        (utc(2026, 4, 1, 22, 30), utc(2026, 4, 7, 22)),  # 00:30 Berlin on Thu 02.04.
        (utc(2026, 4, 1, 21, 30), utc(2026, 4, 2, 22)),  # 23:30 Berlin on Wed 01.04.
        (utc(2026, 12, 23, 12), utc(2026, 12, 28, 23)),  # -> end of Mon 28.12. (CET)
        (utc(2026, 12, 30, 12), utc(2027, 1, 4, 23)),
    ],
)
def test_cancellation_answer_due(received_at: datetime, due: datetime) -> None:
    assert cancellation_answer_due(received_at) == due


def test_hour_deadlines_over_easter_and_christmas() -> None:
    assert assignment_end_answer_due(utc(2026, 4, 2, 15)) == utc(2026, 4, 7, 7)  # 09:00 CEST
    assert assignment_end_answer_due(utc(2026, 12, 23, 12)) == utc(2026, 12, 28, 8)  # 09:00 CET
    assert grid_supply_end_answer_due(utc(2026, 4, 2, 15)) == utc(2026, 4, 7, 3)  # 05:00 CEST
    assert grid_supply_end_answer_due(utc(2026, 12, 23, 12)) == utc(2026, 12, 28, 4)  # 05:00 CET
    assert deregistration_answer_due(utc(2026, 4, 4, 10)) == utc(2026, 4, 7, 4)  # sent Saturday -> 06:00 CEST
    assert deregistration_answer_due(utc(2026, 12, 31, 10)) == utc(2027, 1, 4, 5)  # 06:00 CET


@given(st.datetimes(min_value=datetime(2024, 1, 2), max_value=datetime(2030, 12, 30), timezones=st.just(UTC)))
def test_deadlines_are_utc_and_in_order(received_at: datetime) -> None:
    grid, assignment, answer = (
        grid_supply_end_answer_due(received_at),
        assignment_end_answer_due(received_at),
        cancellation_answer_due(received_at),
    )
    assert all(d.utcoffset() == timedelta(0) for d in (grid, assignment, answer))
    assert received_at < grid < deregistration_answer_due(received_at) < assignment < answer
    assert is_working_day(grid.astimezone(BERLIN).date())


@pytest.mark.parametrize(
    ("supply_end", "latest"),
    [
        (date(2026, 4, 7), date(2026, 4, 1)),  # Easter: last WT before is Thu 02.04.
        (date(2026, 4, 3), date(2026, 4, 1)),
        (date(2026, 12, 28), date(2026, 12, 22)),  # last WT before is Wed 23.12.
        (date(2027, 1, 4), date(2026, 12, 29)),  # last WT before is Wed 30.12.
    ],
)
def test_deregistration_latest_day(supply_end: date, latest: date) -> None:
    assert deregistration_latest_day(supply_end) == latest


def test_deadlines_need_a_time_zone() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        cancellation_answer_due(datetime(2026, 4, 2, 10))


# --- Messdateninkasso and final bill -------------------------------------------------------------


def test_final_reading_due() -> None:
    conventional = final_reading_due(date(2026, 4, 1), smart_meter=False)
    assert (conventional.values, conventional.true_values) == (date(2026, 4, 29), date(2026, 4, 29))
    smart = final_reading_due(date(2026, 4, 1), smart_meter=True)
    assert (smart.values, smart.true_values) == (date(2026, 4, 6), date(2026, 4, 9))  # calendar days, Easter counts


@pytest.mark.parametrize(
    ("due", "request_on", "complaint_on", "clerk_task_on"),
    [
        # 01.05. and 14.05.2026 (Ascension) are no WT
        (date(2026, 4, 29), date(2026, 4, 30), date(2026, 5, 8), date(2026, 5, 15)),
        # Christmas, New Year and 06.01.2027 (Epiphany) are no WT
        (date(2026, 12, 23), date(2026, 12, 28), date(2027, 1, 7), date(2027, 1, 13)),
        # due on Good Friday
        (date(2026, 4, 3), date(2026, 4, 7), date(2026, 4, 14), date(2026, 4, 20)),
    ],
)
def test_final_reading_chase(due: date, request_on: date, complaint_on: date, clerk_task_on: date) -> None:
    chase = final_reading_chase(due)
    assert (chase.request_on, chase.complaint_on, chase.clerk_task_on) == (request_on, complaint_on, clerk_task_on)


@given(dates)
def test_final_reading_chase_waits_the_working_days(due: date) -> None:
    chase = final_reading_chase(due)

    def working_days_between(a: date, b: date) -> int:
        return sum(is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days))

    assert all(is_working_day(d) for d in (chase.request_on, chase.complaint_on, chase.clerk_task_on))
    assert due < chase.request_on and working_days_between(due, chase.request_on) == 0
    assert working_days_between(chase.request_on, chase.complaint_on) == 4
    assert working_days_between(chase.complaint_on, chase.clerk_task_on) == 3


@pytest.mark.parametrize(
    ("supply_end", "latest"),
    [(date(2026, 4, 1), date(2026, 5, 13)), (date(2026, 12, 1), date(2027, 1, 12))],
)
def test_final_bill_latest(supply_end: date, latest: date) -> None:
    assert final_bill_latest(supply_end) == latest
