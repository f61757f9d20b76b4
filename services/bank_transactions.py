"""Booking a bank statement: collections and returns of our direct debits, incoming transfers, the rest to clearing.

The file is kept as received (a broken one stays, marked, for clearing); each transaction is booked once (its
bank reference and place in the file are unique per tenant), so importing a file twice books nothing twice.

* A credit of ours (end-to-end id of a direct debit): the collection arrived, transit moves to the bank.
* A return of a direct debit: the amount is owed again (a new open item), the bank's charge is booked and passed on
  to the customer where the customer caused it; the mandate stops after AC01/AC04/MD01/MD06 or a second return.
* Another credit: matched to a debtor by a bill number or contract-account number in the remittance text, else by
  the payer's IBAN (a mandate's), and allocated to the open items (the named bill first, else the oldest).
* What cannot be assigned is booked to the clearing account and waits for a clerk.
"""

import hashlib
import re
from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.billing import Bill
from models.customers import SepaMandate
from models.ledger import LedgerAccount, PostingLine
from models.payments import BankStatement, BankTransaction, DebitState, DirectDebit
from services.bank_statements import CamtTransaction, CreditDebit, StatementError, parse_camt
from services.chart import book, ensure_chart
from services.ledger import allocate

STOP_MANDATE = frozenset({"AC01", "AC04", "MD01", "MD06"})
"""Wrong or closed account, no mandate, or the customer took the money back: no more direct debits."""
CUSTOMER_CAUSED = frozenset({"AC01", "AC04", "AM04", "MD01", "MS02", "MS03"})
"""Returns the customer caused: the bank's actual charge is passed on (never for MD06, the right to a refund)."""
MAX_RETURNS = 2
BILL_NUMBER = re.compile(r"\b(\d{4}-\d{7})\b")


class ImportResult(BaseModel):
    statement_id: int
    duplicate: bool
    transactions: int
    matched: int
    collected: int
    returned: int
    unassigned: list[int]
    """Bank transactions booked to clearing: each needs a clerk."""
    mandates_stopped: list[int] = []
    """Mandates this statement's returns stopped: the customer is asked for new bank details."""


def import_statement(session: Session, tenant_id: str, raw: bytes, filename: str = "") -> ImportResult:
    """Store and book a camt.053/054 file; raises StatementError (the file is kept, marked broken)."""
    sha = hashlib.sha256(raw).hexdigest()
    session.execute(
        insert(BankStatement)
        .values(tenant_id=tenant_id, filename=filename[:200], raw=raw, sha256=sha, state="received")
        .on_conflict_do_nothing(index_elements=["tenant_id", "sha256"])
    )
    statement = session.exec(
        select(BankStatement).where(BankStatement.tenant_id == tenant_id, BankStatement.sha256 == sha)
    ).one()
    assert statement.id is not None
    if statement.state == "booked":
        return _summary(session, statement.id, duplicate=True)
    try:
        document = parse_camt(raw)
    except StatementError as error:
        statement.state, statement.error = "broken", str(error)
        session.add(statement)
        session.flush()
        raise
    count = 0
    for camt in document.statements:
        for entry in camt.entries:
            if entry.status != "BOOK":
                continue  # pending entries come again as booked
            for index, tx in enumerate(entry.transactions):
                key = f"{camt.statement_id}:{entry.bank_reference or ''}:{entry.booking_date}:{index}:{tx.amount}"
                _book(session, tenant_id, statement.id, key, entry.booking_date or date.today(), entry.value_date, tx)
                count += 1
    statement.state, statement.entries = "booked", count
    session.add(statement)
    session.flush()
    return _summary(session, statement.id, duplicate=False)


def _book(
    session: Session,
    tenant_id: str,
    statement_id: int,
    key: str,
    booked: date,
    valued: date | None,
    tx: CamtTransaction,
) -> None:
    exists = session.exec(
        select(BankTransaction.id).where(BankTransaction.tenant_id == tenant_id, BankTransaction.bank_key == key)
    ).first()
    if exists is not None:
        return
    row = BankTransaction(
        tenant_id=tenant_id,
        statement_id=statement_id,
        bank_key=key[:200],
        booking_date=booked,
        value_date=valued or booked,
        amount=tx.original_amount if tx.is_return and tx.original_amount else tx.amount,
        credit=tx.credit_debit == CreditDebit.CRDT,
        end_to_end_id=tx.end_to_end_id,
        mandate_id=tx.mandate_id,
        remittance=(tx.remittance_info or "")[:500],
        counterparty_name=(tx.counterparty_name or "")[:140],
        counterparty_iban=tx.counterparty_iban,
        return_reason=tx.return_reason,
        charges=tx.charges,
    )
    debit = _our_debit(session, tenant_id, tx.end_to_end_id)
    if debit is not None and (tx.is_return or not row.credit):
        _returned(session, row, debit)
    elif debit is not None:
        _collected(session, row, debit)
    elif row.credit:
        _transfer(session, row)
    else:
        row.outcome, row.note = "ignored", "an outgoing payment (refund, charge) booked elsewhere"
    session.add(row)
    session.flush()


def _our_debit(session: Session, tenant_id: str, end_to_end_id: str | None) -> DirectDebit | None:
    if not end_to_end_id:
        return None
    return session.exec(
        select(DirectDebit).where(DirectDebit.tenant_id == tenant_id, DirectDebit.end_to_end_id == end_to_end_id)
    ).first()


def _collected(session: Session, row: BankTransaction, debit: DirectDebit) -> None:
    account = session.get(LedgerAccount, debit.account_id)
    assert account is not None
    row.posting_document_id = book(
        session,
        tenant_id=row.tenant_id,
        division=account.division,
        doc_type="collection",
        key=f"collection:{debit.end_to_end_id}",
        posting_date=row.booking_date,
        amounts={"amount": debit.amount},
        origin=f"direct-debit:{debit.end_to_end_id}",
        text="Lastschrifteinzug gutgeschrieben",
    )
    row.outcome, row.account_id = "collected", debit.account_id
    debit.state = DebitState.COLLECTED
    session.add(debit)


def _returned(session: Session, row: BankTransaction, debit: DirectDebit) -> None:
    """The debit came back: owed again as a new item due today; charges; the mandate's fate."""
    account = session.get(LedgerAccount, debit.account_id)
    mandate = session.get(SepaMandate, debit.mandate_id)
    assert account is not None and mandate is not None and account.id is not None
    reason = row.return_reason or "MS03"
    key = f"return:{debit.end_to_end_id}"
    if debit.state == DebitState.SUBMITTED:  # the collection never reached the bank account: undo the transit
        book(
            session,
            tenant_id=row.tenant_id,
            division=account.division,
            doc_type="collection",
            key=f"collection:{debit.end_to_end_id}",
            posting_date=row.booking_date,
            amounts={"amount": debit.amount},
            origin=f"direct-debit:{debit.end_to_end_id}",
            text="Lastschrift (mit Rückgabe)",
        )
    row.posting_document_id = book(
        session,
        tenant_id=row.tenant_id,
        division=account.division,
        doc_type="return_debit",
        key=key,
        posting_date=row.booking_date,
        amounts={"amount": debit.amount},
        party_account_id=account.id,
        due_date=row.booking_date,
        origin=f"direct-debit:{debit.end_to_end_id}",
        text=f"Rücklastschrift {reason}",
    )
    if row.charges:
        book(
            session,
            tenant_id=row.tenant_id,
            division=account.division,
            doc_type="bank_charge",
            key=f"{key}:charge",
            posting_date=row.booking_date,
            amounts={"amount": row.charges},
            text=f"Bankgebühr Rücklastschrift {reason}",
        )
        if reason in CUSTOMER_CAUSED:
            book(
                session,
                tenant_id=row.tenant_id,
                division=account.division,
                doc_type="charge_passed_on",
                key=f"{key}:passed-on",
                posting_date=row.booking_date,
                amounts={"amount": row.charges},
                party_account_id=account.id,
                due_date=row.booking_date,
                text=f"Bankgebühr Rücklastschrift {reason}",
            )
    mandate.returns += 1
    if reason in STOP_MANDATE or mandate.returns >= MAX_RETURNS:
        mandate.state = "stopped"
        mandate.stopped_reason = f"return {reason}" + (" (second return)" if reason not in STOP_MANDATE else "")
    session.add(mandate)
    debit.state, debit.return_reason = DebitState.RETURNED, reason
    session.add(debit)
    row.outcome, row.account_id = "returned", account.id


def _transfer(session: Session, row: BankTransaction) -> None:
    """An incoming transfer: the debtor by reference, else by IBAN; allocated, or to clearing."""
    account_id, item = _by_reference(session, row)
    if account_id is None:
        account_id = _by_iban(session, row)
    if account_id is None:
        _unassigned(session, row)
        return
    account = session.get(LedgerAccount, account_id)
    assert account is not None
    row.posting_document_id = book(
        session,
        tenant_id=row.tenant_id,
        division=account.division,
        doc_type="payment",
        key=f"transfer:{row.bank_key}",
        posting_date=row.booking_date,
        amounts={"amount": row.amount},
        party_account_id=account_id,
        origin=f"bank:{row.bank_key}",
        text=f"Überweisung {row.counterparty_name}".strip(),
    )
    allocate_payment(session, row.posting_document_id, account_id, row.booking_date, item)
    row.outcome, row.account_id = "matched", account_id


def allocate_payment(session: Session, document_id: int, account_id: int, on: date, item: int | None = None) -> None:
    """Clear the account's open items with the payment: the named item first, then the oldest due."""
    line = session.exec(
        select(PostingLine.id).where(PostingLine.document_id == document_id, PostingLine.account_id == account_id)
    ).one()
    assert line is not None
    if item is not None:
        allocate(session, line, on, item_line_id=item)
    allocate(session, line, on)


def _by_reference(session: Session, row: BankTransaction) -> tuple[int | None, int | None]:
    """A bill number (the bill's item) or a contract-account number in the remittance text."""
    for number in BILL_NUMBER.findall(row.remittance):
        bill = session.exec(select(Bill).where(Bill.tenant_id == row.tenant_id, Bill.number == number)).first()
        if bill is not None and bill.posting_document_id is not None:
            line = session.exec(
                select(PostingLine).where(
                    PostingLine.document_id == bill.posting_document_id, col(PostingLine.due_date).is_not(None)
                )
            ).first()
            if line is not None:
                return line.account_id, line.id
    tokens = set(re.findall(r"[A-Za-z0-9-]{4,}", row.remittance))
    if tokens:
        accounts = session.exec(
            select(LedgerAccount.id).where(
                LedgerAccount.tenant_id == row.tenant_id,
                LedgerAccount.kind == "debtor",
                col(LedgerAccount.number).in_(tokens),
            )
        ).all()
        if len(accounts) == 1:
            return accounts[0], None
    return None, None


def _by_iban(session: Session, row: BankTransaction) -> int | None:
    """The debtor account whose mandate has the payer's IBAN; among several, the one owing exactly the amount."""
    if not row.counterparty_iban:
        return None
    found = list(
        session.execute(
            text(
                "SELECT DISTINCT la.id FROM sepa_mandate m JOIN contract_account ca ON ca.id = m.account_id"
                " JOIN ledger_account la ON la.tenant_id = ca.tenant_id AND la.number = ca.account_number"
                " AND la.kind = 'debtor' WHERE m.tenant_id = :tenant AND replace(m.iban, ' ', '') = :iban"
            ),
            {"tenant": row.tenant_id, "iban": row.counterparty_iban.replace(" ", "")},
        ).scalars()
    )
    if len(found) == 1:
        return found[0]
    owing = [
        account_id
        for account_id in found
        if session.execute(
            text("SELECT coalesce(sum(debit - credit), 0) FROM posting_line WHERE account_id = :a"), {"a": account_id}
        ).scalar_one()
        == row.amount
    ]
    return owing[0] if len(owing) == 1 else None


def _unassigned(session: Session, row: BankTransaction) -> None:
    divisions = session.execute(
        text("SELECT DISTINCT division FROM ledger_account WHERE tenant_id = :t AND kind = 'gl' ORDER BY 1"),
        {"t": row.tenant_id},
    ).scalars()
    division = next(iter(divisions), "strom")
    ensure_chart(session, row.tenant_id, division)
    row.posting_document_id = book(
        session,
        tenant_id=row.tenant_id,
        division=division,
        doc_type="unassigned_payment",
        key=f"unassigned:{row.bank_key}",
        posting_date=row.booking_date,
        amounts={"amount": row.amount},
        origin=f"bank:{row.bank_key}",
        text=f"Ungeklärter Zahlungseingang {row.counterparty_name}".strip(),
    )
    row.outcome, row.note = "unassigned", "no bill, contract account or known IBAN matched"


def _summary(session: Session, statement_id: int, duplicate: bool) -> ImportResult:
    rows = session.exec(select(BankTransaction).where(BankTransaction.statement_id == statement_id)).all()
    return ImportResult(
        statement_id=statement_id,
        duplicate=duplicate,
        transactions=len(rows),
        matched=sum(1 for r in rows if r.outcome == "matched"),
        collected=sum(1 for r in rows if r.outcome == "collected"),
        returned=sum(1 for r in rows if r.outcome == "returned"),
        unassigned=[r.id for r in rows if r.outcome == "unassigned" and r.id is not None],
        mandates_stopped=sorted(
            {
                m
                for m in session.execute(
                    text(
                        "SELECT DISTINCT d.mandate_id FROM bank_transaction t JOIN direct_debit d"
                        " ON d.end_to_end_id = t.end_to_end_id AND d.tenant_id = t.tenant_id"
                        " JOIN sepa_mandate m ON m.id = d.mandate_id"
                        " WHERE t.statement_id = :s AND t.outcome = 'returned' AND m.state = 'stopped'"
                    ),
                    {"s": statement_id},
                ).scalars()
            }
        ),
    )


def assign(session: Session, transaction_id: int, account_id: int, by: str, settle: bool = True) -> int:
    """A clerk assigns an unassigned payment to a debtor: from the clearing account to the debtor, allocated to
    the open items (or, ``settle`` False, kept as the customer's credit)."""
    row = session.get(BankTransaction, transaction_id, with_for_update=True)
    account = session.get(LedgerAccount, account_id)
    if row is None or row.outcome != "unassigned":
        raise ValueError(f"bank transaction {transaction_id} is not waiting for a clerk")
    if account is None or account.tenant_id != row.tenant_id or account.kind != "debtor":
        raise ValueError(f"{account_id} is not a debtor account of this tenant")
    document_id = book(
        session,
        tenant_id=row.tenant_id,
        division=account.division,
        doc_type="clearing_assignment",
        key=f"assigned:{row.bank_key}",
        posting_date=row.booking_date,
        amounts={"amount": row.amount},
        party_account_id=account_id,
        origin=f"bank:{row.bank_key}",
        text=f"Zahlung zugeordnet von {by}",
    )
    if settle:
        allocate_payment(session, document_id, account_id, row.booking_date)
    row.outcome, row.account_id, row.note = "matched", account_id, f"assigned by {by}"
    session.add(row)
    session.flush()
    return document_id


def refund_unassigned(session: Session, transaction_id: int, by: str) -> Decimal:
    """A clerk sends an unassignable payment back: clearing account to bank (the pain.001 is made by the run)."""
    row = session.get(BankTransaction, transaction_id, with_for_update=True)
    if row is None or row.outcome != "unassigned":
        raise ValueError(f"bank transaction {transaction_id} is not waiting for a clerk")
    division = session.execute(
        text("SELECT division FROM posting_document WHERE id = :d"), {"d": row.posting_document_id}
    ).scalar_one()
    book(
        session,
        tenant_id=row.tenant_id,
        division=division,
        doc_type="clearing_refund",
        key=f"refunded:{row.bank_key}",
        posting_date=row.booking_date,
        amounts={"amount": row.amount},
        origin=f"bank:{row.bank_key}",
        text=f"Rücküberweisung an {row.counterparty_name} ({by})",
    )
    row.outcome, row.note = "refunded", f"refund to {row.counterparty_iban} decided by {by}"
    session.add(row)
    session.flush()
    return row.amount
