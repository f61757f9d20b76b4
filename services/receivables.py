"""Doubtful and uncollectible receivables: reclassification (Umbuchung) and write-off (Ausbuchung) of open items.

The customer still owes a doubtful receivable: it stays an open item on the debtor account, but counts on the
doubtful-receivables account in the general ledger instead of the debtor control account. No VAT effect: the VAT
is corrected only when the receivable is uncollectible (§17 Abs. 2 Nr. 1 UStG), i.e. at write-off. A write-off
books the open rest as a loss and takes back the VAT share it contains; the electricity or energy tax stays a
loss. The VAT share is the open rest's part of the original document's VAT, rounded half up to cents.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from models.ledger import AccountKind, LedgerAccount, PostingDocument, PostingLine
from rules.kontierung import assign
from services.chart import ensure_chart
from services.ledger import CENT, LedgerError, Line, PostingRequest, clear, open_amount, post

NOT_WRITTEN_OFF = ("instalment_request",)
"""An instalment request is no revenue: the bill settles it; write off the bill instead."""


def reclassify(session: Session, item_line_id: int, on: date, *, doubtful: bool = True) -> int:
    """Move the open rest of a receivable to doubtful receivables (or back); returns the new item's line id.

    The old item is cleared and a new one with the same due date takes its place, so dunning and payments see
    one open item either way. Repeating the call for the same item returns the same new item.
    """
    item, document, account = _receivable(session, item_line_id)
    controls = ensure_chart(session, document.tenant_id, account.division)
    target = controls["doubtful"] if doubtful else None
    if item.control_account_id == target:
        raise LedgerError(f"item {item_line_id} is {'already' if doubtful else 'not'} a doubtful receivable")
    key = f"reclassification:{item_line_id}"
    existing = _document_by_key(session, document.tenant_id, key)
    if existing is None:
        amount = _open_rest(session, item_line_id)
        existing = post(
            session,
            PostingRequest(
                tenant_id=document.tenant_id,
                division=account.division,
                doc_type="reclassification",
                posting_date=max(on, item.posting_date),
                idempotency_key=key,
                origin=f"line:{item_line_id}",
                text="Umbuchung auf zweifelhafte Forderungen" if doubtful else "Rückbuchung zweifelhafte Forderung",
                lines=[
                    Line(
                        account_id=account.id,
                        credit=amount,
                        due_date=item.due_date,
                        control_account_id=item.control_account_id,
                    ),
                    Line(account_id=account.id, debit=amount, due_date=item.due_date, control_account_id=target),
                ],
            ),
        )
        credit, _ = _lines_of(session, existing)
        clear(session, item_line_id, credit, amount, max(on, item.posting_date))
    return _lines_of(session, existing)[1]


def write_off(session: Session, item_line_id: int, on: date) -> int:
    """Write off the open rest of a receivable with its VAT correction; returns the write-off document id."""
    item, document, account = _receivable(session, item_line_id)
    root = _origin_document(session, item)
    if root.doc_type in NOT_WRITTEN_OFF:
        raise LedgerError(f"item {item_line_id} is an {root.doc_type}: write off the bill that settles it")
    key = f"write-off:{item_line_id}"
    existing = _document_by_key(session, document.tenant_id, key)
    if existing is not None:
        return existing
    amount = _open_rest(session, item_line_id)
    accounts = ensure_chart(session, document.tenant_id, account.division)
    vat = _vat_share(session, root, accounts["vat"], amount)
    lines = [
        Line(account_id=account.id, control_account_id=item.control_account_id, **{leg.side: leg.amount})
        if leg.account == "debtor"
        else Line(account_id=accounts[leg.account], **{leg.side: leg.amount})
        for leg in assign("write_off", account.division, {"net": amount - vat, "vat": vat, "gross": amount})
    ]
    document_id = post(
        session,
        PostingRequest(
            tenant_id=document.tenant_id,
            division=account.division,
            doc_type="write_off",
            posting_date=max(on, item.posting_date),
            idempotency_key=key,
            origin=f"line:{item_line_id}",
            text=f"Ausbuchung {root.doc_type} {root.id}",
            lines=lines,
        ),
    )
    [credit] = session.exec(
        select(PostingLine.id).where(PostingLine.document_id == document_id, PostingLine.account_id == account.id)
    ).all()
    assert credit is not None
    clear(session, item_line_id, credit, amount, max(on, item.posting_date))
    return document_id


def _receivable(session: Session, line_id: int) -> tuple[PostingLine, PostingDocument, LedgerAccount]:
    item = session.get(PostingLine, line_id)
    if item is None:
        raise LedgerError(f"posting line {line_id} does not exist")
    account = session.get(LedgerAccount, item.account_id)
    document = session.get(PostingDocument, item.document_id)
    assert account is not None and document is not None
    if account.kind != AccountKind.DEBTOR or item.debit <= 0 or item.due_date is None:
        raise LedgerError(f"line {line_id} is not a receivable (an open debit item on a debtor account)")
    return item, document, account


def _open_rest(session: Session, line_id: int) -> Decimal:
    amount = open_amount(session, line_id)
    if amount <= 0:
        raise LedgerError(f"item {line_id} is settled; nothing is open")
    return amount


def _document_by_key(session: Session, tenant_id: str, key: str) -> int | None:
    return session.exec(
        select(PostingDocument.id).where(PostingDocument.tenant_id == tenant_id, PostingDocument.idempotency_key == key)
    ).first()


def _lines_of(session: Session, document_id: int) -> list[int]:
    ids = session.exec(
        select(PostingLine.id).where(PostingLine.document_id == document_id).order_by(col(PostingLine.id))
    ).all()
    return [line_id for line_id in ids if line_id is not None]


def _origin_document(session: Session, item: PostingLine) -> PostingDocument:
    """The document that created the receivable, through any reclassifications."""
    while True:
        document = session.get(PostingDocument, item.document_id)
        assert document is not None
        if document.doc_type != "reclassification":
            return document
        previous = session.get(PostingLine, int(document.origin.removeprefix("line:")))
        assert previous is not None
        item = previous


def _vat_share(session: Session, document: PostingDocument, vat_account: int, amount: Decimal) -> Decimal:
    """The VAT contained in ``amount`` of the document's receivable: its VAT times amount over its gross."""
    lines = session.exec(select(PostingLine).where(PostingLine.document_id == document.id)).all()
    vat = sum((line.credit - line.debit for line in lines if line.account_id == vat_account), Decimal("0.00"))
    gross = sum((line.debit for line in lines if line.due_date is not None), Decimal("0.00"))
    if vat <= 0 or gross <= 0:
        return Decimal("0.00")
    return min(amount, (vat * amount / gross).quantize(CENT, rounding=ROUND_HALF_UP))
