"""What a clerk decides about a bill: release or drop a held bill, correct its reading, cancel and rebill.

A cancellation is a bill of its own (kind ``cancellation``) with its own number and the negated amounts; the
cancelled bill keeps its number. The ledger reverses the bill's documents; the contract is open for billing
from the cancelled period's start again, so the rebill covers the same period with the corrected inputs.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from models.billing import Bill, BillKind, BillState
from models.contracts import Contract, MarketLocation
from models.ledger import PostingDocument, PostingLine
from models.readings import MeterReading
from rules.calendar import BERLIN
from services.billing import BillingResult, Outcome, bill_contracts, book_bills, take_bill_numbers
from services.ledger import LedgerError, net_open_items, reverse


class BillRefused(ValueError):
    """The decision does not fit the bill's state; the message says why."""


def held_bill(session: Session, bill_id: int) -> Bill:
    bill = session.get(Bill, bill_id, with_for_update=True)
    if bill is None:
        raise BillRefused(f"bill {bill_id} does not exist")
    if bill.state != BillState.HELD:
        raise BillRefused(f"bill {bill_id} is {bill.state}, not held")
    return bill


def release(session: Session, bill_id: int, on: date, by: str) -> Bill:
    """Book a held bill as computed (the clerk checked it)."""
    bill = held_bill(session, bill_id)
    if "computation" not in bill.details:
        raise BillRefused(f"bill {bill_id} could not be computed ({bill.hold_reasons}): correct the reading")
    bill.state, bill.released_by = BillState.BOOKED, by
    book_bills(session, bill.tenant_id, [bill], on)
    return bill


def drop(session: Session, bill_id: int, by: str) -> Bill:
    """Drop a held bill: it never had a number, so no gap; the contract stays due."""
    bill = held_bill(session, bill_id)
    bill.state, bill.released_by = BillState.CANCELLED, by
    session.add(bill)
    session.flush()
    return bill


def correct_reading(session: Session, bill_id: int, value: Decimal, day: date, on: date, by: str) -> BillingResult:
    """Record the clerk's reading at the period end, drop the held draft and bill again with it."""
    bill = held_bill(session, bill_id)
    contract = session.get(Contract, bill.contract_id)
    assert contract is not None
    location = session.get(MarketLocation, contract.location_id)
    assert location is not None
    session.add(
        MeterReading(
            tenant_id=bill.tenant_id,
            location_id=location.malo_id,
            value=value,
            quality="220",
            at=datetime(day.year, day.month, day.day, tzinfo=BERLIN),
            source="clerk",
            entered_by=by,
        )
    )
    drop(session, bill_id, by)
    [result] = bill_contracts(
        session, bill.tenant_id, [bill.contract_id], on, f"correction:{bill_id}", BillKind(bill.kind)
    )
    return result


def cancel(session: Session, bill_id: int, on: date, reason: str, by: str) -> Bill:
    """Cancel a booked bill by a numbered cancellation bill and reverse its postings; returns the cancellation."""
    bill = session.get(Bill, bill_id, with_for_update=True)
    if bill is None:
        raise BillRefused(f"bill {bill_id} does not exist")
    if bill.state != BillState.BOOKED or bill.kind == BillKind.CANCELLATION:
        raise BillRefused(f"bill {bill.number or bill_id} is {bill.state} {bill.kind}: only a booked bill is cancelled")
    existing = session.exec(select(Bill).where(Bill.cancellation_of_id == bill_id)).first()
    if existing is not None:
        return existing
    cancellation = Bill(
        tenant_id=bill.tenant_id,
        kind=BillKind.CANCELLATION,
        state=BillState.BOOKED,
        contract_id=bill.contract_id,
        division=bill.division,
        period_start=bill.period_start,
        period_end=bill.period_end,
        consumption_kwh=-bill.consumption_kwh,
        net=-bill.net,
        energy_tax=-bill.energy_tax,
        vat=-bill.vat,
        gross=-bill.gross,
        instalments_paid=-bill.instalments_paid,
        balance=-bill.balance,
        details={"reason": reason, "cancelled_number": bill.number, "computation": bill.details.get("computation")},
        cancellation_of_id=bill.id,
        released_by=by,
        run_id=f"cancellation:{bill.id}",
    )
    session.add(cancellation)
    session.flush()
    _number_and_reverse(session, bill, cancellation, on)
    bill.state = BillState.CANCELLED
    contract = session.get(Contract, bill.contract_id, with_for_update=True)
    assert contract is not None
    contract.billed_until = bill.period_start
    session.add_all([bill, contract])
    session.flush()
    return cancellation


def _number_and_reverse(session: Session, bill: Bill, cancellation: Bill, on: date) -> None:
    [cancellation.number] = take_bill_numbers(session, bill.tenant_id, on.year, 1)
    cancellation.booked_at = datetime.now(UTC)
    keys = (f"bill:{bill.id}", f"bill:{bill.id}:instalments")
    documents = session.exec(
        select(PostingDocument).where(
            PostingDocument.tenant_id == bill.tenant_id,
            col(PostingDocument.idempotency_key).in_(keys),
        )
    ).all()
    if not documents:
        raise LedgerError(f"bill {bill.number} has no postings to reverse")
    accounts: set[int] = set()
    for document in documents:
        assert document.id is not None
        reversal = reverse(session, document.id, on, key=f"cancellation:{cancellation.number}:{document.id}")
        if document.idempotency_key == keys[0]:
            cancellation.posting_document_id = reversal
    for line in session.exec(
        select(PostingLine).where(PostingLine.document_id == cancellation.posting_document_id)
    ).all():
        if line.due_date is not None:
            accounts.add(line.account_id)
    net_open_items(session, sorted(accounts), on)


def rebill(session: Session, bill_id: int, on: date, reason: str, by: str) -> tuple[Bill, BillingResult]:
    """Cancel a booked bill and bill its period again with what is known now (e.g. a corrected reading)."""
    original = session.get(Bill, bill_id)
    if original is None:
        raise BillRefused(f"bill {bill_id} does not exist")
    cancellation = cancel(session, bill_id, on, reason, by)
    [result] = bill_contracts(
        session, original.tenant_id, [original.contract_id], on, f"rebill:{bill_id}", BillKind(original.kind)
    )
    if result.outcome is Outcome.FAILED:
        raise BillRefused(f"bill {original.number} cancelled, but the rebill failed: {result.reason}")
    return cancellation, result
