"""Doubtful receivables and write-offs on the real database: GL effect, VAT correction, month-close reconciliation."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.ledger import PostingDocument, PostingLine
from services.chart import book, ensure_chart, party_account
from services.ledger import LedgerError, Line, PostingRequest, allocate, balance, last_day, open_amount, post, reverse
from services.month_close import CloseRefused, close_month, gl_daily_balances
from services.receivables import reclassify, write_off
from tests.factories import World

D = Decimal
MARCH = date(2026, 3, 2)


class Debtor:
    """A debtor of a fresh tenant with the default chart of the Strom division."""

    def __init__(self, session: Session) -> None:
        self.tenant = World(session).tenant.id
        self.gl = ensure_chart(session, self.tenant, "strom")
        self.account = party_account(session, self.tenant, "strom", "debtor", "VK-1", "Erika Mustermann")

    def bill(self, session: Session, key: str, net: str, tax: str, vat: str, day: date = MARCH) -> int:
        document = book(
            session,
            tenant_id=self.tenant,
            division="strom",
            doc_type="bill",
            key=key,
            posting_date=day,
            amounts={"net": D(net), "tax": D(tax), "vat": D(vat)},
            party_account_id=self.account,
            due_date=day + timedelta(days=14),
        )
        return self.item_of(session, document)

    def pay(self, session: Session, key: str, amount: str, day: date) -> int:
        document = book(
            session,
            tenant_id=self.tenant,
            division="strom",
            doc_type="payment",
            key=key,
            posting_date=day,
            amounts={"amount": D(amount)},
            party_account_id=self.account,
        )
        [line] = session.exec(
            select(PostingLine.id).where(PostingLine.document_id == document, PostingLine.account_id == self.account)
        ).all()
        assert line is not None
        return line

    def item_of(self, session: Session, document_id: int) -> int:
        [line] = session.exec(
            select(PostingLine.id).where(
                PostingLine.document_id == document_id,
                PostingLine.account_id == self.account,
                PostingLine.debit > 0,
            )
        ).all()
        assert line is not None
        return line

    def gl_balance(self, session: Session, role: str, period: str) -> Decimal:
        """The GL account's month-end balance as the month close hands it over (debtor lines rolled up)."""
        rows = gl_daily_balances(session, self.tenant, period)
        return sum((D(r.balance) for r in rows if r.gl_role == role and r.day == last_day(period)), D("0.00"))


def test_doubtful_receivable_moves_to_its_gl_account_and_back_without_vat_effect(engine: Engine) -> None:
    with Session(engine) as session:
        debtor = Debtor(session)
        item = debtor.bill(session, "bill:1", "100.00", "20.50", "22.90")
        doubtful = reclassify(session, item, date(2026, 3, 20))
        session.commit()
        assert debtor.gl_balance(session, "debtor_control", "2026-03") == 0
        assert debtor.gl_balance(session, "doubtful", "2026-03") == D("143.40")
        assert debtor.gl_balance(session, "vat", "2026-03") == D("-22.90")
        assert balance(session, debtor.account, date(2026, 3, 31)) == D("143.40")  # the customer still owes it
        assert open_amount(session, item) == 0 and open_amount(session, doubtful) == D("143.40")
        assert reclassify(session, item, date(2026, 3, 21)) == doubtful  # repeated: the same item
        with pytest.raises(LedgerError, match="already a doubtful"):
            reclassify(session, doubtful, date(2026, 3, 21))

        back = reclassify(session, doubtful, date(2026, 3, 25), doubtful=False)
        session.commit()
        assert debtor.gl_balance(session, "debtor_control", "2026-03") == D("143.40")
        assert debtor.gl_balance(session, "doubtful", "2026-03") == 0
        due = session.get(PostingLine, back)
        assert due is not None and due.due_date == MARCH + timedelta(days=14) and due.control_account_id is None


def test_payment_on_a_doubtful_item_reduces_the_doubtful_account(engine: Engine) -> None:
    with Session(engine) as session:
        debtor = Debtor(session)
        doubtful = reclassify(session, debtor.bill(session, "bill:1", "100.00", "0.00", "19.00"), date(2026, 3, 5))
        rest = allocate(session, debtor.pay(session, "pay:1", "50.00", date(2026, 3, 10)), date(2026, 3, 10))
        session.commit()
        assert rest == 0 and open_amount(session, doubtful) == D("69.00")
        assert debtor.gl_balance(session, "doubtful", "2026-03") == D("69.00")
        assert debtor.gl_balance(session, "debtor_control", "2026-03") == 0


def test_write_off_corrects_the_vat_share_of_the_open_rest(engine: Engine) -> None:
    with Session(engine) as session:
        debtor = Debtor(session)
        doubtful = reclassify(session, debtor.bill(session, "bill:1", "100.00", "0.00", "19.00"), date(2026, 3, 5))
        allocate(session, debtor.pay(session, "pay:1", "50.00", date(2026, 3, 10)), date(2026, 3, 10))
        document = write_off(session, doubtful, date(2026, 3, 28))
        assert write_off(session, doubtful, date(2026, 3, 29)) == document  # repeated: booked once
        session.commit()
        # 69.00 of 119.00 is open: its VAT share is 19.00 * 69 / 119 = 11.0168 -> 11.02
        lines = session.exec(select(PostingLine).where(PostingLine.document_id == document)).all()
        by_account = {line.account_id: (line.debit, line.credit) for line in lines}
        assert by_account[debtor.gl["vat"]] == (D("11.02"), D("0.00"))
        assert by_account[debtor.gl["write_off"]] == (D("57.98"), D("0.00"))
        assert debtor.gl_balance(session, "vat", "2026-03") == D("-7.98")  # the VAT of the 50.00 paid
        assert debtor.gl_balance(session, "doubtful", "2026-03") == 0
        assert balance(session, debtor.account, date(2026, 3, 31)) == 0 and open_amount(session, doubtful) == 0
        paid = debtor.bill(session, "bill:2", "10.00", "0.00", "1.90")
        allocate(session, debtor.pay(session, "pay:2", "11.90", date(2026, 3, 12)), date(2026, 3, 12))
        with pytest.raises(LedgerError, match="nothing is open"):
            write_off(session, paid, date(2026, 3, 30))


def test_write_off_keeps_the_electricity_tax_as_a_loss(engine: Engine) -> None:
    with Session(engine) as session:
        debtor = Debtor(session)
        item = debtor.bill(session, "bill:1", "100.00", "20.50", "22.90")
        document = write_off(session, item, date(2026, 3, 28))
        lines = session.exec(select(PostingLine).where(PostingLine.document_id == document)).all()
        amounts = {line.account_id: line.debit - line.credit for line in lines}
        assert amounts == {
            debtor.gl["write_off"]: D("120.50"),
            debtor.gl["vat"]: D("22.90"),
            debtor.account: D("-143.40"),
        }


def test_what_cannot_be_reclassified_or_written_off(engine: Engine) -> None:
    with Session(engine) as session:
        debtor = Debtor(session)
        instalment = book(
            session,
            tenant_id=debtor.tenant,
            division="strom",
            doc_type="instalment_request",
            key="inst:1",
            posting_date=MARCH,
            amounts={"amount": D("80.00")},
            party_account_id=debtor.account,
            due_date=MARCH,
        )
        with pytest.raises(LedgerError, match="write off the bill"):
            write_off(session, debtor.item_of(session, instalment), date(2026, 3, 28))
        payment = debtor.pay(session, "pay:1", "10.00", MARCH)
        with pytest.raises(LedgerError, match="not a receivable"):
            reclassify(session, payment, MARCH)
        item = debtor.bill(session, "bill:1", "10.00", "0.00", "1.90")
        revenue_line = session.exec(
            select(PostingLine.id).where(PostingLine.account_id == debtor.gl["revenue"])
        ).first()
        assert revenue_line is not None
        with pytest.raises(LedgerError, match="not a receivable"):
            write_off(session, revenue_line, MARCH)
        reverse(session, session.exec(select(PostingLine.document_id).where(PostingLine.id == item)).one(), MARCH)
        with pytest.raises(LedgerError, match="nothing is open"):
            reclassify(session, item, MARCH)


def test_month_close_reconciles_with_doubtful_items(engine: Engine) -> None:
    with Session(engine) as session:
        debtor = Debtor(session)
        reclassify(session, debtor.bill(session, "bill:1", "100.00", "20.50", "22.90"), date(2026, 3, 5))
        debtor.bill(session, "bill:2", "10.00", "0.00", "1.90")
        result = close_month(session, debtor.tenant, "2026-03")
        [strom] = result.divisions
        assert strom.debtor_open_items == strom.debtor_balance == D("155.30") and strom.trial_balance == 0
        assert session.exec(select(PostingDocument).where(PostingDocument.doc_type == "reclassification")).all()


def test_close_refuses_debtors_without_a_control_account(engine: Engine) -> None:
    with Session(engine) as session:
        tenant = World(session).tenant.id
        account = party_account(session, tenant, "gas", "debtor", "VK-9", "Max")
        revenue = party_account(session, tenant, "gas", "gl", "8400", "Erlöse")
        post(
            session,
            PostingRequest(
                tenant_id=tenant,
                division="gas",
                doc_type="bill",
                posting_date=MARCH,
                idempotency_key="bill:x",
                lines=[
                    Line(account_id=account, debit=D("5.00"), due_date=MARCH),
                    Line(account_id=revenue, credit=D("5.00")),
                ],
            ),
        )
        with pytest.raises(CloseRefused, match="no GL account with the role debtor_control"):
            close_month(session, tenant, "2026-03")
