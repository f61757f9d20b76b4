"""Payments on the real database: a direct-debit run and its collection, returns with charges and the mandate
stopped, transfers matched by reference and by IBAN, an unassignable payment cleared by a clerk."""

from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from models.customers import SepaMandate
from models.documents import Document
from models.orders import ContractOrder
from models.payments import BankTransaction, DirectDebit
from models.tenancy import Tenant
from services.bank_statements import StatementError
from services.bank_transactions import assign, import_statement, refund_unassigned
from services.chart import book, ensure_chart, party_account
from services.intake import intake
from services.ledger import balance, open_items_total
from services.month_close import gl_daily_balances
from services.payment_runs import collect
from services.refunds import pay_out_credits
from tests.camt import Entry, Tx, statement
from tests.end_of_supply import Supplied

D = Decimal
OWN_IBAN = "DE02120300000000202051"
DAY = date(2026, 12, 1)
PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.08}"


class Customer:
    """A supplied customer with a SEPA mandate (from the order) and an instalment request due."""

    def __init__(self, engine: Engine, amount: str = "80.00", due: date = DAY) -> None:
        self.engine = engine
        supplied = Supplied.create(engine, None, None, start=date(2025, 1, 1))  # type: ignore[arg-type]
        self.supplied = supplied
        self.tenant = supplied.world.tenant.id
        with Session(engine) as session:
            tenant = session.get(Tenant, self.tenant)
            assert tenant is not None
            tenant.creditor_id, tenant.iban, tenant.bic = "DE98ZZZ09999999999", OWN_IBAN, "COBADEFFXXX"
            self.number = session.execute(
                text("SELECT account_number FROM contract_account WHERE id = :id"),
                {"id": supplied.contract.account_id},
            ).scalar_one()
            ensure_chart(session, self.tenant, "strom")
            self.account = party_account(session, self.tenant, "strom", "debtor", self.number, "Erika Mustermann")
            book(
                session,
                tenant_id=self.tenant,
                division="strom",
                doc_type="instalment_request",
                key=f"inst:{self.account}",
                posting_date=due - timedelta(days=14),
                amounts={"amount": D(amount)},
                party_account_id=self.account,
                due_date=due,
            )
            session.commit()

    def balance(self, on: date = DAY + timedelta(days=29)) -> Decimal:
        with Session(self.engine) as session:
            return balance(session, self.account, on)

    def gl(self, role: str, period: str = "2026-12") -> Decimal:
        with Session(self.engine) as session:
            rows = gl_daily_balances(session, self.tenant, period)
            return sum((r.balance for r in rows if r.gl_role == role and r.day == date(2026, 12, 31)), D("0.00"))

    def run(self, on: date = DAY, key: str = "run-1") -> tuple[int, list[DirectDebit]]:
        with Session(self.engine) as session:
            result = collect(session, self.tenant, on, key)
            session.commit()
            debits = session.exec(select(DirectDebit).where(DirectDebit.run_id == result.run_id)).all()
            return result.run_id, list(debits)

    def bank(self, *entries: Entry, on: date = DAY + timedelta(days=1)) -> object:
        with Session(self.engine) as session:
            result = import_statement(session, self.tenant, statement(OWN_IBAN, on, list(entries)), "stmt.xml")
            session.commit()
            return result


def test_run_collects_due_items_into_a_valid_pain008_and_the_statement_books_it(engine: Engine) -> None:
    customer = Customer(engine)
    _, [debit] = customer.run()
    assert debit.sequence == "FRST" and debit.amount == D("80.00")
    assert customer.balance() == 0  # collected: in transit
    with Session(engine) as session:
        [document] = session.exec(
            select(Document).where(Document.kind == "pain.008", Document.tenant_id == customer.tenant)
        ).all()
        root = ElementTree.fromstring(document.content)
        assert root.findtext(f".//{PAIN}CtrlSum") == "80.00"
        assert root.findtext(f".//{PAIN}EndToEndId") == debit.end_to_end_id
        assert root.findtext(f".//{PAIN}SeqTp") == "FRST"
        mandate = session.get(SepaMandate, debit.mandate_id)
        assert mandate is not None and mandate.first_collected_on == DAY
    assert customer.run(key="run-1")[1] == [debit]  # the same run again: nothing new

    entry = Entry(True, [Tx(D("80.00"), debit.end_to_end_id)])
    first = customer.bank(entry)
    assert first.collected == 1  # type: ignore[attr-defined]
    assert customer.gl("transit") == 0 and customer.gl("bank") == D("80.00")


def test_return_with_charges_then_a_second_return_stops_the_direct_debit(engine: Engine) -> None:
    customer = Customer(engine)
    _, [debit] = customer.run()
    customer.bank(Entry(True, [Tx(D("80.00"), debit.end_to_end_id)]))
    returned = customer.bank(
        Entry(False, [Tx(D("80.00"), debit.end_to_end_id, return_reason="AM04", charges=D("3.00"))]),
        on=DAY + timedelta(days=3),
    )
    assert returned.returned == 1  # type: ignore[attr-defined]
    assert customer.balance() == D("83.00")  # owed again, with the bank's actual charge (lack of funds)
    with Session(engine) as session:
        mandate = session.get(SepaMandate, debit.mandate_id)
        assert mandate is not None and mandate.state == "active" and mandate.returns == 1

    _, [again] = customer.run(on=DAY + timedelta(days=10), key="run-2")  # debited again once
    assert again.sequence == "RCUR" and again.amount == D("83.00")
    customer.bank(Entry(True, [Tx(D("83.00"), again.end_to_end_id)]), on=DAY + timedelta(days=11))
    customer.bank(
        Entry(False, [Tx(D("83.00"), again.end_to_end_id, return_reason="MS03", charges=D("3.00"))]),
        on=DAY + timedelta(days=14),
    )
    with Session(engine) as session:
        mandate = session.get(SepaMandate, debit.mandate_id)
        assert mandate is not None and mandate.state == "stopped" and "second return" in mandate.stopped_reason
    assert customer.run(on=DAY + timedelta(days=20), key="run-3")[1] == []  # no more direct debit
    assert customer.balance() == D("86.00")
    assert customer.gl("bank_charges") == 0  # passed on to the customer both times
    with Session(engine) as session:
        assert open_items_total(session, customer.account, DAY + timedelta(days=29)) == customer.balance()


def test_refund_request_md06_reopens_without_charge_and_stops_the_mandate(engine: Engine) -> None:
    customer = Customer(engine)
    _, [debit] = customer.run()
    customer.bank(Entry(True, [Tx(D("80.00"), debit.end_to_end_id)]))
    customer.bank(Entry(False, [Tx(D("80.00"), debit.end_to_end_id, return_reason="MD06", charges=D("3.00"))]))
    assert customer.balance() == D("80.00")
    assert customer.gl("bank_charges") == D("3.00")  # the supplier bears it: a refund is the customer's right
    with Session(engine) as session:
        mandate = session.get(SepaMandate, debit.mandate_id)
        assert mandate is not None and mandate.state == "stopped"


def test_transfers_matched_by_reference_and_by_iban(engine: Engine) -> None:
    customer = Customer(engine)
    other = Customer(engine, amount="50.00")
    result = customer.bank(
        Entry(True, [Tx(D("80.00"), remittance=f"Abschlag VK {customer.number}", iban="DE12500105170648489890")]),
        Entry(True, [Tx(D("50.00"), remittance="Strom", iban="DE89370400440532013000", name="Max")]),
    )
    assert result.matched == 2 and result.unassigned == []  # type: ignore[attr-defined]
    assert customer.balance() == D("-50.00")  # the second, by the mandate's IBAN: paid too much, a credit
    assert other.balance() == D("50.00")  # another tenant's customer with the same IBAN is not touched


def test_unassignable_payment_goes_to_clearing_and_a_clerk_assigns_or_refunds_it(engine: Engine) -> None:
    customer = Customer(engine)
    result = customer.bank(
        Entry(True, [Tx(D("80.00"), remittance="danke", iban="DE12500105170648489890", name="Unbekannt")]),
        Entry(True, [Tx(D("12.00"), remittance="falsch", iban="DE12500105170648489890", name="Irrtum")]),
    )
    first, second = result.unassigned  # type: ignore[attr-defined]
    assert customer.gl("clearing") == D("-92.00")
    with Session(engine) as session:
        assign(session, first, customer.account, "clerk.anna")
        assert refund_unassigned(session, second, "clerk.anna") == D("12.00")
        with pytest.raises(ValueError, match="not waiting"):
            assign(session, first, customer.account, "clerk.anna")
        session.commit()
        row = session.get(BankTransaction, first)
        assert row is not None and row.outcome == "matched"
    assert customer.balance() == 0 and customer.gl("clearing") == 0


def test_the_same_statement_twice_books_once_and_a_broken_one_is_kept(engine: Engine) -> None:
    customer = Customer(engine)
    raw = statement(OWN_IBAN, DAY, [Entry(True, [Tx(D("80.00"), remittance=f"VK {customer.number}")])])
    with Session(engine) as session:
        first = import_statement(session, customer.tenant, raw)
        again = import_statement(session, customer.tenant, raw)
        session.commit()
    assert not first.duplicate and again.duplicate and again.matched == 1
    assert customer.balance() == 0
    with Session(engine) as session:
        with pytest.raises(StatementError):
            import_statement(session, customer.tenant, raw[: len(raw) // 2])
        session.commit()
        state = session.execute(
            text("SELECT state, error FROM bank_statement WHERE tenant_id = :t ORDER BY id DESC LIMIT 1"),
            {"t": customer.tenant},
        ).one()
        assert state.state == "broken" and state.error


def test_credit_balances_are_paid_out_once_by_pain001(engine: Engine) -> None:
    customer = Customer(engine)
    customer.bank(Entry(True, [Tx(D("130.00"), remittance=f"VK {customer.number}")]))  # 80 due, 50 too much
    assert customer.balance() == D("-50.00")
    with Session(engine) as session:
        run = pay_out_credits(session, customer.tenant, DAY + timedelta(days=2), "refunds-1")
        again = pay_out_credits(session, customer.tenant, DAY + timedelta(days=2), "refunds-1")
        session.commit()
        assert (run.refunds, run.total) == (1, D("50.00")) and again.document_id == run.document_id
        document = session.get(Document, run.document_id)
        assert document is not None and b"<CtrlSum>50.00</CtrlSum>" in document.content
        assert open_items_total(session, customer.account, DAY + timedelta(days=29)) == 0
    assert customer.balance() == 0


def test_a_payer_with_several_accounts_is_matched_by_the_amount_owed(engine: Engine) -> None:
    customer = Customer(engine)
    with Session(engine) as session:  # a second contract account of the same payer (same IBAN in the mandate)
        order = ContractOrder.model_validate(customer.supplied.world.order(date(2025, 1, 1)))
        contract, _ = intake(session, customer.supplied.world.tenant, order, date(2020, 1, 1))
        number = session.execute(
            text("SELECT account_number FROM contract_account WHERE id = :id"), {"id": contract.account_id}
        ).scalar_one()
        second = party_account(session, customer.tenant, "strom", "debtor", number, "Erika Mustermann")
        book(
            session,
            tenant_id=customer.tenant,
            division="strom",
            doc_type="instalment_request",
            key="inst:second",
            posting_date=DAY,
            amounts={"amount": D("35.00")},
            party_account_id=second,
            due_date=DAY,
        )
        session.commit()
    result = customer.bank(Entry(True, [Tx(D("35.00"), remittance="Strom", iban="DE89370400440532013000")]))
    assert result.matched == 1  # type: ignore[attr-defined]
    with Session(engine) as session:
        assert balance(session, second, DAY + timedelta(days=5)) == 0
    assert customer.balance() == D("80.00")
    unclear = customer.bank(Entry(True, [Tx(D("12.34"), remittance="Strom", iban="DE89370400440532013000")]))
    assert len(unclear.unassigned) == 1  # type: ignore[attr-defined]  # neither account owes 12.34
