"""Account assignment: rules without a server, and booking through them on the real database."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.ledger import LedgerAccount, PostingLine
from rules.kontierung import RULES, assign
from services.chart import book, ensure_chart, party_account
from services.ledger import balance
from tests.factories import World

D = Decimal


def test_every_rule_balances_for_any_amounts() -> None:
    amounts = {"net": D("100.00"), "tax": D("20.50"), "vat": D("22.90"), "amount": D("55.55")}
    for doc_type in RULES:
        for division in ("strom", "gas"):
            lines = assign(doc_type, division, amounts)
            debit = sum(line.amount for line in lines if line.side == "debit")
            credit = sum(line.amount for line in lines if line.side == "credit")
            assert debit == credit > 0, doc_type


def test_division_decides_the_tax_account_and_zero_components_are_left_out() -> None:
    strom = assign("bill", "strom", {"net": D("10.00"), "tax": D("2.05"), "vat": D("2.29")})
    gas = assign("bill", "gas", {"net": D("10.00"), "tax": D("0.55"), "vat": D("2.01")})
    assert [line.account for line in strom] == ["debtor", "revenue", "electricity_tax", "vat"]
    assert [line.account for line in gas] == ["debtor", "revenue", "energy_tax", "vat"]
    assert strom[0].amount == D("14.34") and strom[0].open_item
    assert [line.account for line in assign("bill", "strom", {"net": D("10.00"), "vat": D("0.00")})] == [
        "debtor",
        "revenue",
    ]
    with pytest.raises(ValueError, match="no account assignment"):
        assign("gift", "strom", {"amount": D("1.00")})
    with pytest.raises(ValueError, match="negative"):
        assign("payment", "strom", {"amount": D("-1.00")})


def test_booking_through_the_chart(engine: Engine) -> None:
    with Session(engine) as session:
        tenant = World(session).tenant.id
        accounts = ensure_chart(session, tenant, "gas", {"revenue": ("8410", "Erlöse Erdgas")})
        assert ensure_chart(session, tenant, "gas", {"revenue": ("8410", "Erlöse Erdgas")}) == accounts
        revenue = session.get(LedgerAccount, accounts["revenue"])
        assert revenue is not None and revenue.number == "8410"
        debtor = party_account(session, tenant, "gas", "debtor", "VK-100", "Erika Mustermann")
        amounts = {"net": D("100.00"), "tax": D("5.50"), "vat": D("20.05")}
        first = book(
            session,
            tenant_id=tenant,
            division="gas",
            doc_type="bill",
            key="bill:VK-100:2026-05",
            posting_date=date(2026, 5, 31),
            amounts=amounts,
            party_account_id=debtor,
            due_date=date(2026, 6, 14),
        )
        again = book(
            session,
            tenant_id=tenant,
            division="gas",
            doc_type="bill",
            key="bill:VK-100:2026-05",
            posting_date=date(2026, 5, 31),
            amounts=amounts,
            party_account_id=debtor,
        )
        assert first == again
        assert balance(session, debtor, date(2026, 12, 31)) == D("125.55")
        assert balance(session, accounts["energy_tax"], date(2026, 12, 31)) == D("-5.50")
        item = session.exec(
            select(PostingLine).where(PostingLine.document_id == first, PostingLine.account_id == debtor)
        ).one()
        assert item.due_date == date(2026, 6, 14)
        with pytest.raises(ValueError, match="not debtor"):
            party_account(session, tenant, "gas", "debtor", "8410", "clash")
        session.rollback()
