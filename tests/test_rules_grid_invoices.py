"""The invoice check as a pure rule: each step of the tree with the code it answers, on our own invoices."""

from datetime import date
from decimal import Decimal

from edifact.invoic import InvoicMessage
from rules.grid_invoices import InvoiceFacts, Price, Supply, answer_due, check, check_storno
from tests.factories import malo_id, partner_id
from tests.grid import BASE, BASE_PER_DAY, WORK, WORK_PER_KWH, build_invoice

D = Decimal
GRID, US, MALO = partner_id("99"), partner_id("99"), malo_id()
RECEIVED = date(2025, 4, 10)


def invoice(**changes: object) -> InvoicMessage:
    message = build_invoice(GRID, US, MALO, date(2025, 1, 1), date(2025, 4, 1), D("900"), received=RECEIVED)
    return message.model_copy(update=changes)


def facts(**changes: object) -> InvoiceFacts:
    values: dict[str, object] = {
        "received_on": RECEIVED,
        "division": "strom",
        "supplies": [Supply(date(2024, 1, 1), None)],
        "grid_operator": GRID,
        "number_used": False,
        "billed_before": False,
        "prices": {BASE: [Price(date(2020, 1, 1), BASE_PER_DAY, "DAY")], WORK: [Price(date(2020, 1, 1), WORK_PER_KWH)]},
        "our_kwh": D("900"),
        "tolerance_percent": D("1.0"),
    }
    return InvoiceFacts(**(values | changes))  # type: ignore[arg-type]


def verdict(message: InvoicMessage | None = None, **fact_changes: object) -> tuple[str, str, str]:
    result = check(message or invoice(), facts(**fact_changes))
    return result.outcome, result.code, result.answer_pid


def test_a_right_invoice_is_accepted() -> None:
    assert verdict() == ("accept", "", "33001")


def test_header_checks_in_the_order_of_the_tree() -> None:
    assert verdict(supplies=[]) == ("reject", "A01", "33003")
    assert verdict(supplies=[Supply(date(2025, 2, 1), None)]) == ("reject", "A02", "33003")
    assert verdict(grid_operator=partner_id("99")) == ("reject", "A04", "33003")
    assert verdict(received_on=date(2025, 4, 9))[1] == "A07"  # the invoice is dated after its receipt
    assert verdict(number_used=True)[1] == "A09"
    assert verdict(invoice(due_date=None))[1] == "A90"
    assert verdict(invoice(due_date=invoice().document_date))[1] == "A10"  # due on the day it arrived
    assert verdict(billed_before=True)[1] == "A12"
    assert verdict(prices={})[1] == "A18"


def test_position_checks_name_the_position() -> None:
    wrong_amount = invoice()
    line = wrong_amount.lines[1].model_copy(update={"amount": D("70.00")})
    result = check(wrong_amount.model_copy(update={"lines": [wrong_amount.lines[0], line]}), facts())
    assert (result.code, result.position, result.answer_pid) == ("A23", "2", "33004")
    old_price = facts(
        prices={BASE: [Price(date(2020, 1, 1), BASE_PER_DAY, "DAY")], WORK: [Price(date(2020, 1, 1), D("0.08"))]}
    )
    result = check(invoice(), old_price)
    assert (result.code, result.position) == ("A35", "2") and "0.08" in result.text


def test_the_price_of_the_berlin_day_counts_not_the_utc_date() -> None:
    """The period starts 01.01. 00:00 Berlin = 31.12. 23:00 UTC: the price valid from 01.01. applies."""
    prices = {
        BASE: [Price(date(2020, 1, 1), D("0.1"), "DAY"), Price(date(2025, 1, 1), BASE_PER_DAY, "DAY")],
        WORK: [Price(date(2020, 1, 1), D("0.01")), Price(date(2025, 1, 1), WORK_PER_KWH)],
    }
    assert check(invoice(), facts(prices=prices)).outcome == "accept"


def test_quantities_exact_within_and_beyond_the_tolerance() -> None:
    assert verdict(our_kwh=D("900"))[0] == "accept"
    within = check(invoice(), facts(our_kwh=D("895")))
    assert (within.outcome, within.code, within.notes["difference_percent"]) == ("clearing", "A33", "0.56")
    assert verdict(our_kwh=D("850")) == ("reject", "A33", "33004")
    assert check(invoice(), facts(our_kwh=None)).outcome == "clearing"


def test_answer_is_due_four_working_days_before_the_payment_date() -> None:
    # payment Fri 2025-05-02: Wed 30.4., Tue 29.4., Mon 28.4., Fri 25.4. (1 May is a holiday)
    assert answer_due(date(2025, 5, 2)) == date(2025, 4, 25)


def test_storno_needs_an_invoice_it_cancels() -> None:
    storno = invoice(category="457", pruefidentifikator="31004", cancels="NNR-1")
    assert check_storno(storno, "accepted").outcome == "accept"
    assert check_storno(storno, None).code == "A99"
    assert check_storno(storno, "cancelled").code == "A99"
    assert check_storno(storno.model_copy(update={"cancels": None}), "accepted").code == "A90"
