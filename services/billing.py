"""Billing contracts: readings to bill drafts, plausibility holds, gapless numbers, ledger postings.

Works on a chunk of contracts at once (a mass run bills thousands per transaction): inputs come from a few
set-based queries, the bills are computed by ``rules.billing``, and the bookable ones are numbered and booked
together. A draft that fails a plausibility check is stored as held, without number and without posting, until
a clerk releases, corrects or cancels it. Everything happens in the caller's transaction: a crash leaves no
half-billed contract, and a contract's period is billed once (a unique index on contract, kind and period end).

Money: every bill line is rounded to cents by ``rules.billing``; the ledger books the bill's net (without the
electricity/energy tax), that tax, and the VAT exactly as the bill shows them.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.billing import Bill, BillingRunItem, BillKind, BillNumberRange, BillState
from rules.billing import Bill as Computed
from rules.billing import Reading, ReadingStatus, compute_bill, estimate_reading, gas_kwh, settle
from rules.calendar import day_start
from rules.kontierung import assign
from services.billing_inputs import READING_WINDOW, ContractFacts, load_facts, rlm_period
from services.chart import debtor_accounts, ensure_chart
from services.instalments import renew_plans
from services.ledger import Line, PostingRequest, net_open_items, post_many

PAYMENT_TERM = timedelta(days=17)
"""Due 14 days after receipt (§40c (1) EnWG), plus three days for the post."""
REFUND_TERM = timedelta(days=14)
"""A credit is paid out within two weeks (§40c (3) EnWG)."""
DEVIATION_LIMIT = Decimal("0.5")
"""A bill whose annualised consumption is more than 50 % off the forecast or the previous year is held."""


class Outcome(StrEnum):
    BILLED = "billed"
    HELD = "held"
    FAILED = "failed"


class BillingResult(BaseModel):
    contract_id: int
    outcome: Outcome
    reason: str = ""
    bill_id: int | None = None


class NotBillable(ValueError):
    """The contract cannot be billed now; the message says why (reported in the run summary)."""


class Draft(BaseModel):
    facts_contract_id: int
    kind: BillKind
    period_end: date
    computed: Computed | None
    details: dict[str, Any]
    hold_reasons: list[str]
    instalments_requested: Decimal


def bill_contracts(
    session: Session,
    tenant_id: str,
    contract_ids: Sequence[int],
    on: date,
    run_id: str,
    kind: BillKind = BillKind.PERIODIC,
) -> list[BillingResult]:
    """Bill these contracts as of ``on``; a contract this run already billed or held returns that result, one
    that failed is tried again."""
    done = _results_of_run(session, run_id, contract_ids)
    todo = [contract_id for contract_id in contract_ids if contract_id not in done]
    facts = load_facts(session, tenant_id, todo)
    results: dict[int, BillingResult] = {}
    drafts: list[tuple[ContractFacts, Draft]] = []
    for contract_id in todo:
        fact = facts.get(contract_id)
        try:
            if fact is None:
                raise NotBillable("contract unknown to this tenant or not supplied")
            drafts.append((fact, draft_bill(fact, on, kind)))
        except (NotBillable, ValueError) as refused:
            results[contract_id] = BillingResult(contract_id=contract_id, outcome=Outcome.FAILED, reason=str(refused))
    bills = _store_drafts(session, tenant_id, drafts, on, run_id)
    bookable = [(fact, bill) for (fact, draft), bill in zip(drafts, bills, strict=True) if not draft.hold_reasons]
    book_bills(session, tenant_id, [bill for _, bill in bookable], on)
    for (fact, draft), bill in zip(drafts, bills, strict=True):
        outcome = Outcome.HELD if draft.hold_reasons else Outcome.BILLED
        results[fact.contract_id] = BillingResult(
            contract_id=fact.contract_id, outcome=outcome, reason="; ".join(draft.hold_reasons), bill_id=bill.id
        )
    _record_run(session, tenant_id, run_id, list(results.values()))
    return [done.get(contract_id) or results[contract_id] for contract_id in contract_ids]


def draft_bill(fact: ContractFacts, on: date, kind: BillKind) -> Draft:
    """Compute the bill of the contract's next period and check it; raises NotBillable."""
    start = fact.period_start
    if kind is BillKind.FINAL:
        if fact.supply_end is None:
            raise NotBillable("no supply end: a final bill needs the end of supply")
        planned = fact.supply_end
    else:
        planned = start + relativedelta(months=fact.cycle_months)
        if fact.supply_end is not None and fact.supply_end <= planned:
            raise NotBillable(f"supply ends on {fact.supply_end}: the final bill covers the rest")
    if fact.metering == "rlm":
        return _draft_rlm(fact, on, kind)
    if planned - READING_WINDOW[0] > on:
        raise NotBillable(f"not due: the period ends on {planned}")
    first = _start_reading(fact, start)
    last = _end_reading(fact, first, planned, on, exact=kind is BillKind.FINAL)
    holds: list[str] = []
    meters = {meter for day, _, meter in fact.readings if day in (first.on, last.on) and meter}
    if len(meters) > 1:
        holds.append(f"meter change in the period ({', '.join(sorted(meters))}): bill the parts separately")
    advance = last.value - first.value
    if advance < 0:
        holds.append(f"negative consumption: reading {last.value} on {last.on} below {first.value} on {first.on}")
        return _held_without_computation(fact, kind, first, last, holds)
    details: dict[str, Any] = {
        "meter_number": fact.meter_number,
        "unit": "m3" if fact.division == "gas" else "kWh",
        "gas": None,
        "previous_bill_number": (fact.previous_bill or {}).get("number"),
        "tariff_name": fact.tariff_name,
        "comparison_kwh": None if fact.comparison_kwh is None else str(fact.comparison_kwh),
    }
    consumption = advance
    if fact.division == "gas":
        calorific, z_number = _conversion(fact, last.on)
        consumption = gas_kwh(advance, z_number, calorific)
        details["gas"] = {"volume_m3": str(advance), "calorific_value": str(calorific), "z_number": str(z_number)}
    if not fact.prices:
        raise NotBillable(f"tariff {fact.tariff_id} has no prices")
    computed = compute_bill(
        fact.division,
        first.on,
        last.on,
        consumption,
        fact.prices,
        readings=(first, last),
        energy_tax_rates=fact.energy_tax_rates,
        vat_rates=fact.vat_rates,
    )
    items = [(due, amount, paid) for due, amount, paid in fact.instalments if due < last.on]
    requested = sum((amount for _, amount, _ in items), Decimal("0.00"))
    paid = sum((paid for _, _, paid in items), Decimal("0.00"))
    settlement = settle(computed, paid, fact.prices, energy_tax_rates=fact.energy_tax_rates, vat_rates=fact.vat_rates)
    previous_kwh = _previous_year_kwh(fact, computed)
    holds += _plausibility(fact, computed, previous_kwh)
    details |= {
        "computation": computed.model_dump(mode="json"),
        "settlement": settlement.model_dump(mode="json"),
        "previous_year_kwh": None if previous_kwh is None else str(previous_kwh),
        "end_reading": last.model_dump(mode="json"),
    }
    return Draft(
        facts_contract_id=fact.contract_id,
        kind=kind,
        period_end=last.on,
        computed=computed,
        details=details,
        hold_reasons=holds,
        instalments_requested=requested,
    )


def _draft_rlm(fact: ContractFacts, on: date, kind: BillKind) -> Draft:
    """A monthly RLM bill from the 15-minute (gas: hourly) values: energy, and the peak for the demand price."""
    start, end = rlm_period(fact)
    if kind is BillKind.FINAL and fact.supply_end != end:
        raise NotBillable("the final RLM bill is the month in which supply ends")
    if end > on:
        raise NotBillable(f"not due: the period ends on {end}")
    profile = fact.profile
    interval = (
        profile.interval_minutes if profile and profile.interval_minutes else (15 if fact.division == "strom" else 60)
    )
    seconds = (day_start(end, fact.division) - day_start(start, fact.division)).total_seconds()
    expected = int(seconds // (interval * 60))
    if profile is None or profile.values < expected:
        raise NotBillable(
            f"load profile of MaLo {fact.malo_id} incomplete: {profile.values if profile else 0} of {expected} values"
        )
    if not fact.prices:
        raise NotBillable(f"tariff {fact.tariff_id} has no prices")
    peak_kw = profile.peak * 60 / interval
    energy = profile.energy.quantize(Decimal("0.001"))
    computed = compute_bill(
        fact.division,
        start,
        end,
        energy,
        fact.prices,
        peak_kw=peak_kw,
        energy_tax_rates=fact.energy_tax_rates,
        vat_rates=fact.vat_rates,
    )
    settlement = settle(
        computed,
        Decimal("0.00"),
        fact.prices,
        count=1,
        energy_tax_rates=fact.energy_tax_rates,
        vat_rates=fact.vat_rates,
    )
    details: dict[str, Any] = {
        "meter_number": fact.meter_number,
        "unit": "kWh",
        "gas": None,
        "previous_bill_number": (fact.previous_bill or {}).get("number"),
        "tariff_name": fact.tariff_name,
        "comparison_kwh": None,
        "profile": {"values": profile.values, "interval_minutes": interval, "peak_kw": str(peak_kw)},
        "computation": computed.model_dump(mode="json"),
        "settlement": settlement.model_dump(mode="json"),
        "previous_year_kwh": None,
    }
    return Draft(
        facts_contract_id=fact.contract_id,
        kind=kind,
        period_end=end,
        computed=computed,
        details=details,
        hold_reasons=_plausibility(fact, computed, None),
        instalments_requested=Decimal("0.00"),
    )


def _start_reading(fact: ContractFacts, start: date) -> Reading:
    """The previous bill's end reading, else the reading on the start day (the Anfangsstand at supply start)."""
    previous = (fact.previous_bill or {}).get("end_reading")
    if previous is not None and Reading.model_validate(previous).on == start:
        return Reading.model_validate(previous)
    if start in (by_day := _by_day(fact)):
        return by_day[start]
    raise NotBillable(f"no meter reading on {start} (start of the period) for MaLo {fact.malo_id}")


def _end_reading(fact: ContractFacts, first: Reading, planned: date, on: date, *, exact: bool) -> Reading:
    """The reading nearest the planned end (on the day for a final bill); without one, two weeks after the
    planned end an estimate on the planned day."""
    before, after = READING_WINDOW
    candidates = [
        reading
        for day, reading in _by_day(fact).items()
        if first.on < day <= on and (day == planned if exact else planned - before <= day <= planned + after)
    ]
    if candidates:
        actual = [r for r in candidates if r.status is ReadingStatus.ACTUAL] or candidates
        return min(actual, key=lambda r: (abs((r.on - planned).days), r.on))
    if exact:
        raise NotBillable(f"no final meter reading on {planned} for MaLo {fact.malo_id}")
    if on < planned + after:
        raise NotBillable(f"waiting for the meter reading of {planned} until {planned + after}, then estimated")
    return _estimate(fact, first, planned)


def _estimate(fact: ContractFacts, first: Reading, day: date) -> Reading:
    """The register on ``day`` from the previous period's consumption, or the annual forecast (linear by days)."""
    history = _history(fact)
    forecast = fact.annual_kwh
    if fact.division == "gas" and history is None:
        calorific, z_number = _conversion(fact, day)
        forecast = (forecast / (calorific * z_number)).quantize(Decimal("0.001"))
    return estimate_reading(first, day, history=history, annual_forecast=None if history else forecast)


def estimate_reading_on(session: Session, tenant_id: str, contract_id: int, day: date) -> Reading:
    """An estimated register reading of the contract on ``day`` (e.g. the final reading that never came)."""
    fact = load_facts(session, tenant_id, [contract_id]).get(contract_id)
    if fact is None:
        raise NotBillable(f"contract {contract_id} is unknown or not supplied")
    return _estimate(fact, _start_reading(fact, fact.period_start), day)


def _by_day(fact: ContractFacts) -> dict[date, Reading]:
    """One reading per day: the last one received or entered (a correction replaces the wrong value)."""
    return {day: reading for day, reading, _ in fact.readings}


def _history(fact: ContractFacts) -> tuple[Reading, Reading] | None:
    readings = ((fact.previous_bill or {}).get("computation") or {}).get("readings")
    if not readings:
        return None
    return Reading.model_validate(readings[0]), Reading.model_validate(readings[1])


def _conversion(fact: ContractFacts, on: date) -> tuple[Decimal, Decimal]:
    for valid_from, valid_until, calorific, z_number in fact.conversions:
        if valid_from < on <= valid_until:
            return calorific, z_number
    raise NotBillable(f"no calorific value and Zustandszahl of the grid operator for MaLo {fact.malo_id} on {on}")


def _previous_year_kwh(fact: ContractFacts, computed: Computed) -> Decimal | None:
    previous = (fact.previous_bill or {}).get("computation")
    if not previous:
        return None
    return Decimal(previous["consumption_kwh"])


def _plausibility(fact: ContractFacts, computed: Computed, previous_kwh: Decimal | None) -> list[str]:
    holds = []
    annualised = computed.consumption_kwh * 365 / max(computed.days, 1)
    for label, reference in (("the forecast", fact.annual_kwh), ("the previous bill", previous_kwh)):
        if reference and abs(annualised / reference - 1) > DEVIATION_LIMIT:
            holds.append(f"consumption {annualised:.0f} kWh a year is {annualised / reference:.1f}x {label}")
    if fact.release_limit is not None and computed.gross > fact.release_limit:
        holds.append(f"bill amount {computed.gross} EUR above the release limit of {fact.release_limit} EUR")
    return holds


def _held_without_computation(
    fact: ContractFacts, kind: BillKind, first: Reading, last: Reading, holds: list[str]
) -> Draft:
    return Draft(
        facts_contract_id=fact.contract_id,
        kind=kind,
        period_end=last.on,
        computed=None,
        details={
            "readings": [first.model_dump(mode="json"), last.model_dump(mode="json")],
            "end_reading": last.model_dump(mode="json"),
        },
        hold_reasons=holds,
        instalments_requested=Decimal("0.00"),
    )


def _store_drafts(
    session: Session, tenant_id: str, drafts: list[tuple[ContractFacts, Draft]], on: date, run_id: str
) -> list[Bill]:
    bills = []
    for fact, draft in drafts:
        computed = draft.computed
        settlement = draft.details.get("settlement") or {}
        end = draft.period_end
        gross = computed.gross if computed else Decimal("0.00")
        paid = Decimal(settlement.get("paid", "0.00"))
        bill = Bill(
            tenant_id=tenant_id,
            kind=draft.kind,
            state=BillState.HELD if draft.hold_reasons else BillState.BOOKED,
            contract_id=fact.contract_id,
            division=fact.division,
            period_start=fact.period_start,
            period_end=end,
            consumption_kwh=computed.consumption_kwh if computed else Decimal("0"),
            net=computed.net if computed else Decimal("0.00"),
            energy_tax=computed.energy_tax if computed else Decimal("0.00"),
            vat=computed.vat if computed else Decimal("0.00"),
            gross=gross,
            instalments_paid=paid,
            balance=gross - paid,
            next_instalment=Decimal(settlement["next_instalment"]) if settlement else None,
            estimated=bool(computed and computed.estimated),
            hold_reasons="; ".join(draft.hold_reasons)[:500],
            details=draft.details | {"instalments_requested": str(draft.instalments_requested)},
            run_id=run_id,
        )
        bills.append(bill)
    session.add_all(bills)
    session.flush()
    return bills


def book_bills(session: Session, tenant_id: str, bills: Sequence[Bill], on: date) -> None:
    """Number, book and settle these bills (state booked, not yet numbered) in one go."""
    if not bills:
        return
    numbers = take_bill_numbers(session, tenant_id, on.year, len(bills))
    debtors = debtor_accounts(session, tenant_id, [bill.contract_id for bill in bills])
    requests = []
    charts = {division: ensure_chart(session, tenant_id, division) for division in {bill.division for bill in bills}}
    for bill, number in zip(bills, numbers, strict=True):
        bill.number = number
        bill.due_date = on + (PAYMENT_TERM if bill.balance >= 0 else REFUND_TERM)
        bill.booked_at = datetime.now(UTC)
        requests.extend(_postings(session, tenant_id, bill, debtors[bill.contract_id], charts[bill.division], on))
    ids = post_many(session, requests)
    by_key = dict(zip((r.idempotency_key for r in requests), ids, strict=True))
    for bill in bills:
        bill.posting_document_id = by_key[f"bill:{bill.id}"]
    net_open_items(session, sorted(set(debtors.values())), on)
    renew_plans(session, bills, on)
    session.execute(
        text(
            "UPDATE contract SET billed_until = b.period_end FROM bill b"
            " WHERE b.id = ANY(:ids) AND contract.id = b.contract_id AND b.kind <> 'cancellation'"
        ),
        {"ids": [bill.id for bill in bills]},
    )
    session.flush()


def take_bill_numbers(session: Session, tenant_id: str, year: int, count: int) -> list[str]:
    """``count`` consecutive numbers; the row lock serialises parallel runs, a rollback gives them back."""
    session.execute(
        insert(BillNumberRange).values(tenant_id=tenant_id, year=year, last_number=0).on_conflict_do_nothing()
    )
    last = session.execute(
        text(
            "UPDATE bill_number_range SET last_number = last_number + :count"
            " WHERE tenant_id = :tenant AND year = :year RETURNING last_number"
        ),
        {"count": count, "tenant": tenant_id, "year": year},
    ).scalar_one()
    return [f"{year}-{n:07d}" for n in range(last - count + 1, last + 1)]


def _postings(
    session: Session, tenant_id: str, bill: Bill, debtor: int, gl: dict[str, int], on: date
) -> list[PostingRequest]:
    """The bill's document and, if instalments were requested in its period, their settlement."""
    net = bill.net - bill.energy_tax
    legs = assign("bill", bill.division, {"net": net, "tax": bill.energy_tax, "vat": bill.vat})
    text_ = f"Rechnung {bill.number} {bill.period_start:%d.%m.%Y}-{bill.period_end:%d.%m.%Y}"
    requests = [
        PostingRequest(
            tenant_id=tenant_id,
            division=bill.division,
            doc_type="bill",
            posting_date=on,
            idempotency_key=f"bill:{bill.id}",
            origin=f"bill:{bill.number}",
            text=text_,
            quantity_kwh=bill.consumption_kwh,
            lines=[
                _line(leg.account, leg.side, leg.amount, debtor, gl, bill.due_date if leg.open_item else None)
                for leg in legs
            ],
        )
    ]
    requested = Decimal(bill.details.get("instalments_requested", "0"))
    if requested > 0:
        legs = assign("instalment_settlement", bill.division, {"amount": requested})
        requests.append(
            PostingRequest(
                tenant_id=tenant_id,
                division=bill.division,
                doc_type="instalment_settlement",
                posting_date=on,
                idempotency_key=f"bill:{bill.id}:instalments",
                origin=f"bill:{bill.number}",
                text=f"Abschläge verrechnet mit Rechnung {bill.number}",
                lines=[
                    _line(leg.account, leg.side, leg.amount, debtor, gl, on if leg.open_item else None) for leg in legs
                ],
            )
        )
    return requests


def _line(account: str, side: str, amount: Decimal, debtor: int, gl: dict[str, int], due: date | None) -> Line:
    account_id = debtor if account == "debtor" else gl[account]
    if side == "debit":
        return Line(account_id=account_id, debit=amount, due_date=due)
    return Line(account_id=account_id, credit=amount, due_date=due)


def _results_of_run(session: Session, run_id: str, contract_ids: Sequence[int]) -> dict[int, BillingResult]:
    items = session.exec(
        select(BillingRunItem).where(
            BillingRunItem.run_id == run_id,
            col(BillingRunItem.contract_id).in_(list(contract_ids)),
            BillingRunItem.outcome != Outcome.FAILED,
        )
    ).all()
    return {
        item.contract_id: BillingResult(
            contract_id=item.contract_id, outcome=Outcome(item.outcome), reason=item.reason, bill_id=item.bill_id
        )
        for item in items
    }


def _record_run(session: Session, tenant_id: str, run_id: str, results: list[BillingResult]) -> None:
    """Record each contract's outcome; a failure is tried again by a later call and then overwritten."""
    if not results:
        return
    statement = insert(BillingRunItem).values(
        [
            {
                "tenant_id": tenant_id,
                "run_id": run_id,
                "contract_id": r.contract_id,
                "outcome": r.outcome,
                "reason": r.reason[:500],
                "bill_id": r.bill_id,
                "created_at": datetime.now(UTC),
            }
            for r in results
        ]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["run_id", "contract_id"],
            set_={
                "outcome": statement.excluded.outcome,
                "reason": statement.excluded.reason,
                "bill_id": statement.excluded.bill_id,
                "created_at": statement.excluded.created_at,
            },
            where=col(BillingRunItem.outcome) == Outcome.FAILED,
        )
    )


DUE_SQL = """
SELECT c.id FROM contract c
JOIN market_location l ON l.id = c.location_id
CROSS JOIN LATERAL (
    SELECT (coalesce(c.billed_until, c.supply_start) + make_interval(months => c.billing_cycle_months))::date AS planned
) p
WHERE c.tenant_id = :tenant AND c.id > :after AND c.supply_start IS NOT NULL
  AND (c.supply_end IS NULL OR c.supply_end > p.planned)
  AND NOT EXISTS (SELECT 1 FROM bill b WHERE b.contract_id = c.id AND b.state = 'held')
  AND CASE WHEN c.metering = 'rlm' THEN p.planned <= :on
      ELSE p.planned + :grace <= :on OR (p.planned - :before <= :on AND EXISTS (
          SELECT 1 FROM meter_reading r
          WHERE r.tenant_id = c.tenant_id AND r.period_start IS NULL
            AND r.location_id = ANY(
                ARRAY[l.malo_id]
                || ARRAY(SELECT m.melo_id FROM meter m WHERE m.location_id = l.id AND m.melo_id IS NOT NULL)
            )
            AND r.at >= (p.planned - :before - 1)::timestamptz
            AND r.at < (least(p.planned + :grace, :on) + 2)::timestamptz
            AND (r.at AT TIME ZONE 'Europe/Berlin')::date
                BETWEEN p.planned - :before AND least(p.planned + :grace, :on)))
  END
ORDER BY c.id LIMIT :limit
"""
"""Contracts to bill on the run date, by id. SLP: the reading of the period end is there (six weeks before to
two weeks after the planned end), or those two weeks have passed (the reading is then estimated). RLM: the
month is over. A contract with a held bill waits for the clerk; one whose supply ends within the period gets
the final bill instead."""


def _due_params(tenant_id: str, on: date) -> dict[str, object]:
    return {"tenant": tenant_id, "on": on, "grace": READING_WINDOW[1].days, "before": READING_WINDOW[0].days}


def due_contract_ids(session: Session, tenant_id: str, on: date, after_id: int = 0, limit: int = 1000) -> list[int]:
    """The next ``limit`` contracts due for their periodic bill, by id after ``after_id`` (keyset paging)."""
    rows = session.execute(text(DUE_SQL), _due_params(tenant_id, on) | {"after": after_id, "limit": limit})
    return [row.id for row in rows]


def count_due(session: Session, tenant_id: str, on: date) -> int:
    inner = DUE_SQL.replace("SELECT c.id FROM", "SELECT 1 FROM").replace("ORDER BY c.id LIMIT :limit", "")
    return int(
        session.execute(
            text(f"SELECT count(*) FROM ({inner}) due"),
            _due_params(tenant_id, on) | {"after": 0},
        ).scalar_one()
    )
