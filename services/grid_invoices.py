"""Grid operators' invoices: stored from the inbound pipeline, checked against what we know, booked on the grid
operator's creditor account, cancelled by a Storno, and paid on their due date in a transfer run (pain.001)."""

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from edifact.invoic import InvoicMessage
from models.base import utcnow
from models.contracts import Contract, MarketLocation
from models.documents import Document
from models.grid_invoices import GridInvoice, InvoiceState, PriceSheet
from models.ledger import PostingLine
from models.parties import MarketPartner
from models.tenancy import Tenant
from rules import grid_invoices as rules
from rules.calendar import BERLIN, supply_date_from_instant
from services.chart import book, party_account
from services.final_reading import locations
from services.ledger import allocate, open_amount, reverse
from services.sepa import Debtor, Transfer, credit_transfer_file

DONE_STATES = (InvoiceState.ACCEPTED, InvoiceState.PAID)
PROFILE_KWH_SQL = """
SELECT sum(v * CASE WHEN p.unit = 'KWT' THEN p.interval_minutes / 60.0 ELSE 1 END)
FROM load_profile p, unnest(p.values) AS v
WHERE p.tenant_id = :tenant AND p.location_id = ANY(:locations) AND p.start >= :start AND p."end" <= :end
"""
READING_AT_SQL = """
SELECT value FROM meter_reading
WHERE tenant_id = :tenant AND location_id = ANY(:locations) AND period_start IS NULL AND at = :at
ORDER BY id DESC LIMIT 1
"""


def workflow_id(tenant_id: str, invoice_id: int) -> str:
    return f"grid-invoice/{tenant_id}/{invoice_id}"


def store(
    session: Session, tenant_id: str, message_id: int, invoice: InvoicMessage, received_on: date, gas: bool
) -> GridInvoice:
    """The invoice as received (once per message and number); its process id is set."""
    division = "gas" if gas else "strom"  # the interchange's code lists (UNB 502: DVGW)
    values = {
        "tenant_id": tenant_id,
        "message_id": message_id,
        "partner_id": invoice.sender,
        "invoice_number": invoice.document_number,
        "pruefidentifikator": invoice.pruefidentifikator,
        "category": invoice.category,
        "invoice_type": invoice.invoice_type or "",
        "division": division,
        "malo_id": invoice.malo_id,
        "invoice_date": invoice.document_date.astimezone(BERLIN).date(),
        "received_on": received_on,
        "period_start": supply_date_from_instant(invoice.period_start, division) if invoice.period_start else None,
        "period_end": supply_date_from_instant(invoice.period_end, division) if invoice.period_end else None,
        "due_date": invoice.due_date.astimezone(BERLIN).date() if invoice.due_date else None,
        "total": invoice.total,
        "due_amount": invoice.due_amount if invoice.due_amount is not None else invoice.total,
        "vat": sum((t.amount or Decimal(0) for t in invoice.taxes), Decimal(0)) if invoice.taxes else None,
        "cancels": invoice.cancels,
        "content": invoice.model_dump(mode="json"),
        "created_at": utcnow(),
    }
    session.execute(
        insert(GridInvoice).values(**values).on_conflict_do_nothing(index_elements=["message_id", "invoice_number"])
    )
    row = session.exec(
        select(GridInvoice).where(
            GridInvoice.message_id == message_id, GridInvoice.invoice_number == invoice.document_number
        )
    ).one()
    assert row.id is not None
    if row.workflow_id is None:
        row.workflow_id = workflow_id(tenant_id, row.id)
        session.add(row)
        session.flush()
    return row


def message_of(row: GridInvoice) -> InvoicMessage:
    return InvoicMessage.model_validate(row.content)


def facts(session: Session, row: GridInvoice) -> rules.InvoiceFacts:
    """Our side of the invoice: supply at the MaLo, its grid operator, earlier invoices, prices and quantities."""
    tenant = session.get(Tenant, row.tenant_id)
    assert tenant is not None
    location = session.exec(
        select(MarketLocation).where(MarketLocation.tenant_id == row.tenant_id, MarketLocation.malo_id == row.malo_id)
    ).first()
    contracts = list(session.exec(select(Contract).where(Contract.location_id == location.id))) if location else []
    supplies = [rules.Supply(c.supply_start, c.supply_end) for c in contracts if c.supply_start is not None]
    others = select(GridInvoice).where(
        GridInvoice.tenant_id == row.tenant_id, GridInvoice.partner_id == row.partner_id, GridInvoice.id != row.id
    )
    number_used = (
        session.exec(
            others.where(GridInvoice.invoice_number == row.invoice_number, col(GridInvoice.id) < row.id)
        ).first()
        is not None
    )
    billed_before = False
    if row.period_start and row.period_end and row.malo_id:
        billed_before = (
            session.exec(
                others.where(
                    GridInvoice.malo_id == row.malo_id,
                    GridInvoice.pruefidentifikator == row.pruefidentifikator,
                    col(GridInvoice.category).not_in(("457", "Z25")),
                    col(GridInvoice.state).in_(DONE_STATES),
                    col(GridInvoice.period_start) < row.period_end,
                    col(GridInvoice.period_end) > row.period_start,
                )
            ).first()
            is not None
        )
    prices: dict[str, list[rules.Price]] = {}
    for sheet in session.exec(
        select(PriceSheet)
        .where(PriceSheet.tenant_id == row.tenant_id, PriceSheet.partner_id == row.partner_id)
        .order_by(col(PriceSheet.valid_from))
    ):
        prices.setdefault(sheet.article_id, []).append(
            rules.Price(sheet.valid_from, sheet.unit_price, sheet.price_unit)
        )
    our_kwh = forecast = None
    current = next((c for c in contracts if c.supply_start is not None), None)
    if current is not None and row.period_start and row.period_end:
        our_kwh = measured_kwh(session, current, row.period_start, row.period_end)
        days = Decimal((row.period_end - row.period_start).days)
        forecast = (current.annual_consumption_kwh * days / Decimal(365)).quantize(Decimal("0.001"))
    return rules.InvoiceFacts(
        received_on=row.received_on,
        division=row.division,
        supplies=supplies,
        grid_operator=location.grid_operator_id if location else None,
        number_used=number_used,
        billed_before=billed_before,
        prices=prices,
        our_kwh=our_kwh,
        forecast_kwh=forecast,
        tolerance_percent=tenant.invoice_quantity_tolerance,
    )


def measured_kwh(session: Session, contract: Contract, start: date, end: date) -> Decimal | None:
    """Energy in ``[start, end)``: the load profile's sum, or the difference of the register readings at both days."""
    ids = locations(session, contract)
    start_at = datetime(start.year, start.month, start.day, tzinfo=BERLIN)
    end_at = datetime(end.year, end.month, end.day, tzinfo=BERLIN)
    params = {"tenant": contract.tenant_id, "locations": ids}
    profile = session.execute(text(PROFILE_KWH_SQL), params | {"start": start_at, "end": end_at}).scalar()
    if profile is not None:
        return Decimal(profile).quantize(Decimal("0.001"))
    first = session.execute(text(READING_AT_SQL), params | {"at": start_at}).scalar()
    last = session.execute(text(READING_AT_SQL), params | {"at": end_at}).scalar()
    if first is None or last is None:
        return None
    return Decimal(last) - Decimal(first)


def accept(session: Session, row: GridInvoice, verdict: rules.Verdict, decided_by: str = "") -> None:
    """Book the accepted invoice on the grid operator's creditor account (cost, input VAT); once."""
    if row.state in DONE_STATES:
        return
    invoice = message_of(row)
    partner = session.get(MarketPartner, row.partner_id)
    creditor = party_account(
        session, row.tenant_id, row.division, "creditor", row.partner_id, partner.name if partner else row.partner_id
    )
    net = sum((t.base or Decimal(0) for t in invoice.taxes), Decimal("0.00"))
    vat = sum((t.amount or Decimal(0) for t in invoice.taxes), Decimal("0.00"))
    row.posting_document_id = book(
        session,
        tenant_id=row.tenant_id,
        division=row.division,
        doc_type="mmm_invoice" if row.pruefidentifikator in rules.MMM_PIDS else "grid_invoice",
        key=f"grid-invoice:{row.id}",
        posting_date=row.received_on,
        amounts={"net": net, "tax": Decimal("0.00"), "vat": vat},
        party_account_id=creditor,
        due_date=row.due_date,
        origin=f"grid-invoice:{row.id}",
        text=f"{row.pruefidentifikator} {row.invoice_number} {row.malo_id or ''}".strip(),
    )
    _decided(row, InvoiceState.ACCEPTED, verdict, decided_by)
    session.add(row)
    session.flush()


def reject(session: Session, row: GridInvoice, verdict: rules.Verdict, decided_by: str = "") -> None:
    _decided(row, InvoiceState.REJECTED, verdict, decided_by)
    session.add(row)
    session.flush()


def _decided(row: GridInvoice, state: str, verdict: rules.Verdict, decided_by: str) -> None:
    row.state, row.decided_by = state, decided_by
    row.answer_pid = verdict.answer_pid
    row.rejection_code = verdict.code if state == InvoiceState.REJECTED else ""
    row.rejection_list = verdict.code_list if state == InvoiceState.REJECTED else ""
    row.rejection_text = verdict.text if state == InvoiceState.REJECTED else ""
    row.rejected_position = verdict.position if state == InvoiceState.REJECTED else None
    row.details = row.details | {"check": verdict.notes | {"outcome": verdict.outcome, "text": verdict.text}}


def cancelled_invoice(session: Session, storno: GridInvoice) -> GridInvoice | None:
    """The invoice a Storno cancels: same sender, its number, accepted, paid or cancelled before."""
    return session.exec(
        select(GridInvoice)
        .where(
            GridInvoice.tenant_id == storno.tenant_id,
            GridInvoice.partner_id == storno.partner_id,
            GridInvoice.invoice_number == storno.cancels,
            col(GridInvoice.state).in_((*DONE_STATES, InvoiceState.CANCELLED)),
        )
        .order_by(col(GridInvoice.id).desc())
    ).first()


def cancel(session: Session, storno: GridInvoice, verdict: rules.Verdict) -> None:
    """Confirm the Storno: the cancelled invoice's booking is reversed (an amount already paid stays as our claim
    on the grid operator's account)."""
    original = cancelled_invoice(session, storno)
    assert original is not None
    if original.state != InvoiceState.CANCELLED:
        if original.posting_document_id is not None:
            reverse(session, original.posting_document_id, storno.received_on, key=f"grid-invoice-storno:{storno.id}")
        original.state = InvoiceState.CANCELLED
        original.details = original.details | {"cancelled_by": storno.invoice_number}
        session.add(original)
    _decided(storno, InvoiceState.ACCEPTED, verdict, "")
    session.add(storno)
    session.flush()


@dataclass
class TransferRun:
    key: str
    invoices: list[int]
    total: Decimal
    document_id: int | None


class PaymentBlocked(ValueError):
    """The invoice cannot be paid (no bank details of the grid operator, or of the tenant)."""


def pay_due(session: Session, tenant_id: str, on: date) -> TransferRun:
    """Pay every accepted invoice due by ``on`` not paid yet: one pain.001 with one transfer per grid operator.

    What the grid operator owes us (a Storno of an invoice already paid) is set off first; the rest is paid and
    booked, clearing the invoices' creditor items. Invoices are locked; an invoice is paid once."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not tenant.iban or not tenant.bic:
        raise PaymentBlocked(f"tenant {tenant_id} has no bank account (IBAN and BIC) to pay from")
    due = list(
        session.exec(
            select(GridInvoice)
            .where(
                GridInvoice.tenant_id == tenant_id,
                GridInvoice.state == InvoiceState.ACCEPTED,
                col(GridInvoice.category).not_in(("457", "Z25")),
                col(GridInvoice.payment_key).is_(None),
                col(GridInvoice.due_date) <= on,
            )
            .order_by(col(GridInvoice.id))
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return TransferRun(key="", invoices=[], total=Decimal("0.00"), document_id=None)
    key = f"grid-payments:{tenant_id}:{on}:{due[0].id}"
    by_creditor: dict[tuple[str, str], list[GridInvoice]] = {}
    for row in due:
        by_creditor.setdefault((row.partner_id, row.division), []).append(row)
    transfers = []
    for (partner_id, division), rows in by_creditor.items():
        partner = session.get(MarketPartner, partner_id)
        if partner is None or not partner.iban:
            numbers = ", ".join(row.invoice_number for row in rows)
            raise PaymentBlocked(f"grid operator {partner_id} has no bank account (IBAN) to pay invoice {numbers} to")
        creditor = party_account(session, tenant_id, division, "creditor", partner_id, partner.name)
        set_off = _set_off_claims(session, creditor, on)
        amount = sum((_pay(session, creditor, row, on) for row in rows), Decimal("0.00"))
        for row in rows:
            row.state, row.payment_key, row.paid_on = InvoiceState.PAID, key, on
            session.add(row)
        if amount > 0:
            numbers = ", ".join(row.invoice_number for row in rows)
            note = f" abzgl. {set_off} EUR Gutschrift" if set_off else ""
            transfers.append(
                Transfer(
                    end_to_end_id=f"GP{rows[0].id}-{uuid.uuid4().hex[:12].upper()}"[:35],
                    amount=amount,
                    creditor_name=partner.name,
                    creditor_iban=partner.iban,
                    remittance=f"Rechnung {numbers}{note}"[:140],
                )
            )
    document_id = None
    if transfers:
        xml = credit_transfer_file(
            Debtor(name=tenant.name, iban=tenant.iban, bic=tenant.bic),
            transfers,
            on,
            f"GP{uuid.uuid4().hex.upper()}"[:35],
        )
        document = Document(
            tenant_id=tenant_id,
            business_key=f"pain.001:{key}",
            kind="pain.001",
            media_type="application/xml",
            content=xml,
            sha256=hashlib.sha256(xml).hexdigest(),
        )
        session.add(document)
        session.flush()
        document_id = document.id
    total = sum((t.amount for t in transfers), Decimal("0.00"))
    return TransferRun(key=key, invoices=[r.id for r in due if r.id is not None], total=total, document_id=document_id)


def _set_off_claims(session: Session, creditor: int, on: date) -> Decimal:
    """Our open claims on the grid operator (debit items of its account) cleared against its invoices; returns
    how much was set off."""
    claims = session.exec(
        select(PostingLine.id)
        .where(
            PostingLine.account_id == creditor,
            col(PostingLine.debit) > 0,
            col(PostingLine.due_date).is_not(None),
        )
        .order_by(col(PostingLine.due_date), col(PostingLine.id))
    ).all()
    used = Decimal("0.00")
    for claim in claims:
        assert claim is not None
        before = open_amount(session, claim)
        if before > 0:
            used += before - allocate(session, claim, on)
    return used


def _pay(session: Session, creditor: int, row: GridInvoice, on: date) -> Decimal:
    """Book the payment of what is still open of the invoice (after any set-off); returns the amount paid."""
    item = session.exec(
        select(PostingLine.id).where(
            PostingLine.document_id == row.posting_document_id, PostingLine.account_id == creditor
        )
    ).first()
    amount = open_amount(session, item) if item is not None else Decimal("0.00")
    if amount <= 0:
        return Decimal("0.00")
    document = book(
        session,
        tenant_id=row.tenant_id,
        division=row.division,
        doc_type="creditor_payment",
        key=f"grid-invoice-payment:{row.id}",
        posting_date=on,
        amounts={"amount": amount},
        party_account_id=creditor,
        due_date=on,
        origin=f"grid-invoice:{row.id}",
        text=f"Zahlung {row.invoice_number}",
    )
    payment = session.exec(
        select(PostingLine.id).where(PostingLine.document_id == document, PostingLine.account_id == creditor)
    ).one()
    assert payment is not None
    allocate(session, payment, on, item)
    return amount


class PriceSheetError(ValueError):
    """A price-sheet file that cannot be taken (with the line and why)."""


def import_price_sheet(session: Session, tenant_id: str, partner_id: str, content: str) -> int:
    """Import ``article_id;valid_from;unit_price[;price_unit[;description]]`` lines (CSV with ; or ,, header
    optional); a price of the same article and day is replaced. All or nothing; returns the number of prices."""
    if session.get(MarketPartner, partner_id) is None:
        raise PriceSheetError(f"grid operator {partner_id} is not a known market partner")
    first = content.lstrip().split("\n", 1)[0]
    delimiter = ";" if ";" in first else ","
    rows = []
    for number, fields in enumerate(csv.reader(io.StringIO(content), delimiter=delimiter), start=1):
        if not fields or not "".join(fields).strip() or fields[0].strip().lower() in ("article_id", "artikel-id"):
            continue
        if len(fields) < 3:
            raise PriceSheetError(f"line {number}: expected article_id, valid_from, unit_price")
        try:
            valid_from = date.fromisoformat(fields[1].strip())
            unit_price = Decimal(fields[2].strip().replace(",", "."))
        except (ValueError, InvalidOperation) as error:
            raise PriceSheetError(f"line {number}: {error}") from error
        unit = fields[3].strip().upper() if len(fields) > 3 else ""
        if unit not in ("", "DAY", "MON", "ANN"):
            raise PriceSheetError(f"line {number}: price unit must be empty, DAY, MON or ANN, not {unit!r}")
        rows.append(
            {
                "tenant_id": tenant_id,
                "partner_id": partner_id,
                "article_id": fields[0].strip(),
                "valid_from": valid_from,
                "unit_price": unit_price,
                "price_unit": unit,
                "description": fields[4].strip() if len(fields) > 4 else "",
                "created_at": utcnow(),
            }
        )
    if not rows:
        raise PriceSheetError("the file has no prices")
    statement = insert(PriceSheet).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "partner_id", "article_id", "valid_from"],
            set_={"unit_price": statement.excluded.unit_price, "price_unit": statement.excluded.price_unit},
        )
    )
    return len(rows)
