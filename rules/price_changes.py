"""When customers must hear of a price change, and when a cancellation because of it ends the supply. Pure.

The notice periods are dated parameters (a change in the law is a new entry, not a code change in the run):
special contracts §41 Abs. 5 EnWG: one month before the change takes effect; basic supply § 5 Abs. 2
StromGVV/GasGVV: six weeks. Both are to be confirmed against the current text of the law before use.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class NoticePeriod:
    valid_from: date
    special_contracts: relativedelta
    basic_supply: relativedelta


NOTICE_PERIODS = [
    NoticePeriod(date(2021, 7, 27), relativedelta(months=1), relativedelta(weeks=6)),
]
"""Ascending by the day the rule applies to price changes from."""


def notice_period(change_on: date, basic_supply: bool) -> relativedelta:
    rule = next((p for p in reversed(NOTICE_PERIODS) if p.valid_from <= change_on), None)
    if rule is None:
        raise ValueError(f"no notice period known for a price change on {change_on}")
    return rule.basic_supply if basic_supply else rule.special_contracts


def latest_letter_day(change_on: date, basic_supply: bool) -> date:
    """The last day the customer may receive the notice (letters go out at least this early)."""
    return change_on - notice_period(change_on, basic_supply)


def earliest_change(today: date, basic_supply: bool) -> date:
    """The earliest day a price change announced today can take effect (one day for delivery of the letter)."""
    day = today + timedelta(days=1)
    while latest_letter_day(day, basic_supply) < today + timedelta(days=1):
        day += timedelta(days=1)
    return day
