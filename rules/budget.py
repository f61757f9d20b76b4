"""Budget billing (Abschlagsplan): annual cost, VAT and monthly instalments.

Money is Decimal in EUR. Amounts are rounded ROUND_HALF_UP to cents once: the net annual cost,
then the VAT on the rounded net; instalments split the gross in whole cents and add up exactly.
"""

from calendar import monthrange
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules.calendar import normalise_division

CENT = Decimal("0.01")
NOTICE = timedelta(days=14)

_VAT_19 = Decimal("0.19")
_VAT_16 = Decimal("0.16")
_VAT_7 = Decimal("0.07")

# Dated VAT rates for energy supplies per division: (valid from, rate), ascending.
# 16 % in the second half of 2020 (§ 28 UStG); gas 7 % from 2022-10-01 to 2024-03-31 (§ 28 Abs. 5 UStG).
VAT_RATES: dict[str, list[tuple[date, Decimal]]] = {
    "strom": [
        (date(2007, 1, 1), _VAT_19),
        (date(2020, 7, 1), _VAT_16),
        (date(2021, 1, 1), _VAT_19),
    ],
    "gas": [
        (date(2007, 1, 1), _VAT_19),
        (date(2020, 7, 1), _VAT_16),
        (date(2021, 1, 1), _VAT_19),
        (date(2022, 10, 1), _VAT_7),
        (date(2024, 4, 1), _VAT_19),
    ],
}


class PriceVersion(BaseModel):
    """Net prices of a tariff from `valid_from` on."""

    model_config = ConfigDict(frozen=True)

    valid_from: date
    working_price: Decimal = Field(max_digits=18, decimal_places=6, description="EUR per kWh, net")
    base_price_per_year: Decimal = Field(max_digits=18, decimal_places=6, description="EUR per year, net")

    @field_validator("working_price")
    @classmethod
    def _working_price_positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError(f"working price must be greater than 0 EUR/kWh, got {value}")
        return value

    @field_validator("base_price_per_year")
    @classmethod
    def _base_price_not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError(f"base price must not be negative, got {value} EUR per year")
        return value


class AnnualCost(BaseModel):
    model_config = ConfigDict(frozen=True)

    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_rate: Decimal


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True)

    due_date: date
    amount: Decimal


class BudgetPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    annual: AnnualCost
    instalment: Decimal = Field(description="regular amount: the last instalment's")
    instalments: list[Instalment]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_rate(on: date, division: str) -> Decimal:
    """VAT rate for energy of `division` supplied on `on`."""
    rates = VAT_RATES[normalise_division(division)]
    if on < rates[0][0]:
        raise ValueError(f"no VAT rate known before {rates[0][0].isoformat()}")
    return next(rate for valid_from, rate in reversed(rates) if valid_from <= on)


def annual_cost(consumption_kwh: Decimal, price: PriceVersion, on: date, division: str) -> AnnualCost:
    """Annual cost: net = kWh x working price + base price (to cents), VAT on the net at the rate of `on`."""
    if not consumption_kwh.is_finite() or consumption_kwh <= 0:
        raise ValueError(f"annual consumption must be greater than 0 kWh, got {consumption_kwh}")
    rate = vat_rate(on, division)
    net = _cents(consumption_kwh * price.working_price + price.base_price_per_year)
    vat = _cents(net * rate)
    return AnnualCost(net=net, vat=vat, gross=net + vat, vat_rate=rate)


def split_instalments(total: Decimal, count: int = 12) -> list[Decimal]:
    """Split `total` (whole cents, not negative) into `count` amounts that add up exactly.

    All amounts are equal except that the first ones carry one remainder cent each.
    """
    if count < 1:
        raise ValueError(f"number of instalments must be at least 1, got {count}")
    if not total.is_finite() or total < 0 or total != total.quantize(CENT):
        raise ValueError(f"total must be a non-negative amount in whole cents, got {total}")
    regular, remainder = divmod(int(total * 100), count)
    cents = [regular + 1 if i < remainder else regular for i in range(count)]
    return [_cents(Decimal(c) / 100) for c in cents]


def _same_day_months_later(start: date, months: int) -> date:
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    month = month_index + 1
    return date(year, month, min(start.day, monthrange(year, month)[1]))


def budget_plan(
    consumption_kwh: Decimal, price: PriceVersion, first_due: date, division: str, count: int = 12
) -> BudgetPlan:
    """Plan of `count` monthly instalments from `first_due` (same day of month, clamped to month end).

    The annual cost uses the VAT rate on `first_due`.
    """
    annual = annual_cost(consumption_kwh, price, first_due, division)
    amounts = split_instalments(annual.gross, count)
    instalments = [
        Instalment(due_date=_same_day_months_later(first_due, i), amount=amount) for i, amount in enumerate(amounts)
    ]
    return BudgetPlan(annual=annual, instalment=amounts[-1], instalments=instalments)


def first_instalment_due(supply_start: date, issued_on: date | None = None) -> date:
    """Due date of the first instalment: the first 1st or 15th of a month at least 14 days after
    the supply start, or after `issued_on` (the day the plan is sent) if that is later.

    The 14 days follow §40c (1) EnWG: payments are due at the earliest two weeks after the
    payment request is received. Examples: start 01.10. -> 15.10.; start 02.10. -> 01.11.
    """
    earliest = max(supply_start, issued_on or supply_start) + NOTICE
    if earliest.day in (1, 15):
        return earliest
    if earliest.day < 15:
        return earliest.replace(day=15)
    return _same_day_months_later(earliest.replace(day=1), 1)
