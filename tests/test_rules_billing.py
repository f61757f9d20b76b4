from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.billing import (
    ENERGY_TAX_RATES,
    Bill,
    BillingPrice,
    LineKind,
    Reading,
    ReadingStatus,
    compute_bill,
    distribute_by_days,
    energy_tax_rate,
    estimate_reading,
    gas_kwh,
    load_profile_totals,
    merge_tariffs,
    meter_consumption,
    price_at,
    settle,
)

D = Decimal
CENT = D("0.01")
W, B, P, C, T = (
    LineKind.WORKING_PRICE,
    LineKind.BASE_PRICE,
    LineKind.DEMAND_PRICE,
    LineKind.CONCESSION_FEE,
    LineKind.ENERGY_TAX,
)


def price(
    valid_from: date,
    working: str,
    base: str,
    *,
    demand: str | None = None,
    concession: str | None = None,
) -> BillingPrice:
    return BillingPrice(
        valid_from=valid_from,
        working_price=D(working),
        base_price_per_year=D(base),
        demand_price_per_kw_year=None if demand is None else D(demand),
        concession_fee=None if concession is None else D(concession),
    )


def amounts(bill: Bill) -> list[tuple[LineKind, date, Decimal]]:
    return [(line.kind, line.start, line.amount) for line in bill.lines]


# --- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "division", "rate"),
    [
        (date(2003, 1, 1), "strom", "0.0205"),
        (date(2025, 6, 1), "Strom", "0.0205"),
        (date(2003, 1, 1), "gas", "0.0055"),
        (date(2026, 1, 1), "gas", "0.0055"),
    ],
)
def test_energy_tax_rate(on: date, division: str, rate: str) -> None:
    assert energy_tax_rate(on, division) == D(rate)


def test_energy_tax_rate_unknown_before_first_date_and_division() -> None:
    with pytest.raises(ValueError, match="no energy tax rate known on 2002-12-31"):
        energy_tax_rate(date(2002, 12, 31), "strom")
    with pytest.raises(ValueError, match="unknown division"):
        energy_tax_rate(date(2025, 1, 1), "wasser")


def test_energy_tax_rates_are_in_date_order() -> None:
    for rates in ENERGY_TAX_RATES.values():
        assert [d for d, _ in rates] == sorted({d for d, _ in rates})


def test_price_at_picks_the_version_valid_on_the_day() -> None:
    versions = [price(date(2025, 1, 1), "0.30", "120"), price(date(2025, 7, 1), "0.34", "120")]
    assert price_at(versions, date(2025, 6, 30)).working_price == D("0.30")
    assert price_at(versions, date(2025, 7, 1)).working_price == D("0.34")
    with pytest.raises(ValueError, match="no price valid on 2024-12-31"):
        price_at(versions, date(2024, 12, 31))


@pytest.mark.parametrize(
    ("field", "value"), [("working_price", "0"), ("base_price_per_year", "-1"), ("concession_fee", "-0.01")]
)
def test_billing_price_rejects_bad_values(field: str, value: str) -> None:
    data = {"valid_from": date(2025, 1, 1), "working_price": D("0.3"), "base_price_per_year": D("120")}
    with pytest.raises(ValueError, match=field):
        BillingPrice.model_validate({**data, field: D(value)})


# --- distribution by days ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "days", "expected"),
    [
        ("1000", [1, 1, 1], ["333.333", "333.334", "333.333"]),
        ("3650", [184, 181], ["1840", "1810"]),
        ("0.001", [1, 1], ["0.001", "0"]),  # 0.0005 rounds half up to 0.001 in the first running total
        ("0", [10, 20], ["0", "0"]),
        ("7", [365], ["7"]),
    ],
)
def test_distribute_by_days(total: str, days: list[int], expected: list[str]) -> None:
    assert distribute_by_days(D(total), days) == [D(e) for e in expected]


@given(
    st.decimals(min_value=0, max_value=D("10000000"), places=3),
    st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12),
)
def test_distribute_by_days_adds_up_and_is_linear(total: Decimal, days: list[int]) -> None:
    shares = distribute_by_days(total, days)
    assert sum(shares, D(0)) == total
    for share, d in zip(shares, days, strict=True):
        assert share >= 0
        assert share == share.quantize(D("0.001"))
        assert abs(share - total * d / sum(days)) <= D("0.001")


@pytest.mark.parametrize(
    ("total", "days", "message"),
    [
        ("-1", [1], "at least 0 kWh"),
        ("1.0001", [1], "3 decimal places"),
        ("1", [], "at least 1 day"),
        ("1", [2, 0], "at least 1 day"),
    ],
)
def test_distribute_by_days_rejects(total: str, days: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        distribute_by_days(D(total), days)


# --- gas conversion, readings, load profiles -----------------------------------------------------


@pytest.mark.parametrize(
    ("m3", "z", "hs", "kwh"),
    [
        ("1200", "0.9500", "10.526", "12000"),  # 11999.64
        ("5", "0.8500", "10.000", "43"),  # 42.5 -> 43 half up (half-even would give 42)
        ("1234.567", "0.9674", "11.248", "13434"),  # 13433.58...
        ("0", "0.95", "10", "0"),
    ],
)
def test_gas_kwh(m3: str, z: str, hs: str, kwh: str) -> None:
    result = gas_kwh(D(m3), D(z), D(hs))
    assert result == D(kwh)
    assert result.as_tuple().exponent == 0


@pytest.mark.parametrize(("m3", "z", "hs"), [("-1", "0.95", "10"), ("1", "0", "10"), ("1", "0.95", "-10")])
def test_gas_kwh_rejects(m3: str, z: str, hs: str) -> None:
    with pytest.raises(ValueError):
        gas_kwh(D(m3), D(z), D(hs))


def test_meter_consumption() -> None:
    first = Reading(on=date(2025, 1, 1), value=D("10000"))
    assert meter_consumption(first, Reading(on=date(2026, 1, 1), value=D("13500"))) == D("3500")


def test_meter_consumption_rejects_backwards_register_and_bad_order() -> None:
    first = Reading(on=date(2025, 1, 1), value=D("99500"))
    with pytest.raises(ValueError, match=r"register went backwards.*meter rollover"):
        meter_consumption(first, Reading(on=date(2026, 1, 1), value=D("1200")))
    with pytest.raises(ValueError, match="must be after"):
        meter_consumption(first, Reading(on=date(2025, 1, 1), value=D("99600")))


def test_estimate_reading_from_previous_period() -> None:
    history = (Reading(on=date(2024, 1, 1), value=D("6340")), Reading(on=date(2025, 1, 1), value=D("10000")))
    # 3660 kWh / 366 days = 10 kWh per day; 59 days to 01.03.
    estimate = estimate_reading(history[1], date(2025, 3, 1), history=history)
    assert estimate == Reading(on=date(2025, 3, 1), value=D("10590"), status=ReadingStatus.ESTIMATED)


def test_estimate_reading_from_annual_forecast() -> None:
    previous = Reading(on=date(2025, 1, 1), value=D("10000"))
    # 4000 / 365 x 59 = 646.575... -> 10646.575 -> 10647
    estimate = estimate_reading(previous, date(2025, 3, 1), annual_forecast=D("4000"))
    assert (estimate.value, estimate.status) == (D("10647"), ReadingStatus.ESTIMATED)


def test_estimate_reading_rejects() -> None:
    previous = Reading(on=date(2025, 1, 1), value=D("10000"))
    with pytest.raises(ValueError, match="must be after the previous reading"):
        estimate_reading(previous, date(2025, 1, 1), annual_forecast=D("4000"))
    with pytest.raises(ValueError, match="or an annual forecast"):
        estimate_reading(previous, date(2025, 3, 1))
    later = (Reading(on=date(2025, 1, 1), value=D("1")), Reading(on=date(2025, 2, 1), value=D("2")))
    with pytest.raises(ValueError, match="no later than the previous reading"):
        estimate_reading(previous, date(2025, 3, 1), history=later)


def test_load_profile_totals_strom_quarter_hours() -> None:
    totals = load_profile_totals([D("10")] * 2975 + [D("25")], "strom")
    assert (totals.energy_kwh, totals.peak_kw) == (D("29775"), D("100"))


def test_load_profile_totals_gas_hourly() -> None:
    totals = load_profile_totals([D("5"), D("12.5"), D("3")], "gas")
    assert (totals.energy_kwh, totals.peak_kw) == (D("20.5"), D("12.5"))


@pytest.mark.parametrize("values", [[], [D("1"), D("-0.5")], [D("NaN")]])
def test_load_profile_totals_rejects(values: list[Decimal]) -> None:
    with pytest.raises(ValueError, match="load profile"):
        load_profile_totals(values, "strom")


# --- bills: hand-computed examples ---------------------------------------------------------------

STROM_2025 = [
    price(date(2024, 1, 1), "0.32", "120", concession="0.0199"),
    price(date(2026, 1, 1), "0.30", "120", concession="0.0199"),
]


def test_plain_slp_year_with_settlement() -> None:
    readings = (Reading(on=date(2025, 1, 1), value=D("10000")), Reading(on=date(2026, 1, 1), value=D("13500")))
    kwh = meter_consumption(*readings)
    bill = compute_bill("strom", date(2025, 1, 1), date(2026, 1, 1), kwh, STROM_2025, readings=readings)
    assert amounts(bill) == [
        (W, date(2025, 1, 1), D("1120.00")),  # 3500 x 0.32
        (B, date(2025, 1, 1), D("120.00")),  # 365 days
        (C, date(2025, 1, 1), D("69.65")),  # 3500 x 0.0199
        (T, date(2025, 1, 1), D("71.75")),  # 3500 x 0.0205
    ]
    assert (bill.net, bill.vat, bill.gross) == (D("1381.40"), D("262.47"), D("1643.87"))  # VAT 262.466
    assert (bill.energy_tax, bill.energy_tax_kwh, bill.estimated) == (D("71.75"), D("3500"), False)
    assert bill.lines[-1].end == date(2026, 1, 1)  # the price of 2026-01-01 starts after the period

    settlement = settle(bill, [D("135.00")] * 12, STROM_2025)
    assert (settlement.paid, settlement.balance) == (D("1620.00"), D("23.87"))
    # next year at 0.30: 1050 + 120 + 69.65 + 71.75 = 1311.40 net, 249.17 VAT, 1560.57 / 12 = 130.05 -> 131
    assert (settlement.annual_kwh, settlement.annual_gross, settlement.next_instalment) == (
        D("3500"),
        D("1560.57"),
        D("131"),
    )


def test_price_change_mid_period() -> None:
    prices = [price(date(2024, 1, 1), "0.30", "120"), price(date(2025, 1, 1), "0.34", "144")]
    bill = compute_bill("strom", date(2024, 7, 1), date(2025, 7, 1), D("3650"), prices)
    assert amounts(bill) == [
        (W, date(2024, 7, 1), D("552.00")),  # 1840 kWh (184 days) x 0.30
        (B, date(2024, 7, 1), D("60.49")),  # 120 x 184 / 365 = 60.493
        (T, date(2024, 7, 1), D("37.72")),
        (W, date(2025, 1, 1), D("615.40")),  # 1810 kWh (181 days) x 0.34
        (B, date(2025, 1, 1), D("71.41")),  # 144 x 181 / 365 = 71.408
        (T, date(2025, 1, 1), D("37.11")),  # 37.105 half up
    ]
    assert [line.quantity for line in bill.lines if line.kind is W] == [D("1840"), D("1810")]
    assert [line.quantity for line in bill.lines if line.kind is B] == [D("184"), D("181")]
    assert (bill.net, bill.vat, bill.gross) == (D("1374.13"), D("261.08"), D("1635.21"))


def test_gas_vat_change_2024_04_01() -> None:
    prices = [price(date(2023, 1, 1), "0.10", "182.50")]
    bill = compute_bill("gas", date(2024, 1, 1), date(2024, 7, 1), D("9100"), prices)
    # 91 + 91 days, 4550 kWh each; base 182.50 x 91 / 365 = 45.50; energy tax 4550 x 0.0055 = 25.025 -> 25.03
    assert amounts(bill) == [
        (W, date(2024, 1, 1), D("455.00")),
        (B, date(2024, 1, 1), D("45.50")),
        (T, date(2024, 1, 1), D("25.03")),
        (W, date(2024, 4, 1), D("455.00")),
        (B, date(2024, 4, 1), D("45.50")),
        (T, date(2024, 4, 1), D("25.03")),
    ]
    assert [line.vat_rate for line in bill.lines] == [D("0.07")] * 3 + [D("0.19")] * 3
    assert [(g.rate, g.net, g.vat) for g in bill.vat_groups] == [
        (D("0.07"), D("525.53"), D("36.79")),  # 36.7871
        (D("0.19"), D("525.53"), D("99.85")),  # 99.8507
    ]
    assert (bill.net, bill.vat, bill.gross) == (D("1051.06"), D("136.64"), D("1187.70"))
    assert (bill.energy_tax, bill.energy_tax_kwh) == (D("50.06"), D("9100"))


def test_energy_tax_change_from_overridden_rates() -> None:
    tax_rates = [(date(2003, 1, 1), D("0.0205")), (date(2025, 3, 1), D("0.0100"))]  # made up
    prices = [price(date(2025, 1, 1), "0.30", "120")]
    bill = compute_bill("strom", date(2025, 1, 1), date(2025, 5, 1), D("1200"), prices, energy_tax_rates=tax_rates)
    # 59 + 61 days -> 590 + 610 kWh
    assert amounts(bill) == [
        (W, date(2025, 1, 1), D("177.00")),
        (B, date(2025, 1, 1), D("19.40")),  # 19.397
        (T, date(2025, 1, 1), D("12.10")),  # 590 x 0.0205 = 12.095
        (W, date(2025, 3, 1), D("183.00")),
        (B, date(2025, 3, 1), D("20.05")),  # 120 x 61 / 365 = 20.0548
        (T, date(2025, 3, 1), D("6.10")),
    ]
    assert [(line.quantity, line.unit_price) for line in bill.lines if line.kind is T] == [
        (D("590"), D("0.0205")),
        (D("610"), D("0.0100")),
    ]
    assert (bill.net, bill.vat, bill.gross) == (D("417.65"), D("79.35"), D("497.00"))
    assert (bill.energy_tax, bill.energy_tax_kwh) == (D("18.20"), D("1200"))


def test_bill_with_estimated_closing_reading() -> None:
    history = (Reading(on=date(2024, 1, 1), value=D("6340")), Reading(on=date(2025, 1, 1), value=D("10000")))
    closing = estimate_reading(history[1], date(2025, 3, 1), history=history)
    readings = (history[1], closing)
    prices = [price(date(2025, 1, 1), "0.30", "120")]
    bill = compute_bill(
        "strom", date(2025, 1, 1), date(2025, 3, 1), meter_consumption(*readings), prices, readings=readings
    )
    assert bill.estimated
    assert bill.readings is not None and bill.readings[1].status is ReadingStatus.ESTIMATED
    # 590 kWh: 177.00 + 120 x 59 / 365 = 19.40 + 590 x 0.0205 = 12.10 (12.095)
    assert (bill.consumption_kwh, bill.net) == (D("590"), D("208.50"))


def test_rlm_month_with_demand_price() -> None:
    totals = load_profile_totals([D("10")] * 2975 + [D("25")], "strom")
    prices = [price(date(2025, 1, 1), "0.20", "600", demand="120", concession="0.0011")]
    bill = compute_bill("strom", date(2025, 3, 1), date(2025, 4, 1), totals.energy_kwh, prices, peak_kw=totals.peak_kw)
    assert amounts(bill) == [
        (W, date(2025, 3, 1), D("5955.00")),  # 29775 x 0.20
        (B, date(2025, 3, 1), D("50.96")),  # 600 x 31 / 365 = 50.959
        (P, date(2025, 3, 1), D("1019.18")),  # 100 kW x 120 x 31 / 365 = 1019.178
        (C, date(2025, 3, 1), D("32.75")),  # 32.7525
        (T, date(2025, 3, 1), D("610.39")),  # 610.3875
    ]
    demand = bill.lines[2]
    assert (demand.quantity, demand.unit_price, demand.days) == (D("100"), D("120"), 31)
    assert (bill.net, bill.vat, bill.gross) == (D("7668.28"), D("1456.97"), D("9125.25"))


def test_gas_year_refund() -> None:
    kwh = gas_kwh(D("1200"), D("0.9500"), D("10.526"))
    prices = [price(date(2024, 10, 1), "0.11", "150")]
    bill = compute_bill("gas", date(2025, 1, 1), date(2026, 1, 1), kwh, prices)
    assert amounts(bill) == [
        (W, date(2025, 1, 1), D("1320.00")),
        (B, date(2025, 1, 1), D("150.00")),
        (T, date(2025, 1, 1), D("66.00")),
    ]
    assert (bill.net, bill.vat, bill.gross) == (D("1536.00"), D("291.84"), D("1827.84"))
    settlement = settle(bill, D("2160.00"), prices)
    assert settlement.balance == D("-332.16")
    assert (settlement.annual_kwh, settlement.annual_gross, settlement.next_instalment) == (
        D("12000"),
        D("1827.84"),
        D("153"),  # 152.32 rounded up
    )


def test_settle_uses_vat_of_next_period_start_and_annualises() -> None:
    # gas at 7 % until 2024-03-31: the next period starts 2024-04-01 at 19 %
    prices = [price(date(2023, 1, 1), "0.10", "100")]
    bill = compute_bill("gas", date(2023, 10, 1), date(2024, 4, 1), D("6000"), prices)  # 183 days
    settlement = settle(bill, [], prices, count=11)
    assert settlement.balance == bill.gross
    # 6000 / 183 x 365 = 11967.2 -> 11967; net 1196.70 + 100 + 65.82 (65.8185) = 1362.52; 19 % 258.88
    assert (settlement.annual_kwh, settlement.annual_gross) == (D("11967"), D("1621.40"))
    assert settlement.next_instalment == D("148")  # 147.40 rounded up


def test_settle_rejects() -> None:
    bill = compute_bill("strom", date(2025, 1, 1), date(2026, 1, 1), D("3500"), STROM_2025)
    with pytest.raises(ValueError, match="whole cents"):
        settle(bill, [D("100.001")], STROM_2025)
    with pytest.raises(ValueError, match="whole cents"):
        settle(bill, D("-1.00"), STROM_2025)
    with pytest.raises(ValueError, match="at least 1"):
        settle(bill, D("0"), STROM_2025, count=0)


# --- bills: errors -------------------------------------------------------------------------------

PRICES = [price(date(2025, 1, 1), "0.30", "120")]


@pytest.mark.parametrize(
    ("start", "end", "kwh", "message"),
    [
        (date(2025, 3, 1), date(2025, 3, 1), "100", "empty or inverted"),
        (date(2025, 3, 2), date(2025, 3, 1), "100", "empty or inverted"),
        (date(2025, 3, 1), date(2025, 4, 1), "-1", "at least 0 kWh"),
        (date(2025, 3, 1), date(2025, 4, 1), "NaN", "at least 0 kWh"),
        (date(2025, 3, 1), date(2025, 4, 1), "1.2345", "3 decimal places"),
        (date(2024, 12, 1), date(2025, 2, 1), "100", "no price valid on 2024-12-01"),
    ],
)
def test_compute_bill_rejects(start: date, end: date, kwh: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_bill("strom", start, end, D(kwh), PRICES)


def test_compute_bill_rejects_readings_outside_the_period() -> None:
    readings = (Reading(on=date(2025, 1, 1), value=D("1")), Reading(on=date(2025, 3, 1), value=D("2")))
    with pytest.raises(ValueError, match="must be taken on the period start"):
        compute_bill("strom", date(2025, 1, 1), date(2025, 4, 1), D("1"), PRICES, readings=readings)


def test_compute_bill_requires_peak_for_demand_price() -> None:
    prices = [price(date(2025, 1, 1), "0.20", "600", demand="120")]
    with pytest.raises(ValueError, match="peak_kw is required"):
        compute_bill("strom", date(2025, 3, 1), date(2025, 4, 1), D("100"), prices)
    with pytest.raises(ValueError, match="peak demand"):
        compute_bill("strom", date(2025, 3, 1), date(2025, 4, 1), D("100"), prices, peak_kw=D("-1"))


def test_compute_bill_rejects_unsorted_parameters() -> None:
    with pytest.raises(ValueError, match="price versions must be in strictly ascending order"):
        compute_bill("strom", date(2025, 3, 1), date(2025, 4, 1), D("1"), [*PRICES, *PRICES])
    with pytest.raises(ValueError, match="VAT rates must be"):
        rates = [(date(2025, 1, 1), D("0.19")), (date(2020, 1, 1), D("0.16"))]
        compute_bill("strom", date(2025, 3, 1), date(2025, 4, 1), D("1"), PRICES, vat_rates=rates)


def test_compute_bill_unknown_division() -> None:
    with pytest.raises(ValueError, match="unknown division"):
        compute_bill("wasser", date(2025, 3, 1), date(2025, 4, 1), D("1"), PRICES)


# --- bills: properties ---------------------------------------------------------------------------

kwh_totals = st.decimals(min_value=0, max_value=D("2000000"), places=3)
working_prices = st.decimals(min_value=D("0.000001"), max_value=D("2"), places=6)
base_prices = st.decimals(min_value=0, max_value=D("5000"), places=2)
optional_prices = st.one_of(st.none(), st.decimals(min_value=0, max_value=D("200"), places=4))


@st.composite
def billing_cases(draw: st.DrawFn) -> tuple[str, date, date, list[BillingPrice], Decimal, Decimal]:
    start = draw(st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)))
    end = start + timedelta(days=draw(st.integers(min_value=1, max_value=800)))
    offsets = draw(st.lists(st.integers(min_value=1, max_value=799), max_size=4, unique=True))
    first = start - timedelta(days=draw(st.integers(min_value=0, max_value=400)))
    versions = [
        BillingPrice(
            valid_from=valid_from,
            working_price=draw(working_prices),
            base_price_per_year=draw(base_prices),
            demand_price_per_kw_year=draw(optional_prices),
            concession_fee=draw(optional_prices),
        )
        for valid_from in [first, *sorted(start + timedelta(days=o) for o in offsets)]
    ]
    division = draw(st.sampled_from(["strom", "gas"]))
    return division, start, end, versions, draw(kwh_totals), draw(st.decimals(min_value=0, max_value=5000, places=3))


@given(billing_cases())
def test_bill_properties(case: tuple[str, date, date, list[BillingPrice], Decimal, Decimal]) -> None:
    division, start, end, versions, kwh, peak = case
    bill = compute_bill(division, start, end, kwh, versions, peak_kw=peak)
    working = [line for line in bill.lines if line.kind is W]
    assert sum((line.quantity for line in working), D(0)) == kwh == bill.energy_tax_kwh
    assert working[0].start == start and working[-1].end == end
    assert all(a.end == b.start for a, b in pairwise(working))
    for line in bill.lines:
        assert line.amount == line.amount.quantize(CENT) and line.amount.as_tuple().exponent == -2
        assert line.amount >= 0
    assert sum((line.days for line in bill.lines if line.kind is B), 0) == bill.days
    assert bill.net == sum((line.amount for line in bill.lines), D(0))
    for group in bill.vat_groups:
        group_lines = [line.amount for line in bill.lines if line.vat_rate == group.rate]
        assert group.net == sum(group_lines, D(0))
        assert group.vat == (group.net * group.rate).quantize(CENT, rounding=ROUND_HALF_UP)
    assert bill.vat == sum((g.vat for g in bill.vat_groups), D(0))
    assert bill.gross == bill.net + bill.vat


@given(
    st.dates(min_value=date(2021, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(min_value=2, max_value=800),
    st.data(),
    kwh_totals,
    working_prices,
    base_prices,
    optional_prices,
    st.decimals(min_value=0, max_value=5000, places=3),
)
def test_proration_is_invariant_to_splitting(
    start: date,
    days: int,
    data: st.DataObject,
    kwh: Decimal,
    working: Decimal,
    base: Decimal,
    demand: Decimal | None,
    peak: Decimal,
) -> None:
    # strom since 2021: no VAT, tax or price change, so any split day is arbitrary
    split = data.draw(st.integers(min_value=1, max_value=days - 1))
    end, mid = start + timedelta(days=days), start + timedelta(days=split)
    versions = [
        BillingPrice(
            valid_from=date(2021, 1, 1),
            working_price=working,
            base_price_per_year=base,
            demand_price_per_kw_year=demand,
        )
    ]
    whole = compute_bill("strom", start, end, kwh, versions, peak_kw=peak)
    first_kwh, second_kwh = distribute_by_days(kwh, [split, days - split])
    parts = [
        compute_bill("strom", start, mid, first_kwh, versions, peak_kw=peak),
        compute_bill("strom", mid, end, second_kwh, versions, peak_kw=peak),
    ]
    assert len(whole.vat_groups) == 1
    assert [line.quantity for line in whole.lines if line.kind is W] == [first_kwh + second_kwh] == [kwh]
    for whole_line in whole.lines:
        split_lines = [line for part in parts for line in part.lines if line.kind is whole_line.kind]
        assert len(split_lines) == 2
        assert abs(sum((line.amount for line in split_lines), D(0)) - whole_line.amount) <= CENT


def test_merge_tariffs_switches_prices_on_the_day_of_the_product_change() -> None:
    basis = [BillingPrice(valid_from=date(2020, 1, 1), working_price=D("0.30"), base_price_per_year=D("120"))]
    green = [
        BillingPrice(valid_from=date(2020, 1, 1), working_price=D("0.35"), base_price_per_year=D("100")),
        BillingPrice(valid_from=date(2026, 1, 1), working_price=D("0.33"), base_price_per_year=D("100")),
        BillingPrice(valid_from=date(2026, 9, 1), working_price=D("0.31"), base_price_per_year=D("100")),
    ]
    merged = merge_tariffs([(date(2025, 1, 1), basis), (date(2026, 3, 1), green)])
    assert [(p.valid_from, p.working_price) for p in merged] == [
        (date(2025, 1, 1), D("0.30")),
        (date(2026, 3, 1), D("0.33")),
        (date(2026, 9, 1), D("0.31")),
    ]
    back = merge_tariffs([(date(2025, 1, 1), basis), (date(2026, 3, 1), green), (date(2026, 6, 1), basis)])
    assert [(p.valid_from, p.working_price) for p in back] == [
        (date(2025, 1, 1), D("0.30")),
        (date(2026, 3, 1), D("0.33")),
        (date(2026, 6, 1), D("0.30")),
    ]
