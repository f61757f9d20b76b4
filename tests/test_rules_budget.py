from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.budget import (
    VAT_RATES,
    PriceVersion,
    annual_cost,
    budget_plan,
    first_instalment_due,
    split_instalments,
    vat_rate,
)

D = Decimal
CENT = D("0.01")


def price(working: str = "0.32", base: str = "120.00") -> PriceVersion:
    return PriceVersion(valid_from=date(2025, 1, 1), working_price=D(working), base_price_per_year=D(base))


amounts = st.decimals(min_value=0, max_value=D("100000.00"), places=2)
consumptions = st.decimals(min_value=D("0.001"), max_value=D("1000000"), places=3)
working_prices = st.decimals(min_value=D("0.000001"), max_value=D("2"), places=6)
base_prices = st.decimals(min_value=0, max_value=D("1000"), places=6)
dates = st.dates(min_value=date(2007, 1, 1), max_value=date(2099, 12, 31))
divisions = st.sampled_from(["strom", "gas"])


# --- VAT -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "division", "rate"),
    [
        (date(2007, 1, 1), "strom", "0.19"),
        (date(2020, 6, 30), "strom", "0.19"),
        (date(2020, 7, 1), "strom", "0.16"),
        (date(2020, 12, 31), "gas", "0.16"),
        (date(2021, 1, 1), "strom", "0.19"),
        (date(2022, 9, 30), "gas", "0.19"),
        (date(2022, 10, 1), "gas", "0.07"),
        (date(2022, 10, 1), "strom", "0.19"),
        (date(2023, 12, 31), "gas", "0.07"),
        (date(2024, 3, 31), "gas", "0.07"),
        (date(2024, 4, 1), "gas", "0.19"),
        (date(2026, 1, 1), "Gas", "0.19"),
    ],
)
def test_vat_rate(on: date, division: str, rate: str) -> None:
    assert vat_rate(on, division) == D(rate)


def test_vat_rates_are_in_date_order() -> None:
    for rates in VAT_RATES.values():
        assert [valid_from for valid_from, _ in rates] == sorted({valid_from for valid_from, _ in rates})


def test_vat_rate_unknown_before_2007() -> None:
    with pytest.raises(ValueError, match="no VAT rate"):
        vat_rate(date(2006, 12, 31), "strom")


def test_vat_rate_unknown_division() -> None:
    with pytest.raises(ValueError, match="unknown division"):
        vat_rate(date(2025, 1, 1), "fernwaerme")


# --- annual cost ---------------------------------------------------------------------------------


def test_annual_cost_example() -> None:
    cost = annual_cost(D("3500"), price(), date(2025, 1, 1), "strom")
    assert (cost.net, cost.vat, cost.gross, cost.vat_rate) == (
        D("1240.00"),
        D("235.60"),
        D("1475.60"),
        D("0.19"),
    )


def test_annual_cost_rounds_half_up_once() -> None:
    # 1000 x 0.123445 = 123.445 -> 123.45 (half-even would give 123.44); VAT 23.4555 -> 23.46
    cost = annual_cost(D("1000"), price("0.123445", "0"), date(2025, 1, 1), "strom")
    assert (cost.net, cost.vat, cost.gross) == (D("123.45"), D("23.46"), D("146.91"))


def test_annual_cost_gas_at_reduced_rate() -> None:
    # 15000 x 0.0987 + 150.50 = 1631.00; 7 % = 114.17
    cost = annual_cost(D("15000"), price("0.0987", "150.50"), date(2023, 6, 1), "gas")
    assert (cost.net, cost.vat, cost.gross, cost.vat_rate) == (
        D("1631.00"),
        D("114.17"),
        D("1745.17"),
        D("0.07"),
    )


@given(consumptions, working_prices, base_prices, dates, divisions)
def test_annual_cost_properties(consumption: Decimal, working: Decimal, base: Decimal, on: date, division: str) -> None:
    tariff = PriceVersion(valid_from=on, working_price=working, base_price_per_year=base)
    cost = annual_cost(consumption, tariff, on, division)
    exact_net = consumption * working + base
    assert abs(cost.net - exact_net) <= D("0.005")
    assert cost.vat == (cost.net * cost.vat_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    assert cost.gross == cost.net + cost.vat
    for amount in (cost.net, cost.vat, cost.gross):
        assert amount == amount.quantize(CENT) and amount.as_tuple().exponent == -2


@pytest.mark.parametrize("consumption", ["0", "-1", "NaN", "Infinity"])
def test_annual_cost_rejects_bad_consumption(consumption: str) -> None:
    with pytest.raises(ValueError, match="consumption"):
        annual_cost(D(consumption), price(), date(2025, 1, 1), "strom")


@pytest.mark.parametrize(
    ("working", "base", "message"),
    [
        ("0", "120", "working price"),
        ("-0.30", "120", "working price"),
        ("0.30", "-1", "base price"),
        ("0.3000001", "120", "decimal places"),
        ("NaN", "120", "working_price"),
    ],
)
def test_price_version_rejects_bad_prices(working: str, base: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        price(working, base)


def test_price_version_allows_tariff_without_base_price() -> None:
    assert price("0.35", "0").base_price_per_year == 0


# --- instalments ---------------------------------------------------------------------------------


def test_split_instalments_example() -> None:
    # 147560 cents / 12 = 12296 remainder 8
    assert split_instalments(D("1475.60")) == [D("122.97")] * 8 + [D("122.96")] * 4


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        ("100.00", 3, ["33.34", "33.33", "33.33"]),
        ("0.05", 12, ["0.01"] * 5 + ["0.00"] * 7),
        ("0", 2, ["0.00", "0.00"]),
        ("1200.00", 12, ["100.00"] * 12),
        ("99.99", 1, ["99.99"]),
        ("1000.00", 11, ["90.91"] * 10 + ["90.90"]),
    ],
)
def test_split_instalments_cases(total: str, count: int, expected: list[str]) -> None:
    assert split_instalments(D(total), count) == [D(e) for e in expected]


@given(amounts, st.integers(min_value=1, max_value=24))
def test_split_instalments_add_up_exactly(total: Decimal, count: int) -> None:
    parts = split_instalments(total, count)
    assert len(parts) == count
    assert sum(parts, D(0)) == total
    assert max(parts) - min(parts) <= CENT
    assert parts == sorted(parts, reverse=True)
    assert all(p.as_tuple().exponent == -2 for p in parts)


@pytest.mark.parametrize(("total", "count"), [("100.00", 0), ("100.001", 12), ("-1.00", 12), ("NaN", 12)])
def test_split_instalments_rejects(total: str, count: int) -> None:
    with pytest.raises(ValueError):
        split_instalments(D(total), count)


# --- budget plan ---------------------------------------------------------------------------------


def test_budget_plan_example_month_ends_clamped() -> None:
    plan = budget_plan(D("3500"), price(), date(2025, 1, 31), "strom")
    assert plan.annual.gross == D("1475.60")
    assert plan.instalment == D("122.96")
    assert [i.due_date for i in plan.instalments] == [
        date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30),
        date(2025, 5, 31), date(2025, 6, 30), date(2025, 7, 31), date(2025, 8, 31),
        date(2025, 9, 30), date(2025, 10, 31), date(2025, 11, 30), date(2025, 12, 31),
    ]  # fmt: skip
    assert [i.amount for i in plan.instalments] == [D("122.97")] * 8 + [D("122.96")] * 4


def test_budget_plan_over_year_end_and_leap_day() -> None:
    plan = budget_plan(D("2000"), price(), date(2023, 12, 31), "strom", count=3)
    assert [i.due_date for i in plan.instalments] == [
        date(2023, 12, 31),
        date(2024, 1, 31),
        date(2024, 2, 29),
    ]
    plan = budget_plan(D("2000"), price(), date(2025, 12, 24), "gas", count=2)
    assert [i.due_date for i in plan.instalments] == [date(2025, 12, 24), date(2026, 1, 24)]


def test_budget_plan_uses_vat_rate_of_first_due_date() -> None:
    assert budget_plan(D("15000"), price(), date(2024, 3, 31), "gas").annual.vat_rate == D("0.07")
    assert budget_plan(D("15000"), price(), date(2024, 4, 1), "gas").annual.vat_rate == D("0.19")


@given(consumptions, working_prices, base_prices, dates, divisions, st.integers(min_value=1, max_value=12))
def test_budget_plan_properties(
    consumption: Decimal, working: Decimal, base: Decimal, first_due: date, division: str, count: int
) -> None:
    tariff = PriceVersion(valid_from=first_due, working_price=working, base_price_per_year=base)
    plan = budget_plan(consumption, tariff, first_due, division, count)
    assert len(plan.instalments) == count
    assert sum((i.amount for i in plan.instalments), D(0)) == plan.annual.gross
    assert plan.instalment == plan.instalments[-1].amount
    dues = [i.due_date for i in plan.instalments]
    assert dues[0] == first_due
    for months, due in enumerate(dues):
        assert (due.year - first_due.year) * 12 + due.month - first_due.month == months
        assert due.day == first_due.day or (due.day < first_due.day and (due + timedelta(days=1)).day == 1)


def test_budget_plan_rejects_zero_consumption() -> None:
    with pytest.raises(ValueError, match="consumption"):
        budget_plan(D("0"), price(), date(2025, 1, 1), "strom")


# --- first due date ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supply_start", "due"),
    [
        (date(2025, 10, 1), date(2025, 10, 15)),
        (date(2025, 10, 2), date(2025, 11, 1)),
        (date(2025, 10, 18), date(2025, 11, 1)),
        (date(2025, 10, 19), date(2025, 11, 15)),
        (date(2025, 12, 18), date(2026, 1, 1)),  # year end
        (date(2025, 12, 19), date(2026, 1, 15)),
        (date(2025, 12, 31), date(2026, 1, 15)),
        (date(2024, 2, 15), date(2024, 3, 1)),  # leap year: 15.02. + 14 = 29.02.
    ],
)
def test_first_instalment_due(supply_start: date, due: date) -> None:
    assert first_instalment_due(supply_start) == due


def test_first_instalment_due_counts_notice_from_later_issue_date() -> None:
    assert first_instalment_due(date(2025, 10, 1), issued_on=date(2025, 10, 10)) == date(2025, 11, 1)
    assert first_instalment_due(date(2025, 10, 1), issued_on=date(2025, 9, 1)) == date(2025, 10, 15)


@given(dates, st.one_of(st.none(), dates))
def test_first_instalment_due_is_the_next_1st_or_15th_after_notice(supply_start: date, issued: date | None) -> None:
    due = first_instalment_due(supply_start, issued_on=issued)
    earliest = max(supply_start, issued or supply_start) + timedelta(days=14)
    assert due.day in (1, 15)
    assert due >= earliest
    assert not any((earliest + timedelta(days=i)).day in (1, 15) for i in range((due - earliest).days))
