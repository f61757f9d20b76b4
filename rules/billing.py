"""Consumption billing (Turnus-, Monats- und Schlussrechnung): proration, bill lines, taxes, VAT, settlement.

Pure calculation, no I/O. Money is Decimal in EUR, energy Decimal in kWh. Conventions:

* A period is [start, end): `end` is the day of the closing reading at 00:00 and is not billed itself;
  days = (end - start).days. Segments are half-open the same way.
* The period is split into segments at every date on which a price version, the energy tax rate or the VAT rate
  starts. The kWh are spread over the segments linearly by days in steps of 0.001 kWh by rounding the running total
  half up, so the segment kWh add up exactly to the total.
* Base price and demand price are prorated by days / 365, also in leap years (366 days cost 366/365 of a year).
* Every line is quantity x unit price rounded to cents half up; net = sum of lines; VAT is rounded half up once per
  VAT rate on the net of that rate's lines; gross = net + VAT.
* Stromsteuer (strom) and Energiesteuer (gas) are net lines like the others and VAT applies to them.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field

from rules.budget import VAT_RATES
from rules.calendar import normalise_division

CENT = Decimal("0.01")
KWH_STEP = Decimal("0.001")
WHOLE = Decimal("1")
DAYS_PER_YEAR = 365

# Dated rates per division: (valid from, rate), ascending.
Rates = Sequence[tuple[date, Decimal]]

# EUR per kWh. Stromsteuer 20.50 EUR/MWh (§ 3 StromStG); Energiesteuer on natural gas for heating 5.50 EUR/MWh
# (§ 2 (3) EnergieStG, the rate of the Mineralölsteuergesetz since 2003 carried over in 2006).
ENERGY_TAX_RATES: dict[str, list[tuple[date, Decimal]]] = {
    "strom": [(date(2003, 1, 1), Decimal("0.0205"))],
    "gas": [(date(2003, 1, 1), Decimal("0.0055"))],
}


class ReadingStatus(StrEnum):
    ACTUAL = "actual"
    ESTIMATED = "estimated"


class Reading(BaseModel):
    """Register value at 00:00 of `on`: kWh, for gas m³."""

    model_config = ConfigDict(frozen=True)

    on: date
    value: Decimal = Field(ge=0)
    status: ReadingStatus = ReadingStatus.ACTUAL


class BillingPrice(BaseModel):
    """Net prices valid from `valid_from` until the next version starts."""

    model_config = ConfigDict(frozen=True)

    valid_from: date
    working_price: Decimal = Field(gt=0, description="EUR per kWh, net")
    base_price_per_year: Decimal = Field(ge=0, description="EUR per year, net")
    demand_price_per_kw_year: Decimal | None = Field(default=None, ge=0, description="EUR per kW peak and year (RLM)")
    concession_fee: Decimal | None = Field(default=None, ge=0, description="EUR per kWh (Konzessionsabgabe)")


class LineKind(StrEnum):
    WORKING_PRICE = "working_price"
    BASE_PRICE = "base_price"
    DEMAND_PRICE = "demand_price"
    CONCESSION_FEE = "concession_fee"
    ENERGY_TAX = "energy_tax"  # Stromsteuer for strom, Energiesteuer for gas


class BillLine(BaseModel):
    """Net line of the segment [start, end), `amount` rounded to cents half up.

    `quantity` is kWh for working price, concession fee and energy tax (amount = kWh x unit price), days for the base
    price (amount = EUR per year x days / 365) and the peak kW for the demand price (kW x EUR per kW-year x days / 365).
    """

    model_config = ConfigDict(frozen=True)

    kind: LineKind
    start: date
    end: date
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    amount: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class VatGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    rate: Decimal
    net: Decimal
    vat: Decimal


class Bill(BaseModel):
    """Bill of [start, end); `readings` (when billed from readings) show how they were obtained (§ 40 (2) EnWG)."""

    model_config = ConfigDict(frozen=True)

    division: str
    start: date
    end: date
    consumption_kwh: Decimal
    peak_kw: Decimal | None
    readings: tuple[Reading, Reading] | None
    lines: list[BillLine]
    vat_groups: list[VatGroup]
    net: Decimal
    vat: Decimal
    gross: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def energy_tax(self) -> Decimal:
        """Stromsteuer or Energiesteuer billed (net), for the ledger and the tax declaration."""
        return sum((line.amount for line in self.lines if line.kind is LineKind.ENERGY_TAX), Decimal(0))

    @property
    def energy_tax_kwh(self) -> Decimal:
        return sum((line.quantity for line in self.lines if line.kind is LineKind.ENERGY_TAX), Decimal(0))

    @property
    def estimated(self) -> bool:
        return self.readings is not None and any(r.status is ReadingStatus.ESTIMATED for r in self.readings)


class LoadTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    energy_kwh: Decimal
    peak_kw: Decimal


class Settlement(BaseModel):
    """`balance` > 0: the customer pays; < 0: refund. `next_instalment` is monthly, gross, whole euros."""

    model_config = ConfigDict(frozen=True)

    gross: Decimal
    paid: Decimal
    balance: Decimal
    annual_kwh: Decimal
    annual_gross: Decimal
    next_instalment: Decimal


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _rate_at(rates: Rates, on: date, what: str) -> Decimal:
    valid = [rate for valid_from, rate in rates if valid_from <= on]
    if not valid:
        raise ValueError(f"no {what} known on {on.isoformat()}")
    return valid[-1]


def _check_ascending(starts: Sequence[date], what: str) -> None:
    if any(a >= b for a, b in pairwise(starts)):
        raise ValueError(f"{what} must be in strictly ascending order of their start dates")


def _check_period(start: date, end: date) -> None:
    if end <= start:
        raise ValueError(f"billing period [{start.isoformat()}, {end.isoformat()}) is empty or inverted")


def _check_kwh(kwh: Decimal, what: str) -> None:
    if not kwh.is_finite() or kwh < 0:
        raise ValueError(f"{what} must be a finite number of at least 0 kWh, got {kwh}")
    if kwh != kwh.quantize(KWH_STEP):
        raise ValueError(f"{what} must have at most 3 decimal places (0.001 kWh), got {kwh}")


def energy_tax_rate(on: date, division: str) -> Decimal:
    """Stromsteuer (strom) or Energiesteuer (gas) in EUR per kWh on `on`."""
    return _rate_at(ENERGY_TAX_RATES[normalise_division(division)], on, "energy tax rate")


def price_at(prices: Sequence[BillingPrice], on: date) -> BillingPrice:
    """The price version valid on `on` (`prices` ascending by `valid_from`)."""
    valid = [price for price in prices if price.valid_from <= on]
    if not valid:
        raise ValueError(f"no price valid on {on.isoformat()}")
    return valid[-1]


def distribute_by_days(total_kwh: Decimal, days: Sequence[int]) -> list[Decimal]:
    """Split `total_kwh` over segments of `days` linearly, in 0.001 kWh, adding up exactly.

    Each segment gets the difference of the running total rounded half up, e.g. 1000 over [1, 1, 1] days
    gives 333.333, 333.334, 333.333.
    """
    _check_kwh(total_kwh, "consumption")
    if not days or any(d <= 0 for d in days):
        raise ValueError(f"segments must have at least 1 day each, got {list(days)}")
    all_days = sum(days)
    shares: list[Decimal] = []
    running_days = 0
    previous = Decimal(0)
    for d in days:
        running_days += d
        cumulative = (total_kwh * running_days / all_days).quantize(KWH_STEP, rounding=ROUND_HALF_UP)
        shares.append(cumulative - previous)
        previous = cumulative
    return shares


def gas_kwh(volume_m3: Decimal, z_number: Decimal, calorific_value: Decimal) -> Decimal:
    """Thermal energy per DVGW G 685: m³ x Zustandszahl x Abrechnungsbrennwert (kWh/m³), to whole kWh half up.

    z and Hs are used as published by the grid operator (usually 4 and 3 decimal places); they are not rounded here.
    """
    if not volume_m3.is_finite() or volume_m3 < 0:
        raise ValueError(f"gas volume must be a finite number of at least 0 m³, got {volume_m3}")
    for name, factor in (("Zustandszahl", z_number), ("calorific value", calorific_value)):
        if not factor.is_finite() or factor <= 0:
            raise ValueError(f"{name} must be greater than 0, got {factor}")
    return (volume_m3 * z_number * calorific_value).quantize(WHOLE, rounding=ROUND_HALF_UP)


def meter_consumption(first: Reading, last: Reading) -> Decimal:
    """Register advance from `first` to `last` (kWh, for gas m³): the consumption of [first.on, last.on).

    A lower `last` value (meter rollover, meter change or a wrong reading) raises ValueError: bill the parts around a
    meter change separately or correct the reading.
    """
    if last.on <= first.on:
        raise ValueError(f"reading of {last.on.isoformat()} must be after the reading of {first.on.isoformat()}")
    advance = last.value - first.value
    if advance < 0:
        raise ValueError(
            f"register went backwards from {first.value} ({first.on.isoformat()}) to {last.value} "
            f"({last.on.isoformat()}): meter rollover, meter change or wrong reading"
        )
    return advance


def estimate_reading(
    previous: Reading,
    on: date,
    *,
    history: tuple[Reading, Reading] | None = None,
    annual_forecast: Decimal | None = None,
) -> Reading:
    """Estimated reading on `on`: `previous` plus a daily rate x days, rounded to whole register units half up.

    The daily rate is the advance between the `history` readings (the previous billing period) per day, or without
    history `annual_forecast` / 365. Both are in register units: kWh, for gas m³ (divide kWh by z x Hs first).
    """
    if on <= previous.on:
        raise ValueError(f"estimate date {on.isoformat()} must be after the previous reading {previous.on.isoformat()}")
    if history is not None:
        if history[1].on > previous.on:
            raise ValueError("history readings must end no later than the previous reading")
        daily = meter_consumption(*history) / (history[1].on - history[0].on).days
    elif annual_forecast is not None:
        if not annual_forecast.is_finite() or annual_forecast < 0:
            raise ValueError(f"annual forecast must be a finite number of at least 0, got {annual_forecast}")
        daily = annual_forecast / DAYS_PER_YEAR
    else:
        raise ValueError("an estimate needs the previous period's readings (history) or an annual forecast")
    value = (previous.value + daily * (on - previous.on).days).quantize(WHOLE, rounding=ROUND_HALF_UP)
    return Reading(on=on, value=value, status=ReadingStatus.ESTIMATED)


def load_profile_totals(values: Sequence[Decimal], division: str) -> LoadTotals:
    """Energy (sum) and peak demand of an RLM load profile.

    Strom: 15-minute kWh values, kW = kWh x 4. Gas: hourly kWh values, kW = kWh.
    """
    if not values:
        raise ValueError("load profile has no values")
    if any(not v.is_finite() or v < 0 for v in values):
        raise ValueError("load profile values must be finite numbers of at least 0 kWh")
    per_hour = 4 if normalise_division(division) == "strom" else 1
    return LoadTotals(energy_kwh=sum(values, Decimal(0)), peak_kw=max(values) * per_hour)


def _segment_lines(
    start: date, end: date, kwh: Decimal, price: BillingPrice, tax: Decimal, vat: Decimal, peak_kw: Decimal | None
) -> list[BillLine]:
    days = Decimal((end - start).days)

    def line(kind: LineKind, quantity: Decimal, unit_price: Decimal, exact: Decimal) -> BillLine:
        return BillLine(
            kind=kind,
            start=start,
            end=end,
            quantity=quantity,
            unit_price=unit_price,
            vat_rate=vat,
            amount=_cents(exact),
        )

    base = price.base_price_per_year
    lines = [
        line(LineKind.WORKING_PRICE, kwh, price.working_price, kwh * price.working_price),
        line(LineKind.BASE_PRICE, days, base, base * days / DAYS_PER_YEAR),
    ]
    if price.demand_price_per_kw_year is not None:
        if peak_kw is None:
            raise ValueError(f"price from {price.valid_from.isoformat()} has a demand price: peak_kw is required")
        demand = price.demand_price_per_kw_year
        lines.append(line(LineKind.DEMAND_PRICE, peak_kw, demand, peak_kw * demand * days / DAYS_PER_YEAR))
    if price.concession_fee is not None:
        lines.append(line(LineKind.CONCESSION_FEE, kwh, price.concession_fee, kwh * price.concession_fee))
    lines.append(line(LineKind.ENERGY_TAX, kwh, tax, kwh * tax))
    return lines


def compute_bill(
    division: str,
    start: date,
    end: date,
    consumption_kwh: Decimal,
    prices: Sequence[BillingPrice],
    *,
    peak_kw: Decimal | None = None,
    readings: tuple[Reading, Reading] | None = None,
    energy_tax_rates: Rates | None = None,
    vat_rates: Rates | None = None,
) -> Bill:
    """Bill of [start, end) for `consumption_kwh` (at most 0.001 kWh precision).

    `peak_kw` is required when a price version has a demand price. `readings`, if given, must be taken on `start`
    and `end`. `energy_tax_rates` and `vat_rates` override ENERGY_TAX_RATES and rules.budget.VAT_RATES.
    """
    division = normalise_division(division)
    _check_period(start, end)
    _check_kwh(consumption_kwh, "consumption")
    if peak_kw is not None and (not peak_kw.is_finite() or peak_kw < 0):
        raise ValueError(f"peak demand must be a finite number of at least 0 kW, got {peak_kw}")
    if readings is not None and (readings[0].on, readings[1].on) != (start, end):
        raise ValueError(
            f"readings of {readings[0].on.isoformat()} and {readings[1].on.isoformat()} must be taken on "
            f"the period start {start.isoformat()} and end {end.isoformat()}"
        )
    tax_rates = ENERGY_TAX_RATES[division] if energy_tax_rates is None else energy_tax_rates
    vats = VAT_RATES[division] if vat_rates is None else vat_rates
    _check_ascending([p.valid_from for p in prices], "price versions")
    _check_ascending([d for d, _ in tax_rates], "energy tax rates")
    _check_ascending([d for d, _ in vats], "VAT rates")

    changes = {p.valid_from for p in prices} | {d for d, _ in tax_rates} | {d for d, _ in vats}
    bounds = sorted({start, end} | {d for d in changes if start < d < end})
    segments = list(pairwise(bounds))
    kwh_per_segment = distribute_by_days(consumption_kwh, [(b - a).days for a, b in segments])

    lines: list[BillLine] = []
    for (seg_start, seg_end), kwh in zip(segments, kwh_per_segment, strict=True):
        tax = _rate_at(tax_rates, seg_start, "energy tax rate")
        vat = _rate_at(vats, seg_start, "VAT rate")
        lines += _segment_lines(seg_start, seg_end, kwh, price_at(prices, seg_start), tax, vat, peak_kw)

    group_net: dict[Decimal, Decimal] = {}
    for bill_line in lines:
        group_net[bill_line.vat_rate] = group_net.get(bill_line.vat_rate, Decimal(0)) + bill_line.amount
    groups = [VatGroup(rate=rate, net=net, vat=_cents(net * rate)) for rate, net in group_net.items()]
    net = sum((g.net for g in groups), Decimal(0))
    vat_total = sum((g.vat for g in groups), Decimal(0))
    return Bill(
        division=division,
        start=start,
        end=end,
        consumption_kwh=consumption_kwh,
        peak_kw=peak_kw,
        readings=readings,
        lines=lines,
        vat_groups=groups,
        net=net,
        vat=vat_total,
        gross=net + vat_total,
    )


def settle(
    bill: Bill,
    paid: Decimal | Sequence[Decimal],
    prices: Sequence[BillingPrice],
    *,
    count: int = 12,
    energy_tax_rates: Rates | None = None,
    vat_rates: Rates | None = None,
) -> Settlement:
    """Balance of `bill` after the instalments `paid`, and the next monthly instalment.

    The next instalment annualises the billed kWh (kWh per day x 365, whole kWh half up; the peak kW stays) and prices
    a year at the prices, energy tax and VAT valid on `bill.end` (the next period's start), with the bill's line and
    VAT rounding; the gross / `count` is rounded up to whole euros.
    """
    if count < 1:
        raise ValueError(f"number of instalments must be at least 1, got {count}")
    amounts = [paid] if isinstance(paid, Decimal) else list(paid)
    for amount in amounts:
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
            raise ValueError(f"paid instalments must be amounts of at least 0 in whole cents, got {amount}")
    total_paid = sum(amounts, Decimal(0))

    division = normalise_division(bill.division)
    on = bill.end
    tax = _rate_at(ENERGY_TAX_RATES[division] if energy_tax_rates is None else energy_tax_rates, on, "energy tax rate")
    vat = _rate_at(VAT_RATES[division] if vat_rates is None else vat_rates, on, "VAT rate")
    price = price_at(prices, on).model_copy(update={"valid_from": on})
    annual_kwh = (bill.consumption_kwh * DAYS_PER_YEAR / bill.days).quantize(WHOLE, rounding=ROUND_HALF_UP)
    annual = compute_bill(
        division,
        on,
        on + timedelta(days=DAYS_PER_YEAR),
        annual_kwh,
        [price],
        peak_kw=bill.peak_kw,
        energy_tax_rates=[(on, tax)],
        vat_rates=[(on, vat)],
    )
    return Settlement(
        gross=bill.gross,
        paid=total_paid,
        balance=bill.gross - total_paid,
        annual_kwh=annual_kwh,
        annual_gross=annual.gross,
        next_instalment=(annual.gross / count).quantize(WHOLE, rounding=ROUND_CEILING),
    )


def merge_tariffs(schedule: Sequence[tuple[date, Sequence[BillingPrice]]]) -> list[BillingPrice]:
    """One price list for a contract that changed its tariff: from each switch day (ascending) the prices of the
    tariff chosen then, starting with its version valid on that day; the bill prorates at the switch as at any
    price change."""
    merged: list[BillingPrice] = []
    for index, (start, prices) in enumerate(schedule):
        end = schedule[index + 1][0] if index + 1 < len(schedule) else None
        ordered = sorted(prices, key=lambda p: p.valid_from)
        current = [p for p in ordered if p.valid_from <= start]
        if current:
            merged.append(current[-1].model_copy(update={"valid_from": start}))
        merged += [p for p in ordered if start < p.valid_from and (end is None or p.valid_from < end)]
    return merged
