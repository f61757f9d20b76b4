"""The subledger on the real database: balance, append-only, periods, idempotency, open items, concurrency."""

import threading
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from models.ledger import ClosedPeriod, LedgerAccount, PostingDocument, PostingLine
from services.ledger import (
    LedgerError,
    Line,
    PostingRequest,
    allocate,
    balance,
    clear,
    open_amount,
    open_items_total,
    post,
    reverse,
)
from services.month_close import gl_daily_balances
from services.receivables import reclassify, write_off
from tests.factories import World

D = Decimal


class Books:
    """A tenant with a debtor, its control account, revenue, VAT, bank and write-off account."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with Session(engine, expire_on_commit=False) as session:
            self.tenant_id = World(session).tenant.id
            accounts: dict[str, int] = {}
            for number, kind, role in (
                ("10001", "debtor", None),
                ("1400", "gl", "debtor_control"),
                ("8000", "gl", "revenue"),
                ("1776", "gl", "vat"),
                ("1200", "gl", "bank"),
                ("2400", "gl", "write_off"),
            ):
                account = LedgerAccount(
                    tenant_id=self.tenant_id, division="strom", kind=kind, number=number, name=number, gl_role=role
                )
                session.add(account)
                session.flush()
                assert account.id is not None
                accounts[number] = account.id
            session.commit()
        self.debtor, self.revenue, self.vat, self.bank, self.write_off = (
            accounts["10001"],
            accounts["8000"],
            accounts["1776"],
            accounts["1200"],
            accounts["2400"],
        )

    def invoice(self, session: Session, net: Decimal, day: date, key: str | None = None) -> int:
        vat = (net * D("0.19")).quantize(D("0.01"))
        lines = [
            Line(account_id=self.debtor, debit=net + vat, due_date=day + timedelta(days=14)),
            Line(account_id=self.revenue, credit=net),
        ]
        if vat:
            lines.append(Line(account_id=self.vat, credit=vat))
        return post(
            session,
            PostingRequest(
                tenant_id=self.tenant_id,
                division="strom",
                doc_type="bill",
                posting_date=day,
                idempotency_key=key or f"bill:{uuid.uuid4()}",
                lines=lines,
            ),
        )

    def payment(self, session: Session, amount: Decimal, day: date) -> int:
        document = post(
            session,
            PostingRequest(
                tenant_id=self.tenant_id,
                division="strom",
                doc_type="payment",
                posting_date=day,
                idempotency_key=f"payment:{uuid.uuid4()}",
                lines=[Line(account_id=self.bank, debit=amount), Line(account_id=self.debtor, credit=amount)],
            ),
        )
        return self.line(session, document, self.debtor)

    def line(self, session: Session, document_id: int, account_id: int) -> int:
        line_id = session.exec(
            select(PostingLine.id).where(PostingLine.document_id == document_id, PostingLine.account_id == account_id)
        ).one()
        assert line_id is not None
        return line_id

    def trial_balance(self, session: Session) -> Decimal:
        return D(
            session.execute(
                text("SELECT coalesce(sum(debit - credit), 0) FROM posting_line WHERE tenant_id = :t"),
                {"t": self.tenant_id},
            ).scalar_one()
        )


def line_date(session: Session, line_id: int) -> date:
    line = session.get(PostingLine, line_id)
    assert line is not None
    return line.posting_date


def document_date(session: Session, document_id: int) -> date:
    document = session.get(PostingDocument, document_id)
    assert document is not None
    return document.posting_date


@pytest.fixture
def books(engine: Engine) -> Books:
    return Books(engine)


def test_a_document_must_balance_in_code_and_in_the_database(books: Books, engine: Engine) -> None:
    with pytest.raises(ValueError, match="does not balance"):
        PostingRequest(
            tenant_id=books.tenant_id,
            division="strom",
            doc_type="bill",
            posting_date=date(2026, 1, 5),
            idempotency_key="x",
            lines=[Line(account_id=books.debtor, debit=D("1.00")), Line(account_id=books.revenue, credit=D("0.99"))],
        )
    with Session(engine) as session:
        document = PostingDocument(
            tenant_id=books.tenant_id,
            division="strom",
            doc_type="bill",
            posting_date=date(2026, 1, 5),
            value_date=date(2026, 1, 5),
            period="2026-01",
            idempotency_key=f"raw:{uuid.uuid4()}",
        )
        session.add(document)
        session.flush()
        assert document.id is not None
        session.add(
            PostingLine(
                document_id=document.id,
                tenant_id=books.tenant_id,
                account_id=books.debtor,
                posting_date=date(2026, 1, 5),
                debit=D("5.00"),
            )
        )
        with pytest.raises(IntegrityError, match="does not balance"):
            session.flush()


def test_the_ledger_is_append_only(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        document = books.invoice(session, D("100.00"), date(2026, 2, 1))
        session.commit()
        for statement in (
            "UPDATE posting_line SET debit = debit + 1 WHERE document_id = :d",
            "DELETE FROM posting_line WHERE document_id = :d",
            "UPDATE posting_document SET text = 'changed' WHERE id = :d",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement), {"d": document})
            session.rollback()


def test_the_same_key_books_once(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        first = books.invoice(session, D("10.00"), date(2026, 3, 2), key="bill:42:2026-03")
        again = books.invoice(session, D("10.00"), date(2026, 3, 2), key="bill:42:2026-03")
        session.commit()
        assert first == again
        assert balance(session, books.debtor, date(2026, 12, 31)) == D("11.90")


def test_a_closed_month_sends_late_postings_to_the_next_open_month(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        session.add(ClosedPeriod(tenant_id=books.tenant_id, period="2026-04"))
        session.commit()
        late = books.invoice(session, D("50.00"), date(2026, 4, 20))
        session.commit()
        stored = session.get(PostingDocument, late)
        assert stored is not None and stored.period == "2026-05"
        with pytest.raises(IntegrityError, match="period 2026-04 is closed"):
            session.execute(
                text(
                    "INSERT INTO posting_document (tenant_id, division, doc_type, posting_date, value_date, period,"
                    " idempotency_key, origin, text, created_at) VALUES (:t, 'strom', 'bill', '2026-04-20',"
                    " '2026-04-20', '2026-04', :k, '', '', now())"
                ),
                {"t": books.tenant_id, "k": str(uuid.uuid4())},
            )


def test_payment_clears_the_oldest_item_first_and_keeps_the_rest_as_credit(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        older = books.line(session, books.invoice(session, D("100.00"), date(2026, 1, 10)), books.debtor)
        newer = books.line(session, books.invoice(session, D("100.00"), date(2026, 2, 10)), books.debtor)
        payment = books.payment(session, D("150.00"), date(2026, 3, 1))
        assert allocate(session, payment, date(2026, 3, 1)) == D("0.00")
        assert open_amount(session, older) == D("0.00") and open_amount(session, newer) == D("88.00")
        extra = books.payment(session, D("100.00"), date(2026, 3, 5))
        assert allocate(session, extra, date(2026, 3, 5)) == D("12.00")
        assert balance(session, books.debtor, date(2026, 3, 31)) == D("-12.00")
        assert open_items_total(session, books.debtor, date(2026, 3, 31)) == D("-12.00")
        session.rollback()


def test_reversal_mirrors_the_document_and_clears_its_items(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        bill = books.invoice(session, D("80.00"), date(2026, 5, 2))
        storno = reverse(session, bill, date(2026, 5, 9))
        assert reverse(session, bill, date(2026, 5, 9)) == storno
        item = books.line(session, bill, books.debtor)
        assert open_amount(session, item) == D("0.00")
        assert balance(session, books.debtor, date(2026, 5, 31)) == D("0.00")
        stored = session.get(PostingDocument, storno)
        assert stored is not None and stored.reversal_of_id == bill
        session.rollback()


def test_over_clearing_is_refused(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        item = books.line(session, books.invoice(session, D("10.00"), date(2026, 6, 1)), books.debtor)
        payment = books.payment(session, D("100.00"), date(2026, 6, 2))
        with pytest.raises(LedgerError, match=r"only 11\.90 open"):
            clear(session, item, payment, D("20.00"), date(2026, 6, 2))
        with pytest.raises(LedgerError, match="cannot precede"):
            clear(session, item, payment, D("1.00"), date(2026, 5, 1))
        session.rollback()


def test_concurrent_clearings_of_one_item_never_clear_more_than_is_open(books: Books, engine: Engine) -> None:
    with Session(engine) as session:
        item = books.line(session, books.invoice(session, D("100.00"), date(2026, 7, 1)), books.debtor)
        payments = [books.payment(session, D("100.00"), date(2026, 7, 2)) for _ in range(6)]
        session.commit()
    errors: list[Exception] = []

    def settle(payment: int) -> None:
        try:
            with Session(engine) as own:
                clear(own, item, payment, D("40.00"), date(2026, 7, 2))
                own.commit()
        except LedgerError as error:
            errors.append(error)

    threads = [threading.Thread(target=settle, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        assert open_amount(session, item) == D("119.00") - D("40.00") * 2
    assert len(errors) == 4


def test_concurrent_postings_with_one_key_book_one_document(books: Books, engine: Engine) -> None:
    key = f"bill:{uuid.uuid4()}"
    ids: list[int] = []

    def book() -> None:
        with Session(engine) as own:
            try:
                ids.append(books.invoice(own, D("25.00"), date(2026, 8, 1), key=key))
                own.commit()
            except IntegrityError:
                own.rollback()
                ids.append(books.invoice(own, D("25.00"), date(2026, 8, 1), key=key))

    threads = [threading.Thread(target=book) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and len(ids) == 8
    with Session(engine) as session:
        assert balance(session, books.debtor, date(2026, 12, 31)) == D("29.75")


actions = st.lists(
    st.tuples(
        st.sampled_from(["bill", "payment", "partial", "reverse", "write_off", "doubtful"]),
        st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2),
        st.integers(min_value=0, max_value=60),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_invariants_hold_for_any_sequence_of_bookings(engine: Engine, steps: list[tuple[str, Decimal, int]]) -> None:
    """Every document balances, the trial balance is zero and open items equal the balance at every key date."""
    books = Books(engine)
    start = date(2026, 1, 1)
    with Session(engine) as session:
        bills: list[int] = []
        for action, amount, offset in steps:
            day = start + timedelta(days=offset)
            if action == "bill" or not bills:
                bills.append(books.invoice(session, amount, day))
            elif action == "payment":
                allocate(session, books.payment(session, amount, day), day)
            elif action == "partial":
                item = books.line(session, bills[-1], books.debtor)
                payment = books.payment(session, amount, day)
                part = min(amount, open_amount(session, item))
                when = max(day, line_date(session, item))
                if part > 0 and when >= day:
                    clear(session, item, payment, part, when)
            elif action == "reverse":
                bill = bills.pop()
                bill_day = document_date(session, bill)
                reverse(session, bill, max(day, bill_day), key=f"reversal:{bill}:{uuid.uuid4()}")
            elif action in ("write_off", "doubtful"):
                receivable = current_item(session, books, bills[-1])
                if receivable is not None:
                    when = max(day, line_date(session, receivable))
                    if action == "write_off":
                        write_off(session, receivable, when)
                    else:
                        reclassify(session, receivable, when, doubtful=not is_doubtful(session, receivable))
        session.flush()
        unbalanced = session.execute(
            text(
                "SELECT count(*) FROM (SELECT document_id FROM posting_line WHERE tenant_id = :t"
                " GROUP BY document_id HAVING sum(debit) <> sum(credit)) x"
            ),
            {"t": books.tenant_id},
        ).scalar_one()
        assert unbalanced == 0
        assert books.trial_balance(session) == 0
        controls: dict[date, Decimal] = defaultdict(Decimal)
        for period in ("2026-01", "2026-02", "2026-03"):
            for row in gl_daily_balances(session, books.tenant_id, period):
                if row.gl_role in ("debtor_control", "doubtful"):
                    controls[row.day] += row.balance
        for offset in range(0, 90, 7):
            key_date = start + timedelta(days=offset)
            open_items = open_items_total(session, books.debtor, key_date)
            assert open_items == balance(session, books.debtor, key_date) == controls[key_date]
        session.rollback()


def current_item(session: Session, books: Books, bill: int) -> int | None:
    """The bill's receivable, or what replaced it after reclassifications; None once it is settled."""
    item = books.line(session, bill, books.debtor)
    while open_amount(session, item) == 0:
        replaced = session.exec(
            select(PostingDocument.id).where(
                PostingDocument.origin == f"line:{item}", PostingDocument.doc_type == "reclassification"
            )
        ).first()
        if replaced is None:
            return None
        successor = session.exec(
            select(PostingLine.id).where(PostingLine.document_id == replaced, PostingLine.debit > 0)
        ).one()
        assert successor is not None
        item = successor
    return item


def is_doubtful(session: Session, line_id: int) -> bool:
    line = session.get(PostingLine, line_id)
    return line is not None and line.control_account_id is not None
