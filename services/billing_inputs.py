"""What billing needs of a set of contracts, loaded in a few set-based queries (a chunk of a mass run at once)."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import text
from sqlmodel import Session

from rules.billing import BillingPrice, Reading, ReadingStatus, merge_tariffs
from rules.calendar import BERLIN, day_start
from services import tax_rates

READING_WINDOW = (timedelta(days=42), timedelta(days=14))
"""A periodic bill takes the actual reading nearest its planned end within six weeks before or two after."""
ACTUAL_QUALITIES = {"220"}
"""QTY 220 is a true value; 67 (Ersatzwert) and Z18 (vorläufig) come from the metering operator but are estimates."""


@dataclass
class ContractFacts:
    contract_id: int
    tenant_id: str
    contract_number: str
    division: str
    account_id: int
    account_number: str
    customer_name: str
    location_id: int
    malo_id: str
    tariff_id: int
    annual_kwh: Decimal
    supply_start: date
    supply_end: date | None
    billed_until: date | None
    cycle_months: int
    release_limit: Decimal | None
    meter_number: str | None
    tariff_name: str
    metering: str
    comparison_kwh: Decimal | None = None
    """Average forecast of the tenant's contracts on the same tariff: the comparable customer group."""
    readings: list[tuple[date, Reading, str | None]] = field(default_factory=list)
    """(day, reading, meter number), register readings of the location, by day."""
    prices: list[BillingPrice] = field(default_factory=list)
    conversions: list[tuple[date, date, Decimal, Decimal]] = field(default_factory=list)
    """Gas: (valid from, valid until, calorific value, Zustandszahl)."""
    previous_bill: dict[str, Any] | None = None
    """The last booked bill's details (its end reading starts the next period)."""
    profile: "ProfileTotals | None" = None
    """RLM: the load profile of the next monthly period."""
    instalments: list[tuple[date, Decimal, Decimal]] = field(default_factory=list)
    """Instalment requests of the account: (due date, amount, paid), paid = cleared by payments."""
    energy_tax_rates: list[tuple[date, Decimal]] | None = None
    vat_rates: list[tuple[date, Decimal]] | None = None
    """The dated tax rates (built-in and stored, see services.tax_rates)."""

    @property
    def period_start(self) -> date:
        return self.billed_until or self.supply_start


CONTRACTS_SQL = """
SELECT c.id AS contract_id, c.tenant_id, c.contract_number, c.division, c.account_id, a.account_number,
       coalesce(nullif(cu.company, ''), trim(cu.first_name || ' ' || cu.last_name)) AS customer_name,
       l.id AS location_id, l.malo_id, c.tariff_id, c.annual_consumption_kwh AS annual_kwh, c.supply_start,
       c.supply_end, c.billed_until, c.billing_cycle_months AS cycle_months, t.release_limit,
       tf.name AS tariff_name, c.metering,
       (SELECT m.meter_number FROM meter m WHERE m.location_id = l.id ORDER BY m.id DESC LIMIT 1) AS meter_number
FROM contract c
JOIN contract_account a ON a.id = c.account_id
JOIN customer cu ON cu.id = c.customer_id
JOIN market_location l ON l.id = c.location_id
JOIN tenant t ON t.id = c.tenant_id
JOIN tariff tf ON tf.id = c.tariff_id
WHERE c.tenant_id = :tenant AND c.id = ANY(:ids) AND c.supply_start IS NOT NULL
"""

READINGS_SQL = """
SELECT r.location_id, r.at, r.value, r.quality, r.meter_number
FROM meter_reading r
WHERE r.tenant_id = :tenant AND r.location_id = ANY(:ids) AND r.period_start IS NULL
  AND (r.obis IS NULL OR r.obis NOT LIKE '%2.8.%')
ORDER BY r.at, r.id
"""
"""Register readings (not quantities, not feed-in) of the given MaLo and MeLo ids (index on tenant, location, at)."""

LOCATION_IDS_SQL = """
SELECT l.id, l.malo_id AS location_id FROM market_location l WHERE l.id = ANY(:locations)
UNION ALL
SELECT m.location_id, m.melo_id FROM meter m WHERE m.location_id = ANY(:locations) AND m.melo_id IS NOT NULL
"""

COMPARISON_SQL = """
SELECT tariff_id, round(avg(annual_consumption_kwh)) AS kwh FROM contract
WHERE tariff_id = ANY(:tariffs) AND supply_start IS NOT NULL GROUP BY tariff_id
"""

SCHEDULE_SQL = """
SELECT contract_id, tariff_id, valid_from FROM contract_tariff WHERE contract_id = ANY(:ids)
ORDER BY contract_id, valid_from
"""
"""Product changes: the tariff of each contract from each day on."""
PRICES_SQL = """
SELECT tariff_id, valid_from, working_price, base_price_per_year, demand_price_per_kw_year, concession_fee
FROM tariff_price
WHERE tariff_id = ANY(:tariffs) ORDER BY tariff_id, valid_from
"""

CONVERSIONS_SQL = """
SELECT location_id, valid_from, valid_until, calorific_value, z_number FROM gas_conversion
WHERE location_id = ANY(:locations) ORDER BY location_id, valid_from
"""

PREVIOUS_BILLS_SQL = """
SELECT DISTINCT ON (contract_id) contract_id, number, details FROM bill
WHERE contract_id = ANY(:ids) AND state = 'booked' AND kind <> 'cancellation'
ORDER BY contract_id, period_end DESC
"""

INSTALMENTS_SQL = """
SELECT a.number AS account_number, a.division, l.due_date, l.debit AS amount,
       coalesce((SELECT sum(c.amount) FROM clearing c JOIN posting_line p ON p.id = c.by_line_id
                 JOIN posting_document pd ON pd.id = p.document_id
                 WHERE c.item_line_id = l.id AND pd.doc_type NOT IN ('instalment_settlement', 'reversal')), 0)
           AS paid
FROM posting_line l
JOIN posting_document d ON d.id = l.document_id
JOIN ledger_account a ON a.id = l.account_id
WHERE a.tenant_id = :tenant AND a.kind = 'debtor' AND a.number = ANY(:accounts) AND d.doc_type = 'instalment_request'
ORDER BY l.due_date, l.id
"""


def load_facts(session: Session, tenant_id: str, contract_ids: Sequence[int]) -> dict[int, ContractFacts]:
    """Everything needed to bill these contracts; contracts not (yet) supplied are left out."""
    ids = list(contract_ids)
    facts = {
        row.contract_id: ContractFacts(**row._mapping)
        for row in session.execute(text(CONTRACTS_SQL), {"tenant": tenant_id, "ids": ids})
    }
    if not facts:
        return facts
    by_location: dict[int, list[ContractFacts]] = defaultdict(list)
    for fact in facts.values():
        by_location[fact.location_id].append(fact)
    locations = list(by_location)
    owner: dict[str, int] = {
        row.location_id: row.id for row in session.execute(text(LOCATION_IDS_SQL), {"locations": locations})
    }
    readings = session.execute(text(READINGS_SQL), {"tenant": tenant_id, "ids": list(owner)})
    for row in readings:
        status = ReadingStatus.ACTUAL if row.quality in ACTUAL_QUALITIES else ReadingStatus.ESTIMATED
        day = row.at.astimezone(BERLIN).date()
        for fact in by_location[owner[row.location_id]]:
            fact.readings.append((day, Reading(on=day, value=row.value, status=status), row.meter_number))
    prices: dict[int, list[BillingPrice]] = defaultdict(list)
    schedules: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for row in session.execute(text(SCHEDULE_SQL), {"ids": ids}):
        schedules[row.contract_id].append((row.valid_from, row.tariff_id))
    switched = {tariff for schedule in schedules.values() for _, tariff in schedule}
    tariffs = list({fact.tariff_id for fact in facts.values()} | switched)
    for row in session.execute(text(PRICES_SQL), {"tariffs": tariffs}):
        prices[row.tariff_id].append(
            BillingPrice(
                valid_from=row.valid_from,
                working_price=row.working_price,
                base_price_per_year=row.base_price_per_year,
                demand_price_per_kw_year=row.demand_price_per_kw_year,
                concession_fee=row.concession_fee,
            )
        )
    comparison = {row.tariff_id: row.kwh for row in session.execute(text(COMPARISON_SQL), {"tariffs": tariffs})}
    for row in session.execute(text(CONVERSIONS_SQL), {"locations": locations}):
        for fact in by_location[row.location_id]:
            fact.conversions.append((row.valid_from, row.valid_until, row.calorific_value, row.z_number))
    for row in session.execute(text(PREVIOUS_BILLS_SQL), {"ids": ids}):
        facts[row.contract_id].previous_bill = row.details | {"number": row.number}
    by_account: dict[str, list[ContractFacts]] = defaultdict(list)
    taxes = {
        division: (tax_rates.rates(session, "energy_tax", division), tax_rates.rates(session, "vat", division))
        for division in {fact.division for fact in facts.values()}
    }
    for contract_id, fact in facts.items():
        fact.energy_tax_rates, fact.vat_rates = taxes[fact.division]
        schedule = schedules.get(contract_id)
        fact.prices = merge_tariffs([(day, prices[t]) for day, t in schedule]) if schedule else prices[fact.tariff_id]
        fact.comparison_kwh = comparison.get(fact.tariff_id)
        by_account[fact.account_number].append(fact)
    instalments = session.execute(text(INSTALMENTS_SQL), {"tenant": tenant_id, "accounts": list(by_account)})
    for row in instalments:
        for fact in by_account[row.account_number]:
            if fact.division == row.division:
                fact.instalments.append((row.due_date, row.amount, row.paid))
    for fact in facts.values():
        if fact.metering == "rlm":
            since, until = rlm_period(fact)
            fact.profile = profile_totals(
                session, tenant_id, fact.malo_id, day_start(since, fact.division), day_start(until, fact.division)
            )
    return facts


def rlm_period(fact: ContractFacts) -> tuple[date, date]:
    """The next monthly period of an RLM contract, up to its supply end."""
    end = fact.period_start + relativedelta(months=fact.cycle_months)
    return fact.period_start, min(end, fact.supply_end) if fact.supply_end else end


PROFILE_SQL = """
SELECT count(v.value) AS values, coalesce(sum(v.value), 0) AS energy, coalesce(max(v.value), 0) AS peak,
       min(p.interval_minutes) AS interval_minutes, max(p.interval_minutes) AS max_interval
FROM load_profile p
CROSS JOIN LATERAL unnest(p.values) WITH ORDINALITY AS v(value, i)
WHERE p.tenant_id = :tenant AND p.location_id = :malo AND p.start < :until AND p."end" > :since
  AND p.start + (v.i - 1) * make_interval(mins => p.interval_minutes) >= :since
  AND p.start + (v.i - 1) * make_interval(mins => p.interval_minutes) < :until
"""
"""Energy, peak and count of the load-profile values in [since, until) (overlapping deliveries: the latest
values are what the grid operator sent last; duplicates are counted and make the profile look over-complete)."""


@dataclass
class ProfileTotals:
    values: int
    energy: Decimal
    peak: Decimal
    interval_minutes: int | None


def profile_totals(session: Session, tenant_id: str, malo_id: str, since: datetime, until: datetime) -> ProfileTotals:
    row = session.execute(
        text(PROFILE_SQL), {"tenant": tenant_id, "malo": malo_id, "since": since, "until": until}
    ).one()
    if row.interval_minutes != row.max_interval:
        raise ValueError(
            f"load profile of MaLo {malo_id} mixes {row.interval_minutes}- and {row.max_interval}-minute values"
        )
    return ProfileTotals(row.values, Decimal(row.energy), Decimal(row.peak), row.interval_minutes)
