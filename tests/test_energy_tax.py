"""Month-end accrual of unbilled consumption and the energy-tax bases, on the real database."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.contracts import Contract, ContractState
from models.ledger import LedgerAccount, PostingDocument, PostingLine
from models.orders import ContractOrder
from services.chart import book, ensure_chart, party_account
from services.energy_tax import accrue, tax_bases
from services.intake import intake
from services.ledger import LedgerError
from services.month_close import close_month
from tests.factories import World

D = Decimal


def supplied(
    session: Session, world: World, division: str, annual: str, start: date, end: date | None = None
) -> Contract:
    order = ContractOrder.model_validate(world.order(start, division=division, annual_consumption_kwh=annual))
    contract, _ = intake(session, world.tenant, order, date(2025, 11, 1))
    contract.state, contract.supply_start, contract.supply_end = ContractState.ACTIVE, start, end
    session.add(contract)
    session.flush()
    return contract


def lines_by_role(session: Session, document_id: int) -> dict[str, Decimal]:
    lines = session.exec(select(PostingLine).where(PostingLine.document_id == document_id)).all()
    roles = {line.account_id: session.get(LedgerAccount, line.account_id) for line in lines}
    by_role: dict[str, Decimal] = {}
    for line in lines:
        role = str(getattr(roles[line.account_id], "gl_role", None))
        by_role[role] = by_role.get(role, D(0)) + line.debit - line.credit
    return by_role


def test_accrual_prices_unbilled_days_and_is_reversed_next_month(engine: Engine) -> None:
    with Session(engine) as session:
        world = World(session)
        tenant = world.tenant.id
        supplied(session, world, "strom", "3650", date(2026, 1, 1))  # 10 kWh a day, 90 days to 1 April
        supplied(session, world, "strom", "365", date(2026, 3, 1), end=date(2026, 3, 11))  # ended: 10 days
        supplied(session, world, "gas", "7300", date(2026, 3, 16))  # 20 kWh a day, 16 days
        supplied(session, world, "strom", "9999", date(2026, 4, 1))  # starts after the key date

        accruals = {a.division: a for a in accrue(session, tenant, "2026-03")}
        assert accrue(session, tenant, "2026-03") == list(accruals.values())  # booked once

        strom, gas = accruals["strom"], accruals["gas"]
        # strom: 900 kWh * 0.3245 = 292.05, base 120 * 90/365 = 29.59; 10 kWh -> 3.25 + 120 * 10/365 = 3.29
        assert (strom.quantity_kwh, strom.net, strom.tax) == (D("910.000"), D("328.18"), D("18.66"))
        # gas: 320 kWh * 0.0950 = 30.40, base 150 * 16/365 = 6.58, tax 320 * 0.0055 = 1.76
        assert (gas.quantity_kwh, gas.net, gas.tax) == (D("320.000"), D("36.98"), D("1.76"))
        assert lines_by_role(session, strom.document_id) == {
            "accrual": D("346.84"),
            "revenue": D("-328.18"),
            "electricity_tax": D("-18.66"),
        }
        assert lines_by_role(session, gas.document_id)["energy_tax"] == D("-1.76")

        reversal = session.get(PostingDocument, strom.reversal_id)
        assert reversal is not None
        assert (reversal.posting_date, reversal.period, reversal.quantity_kwh) == (
            date(2026, 4, 1),
            "2026-04",
            D("-910.000"),
        )

        march = close_month(session, tenant, "2026-03")
        bases = {b.division: b for b in march.energy_tax}
        assert bases["strom"].accrued_kwh == bases["strom"].delivered_kwh == D("910.000")
        assert bases["strom"].tax == D("18.66") and bases["strom"].billed_kwh == 0
        assert all(d.trial_balance == 0 for d in march.divisions)
        with pytest.raises(LedgerError, match="closed"):
            accrue(session, tenant, "2026-03")


def test_bill_and_accrual_reversal_make_the_delivered_quantity(engine: Engine) -> None:
    with Session(engine) as session:
        world = World(session)
        tenant = world.tenant.id
        contract = supplied(session, world, "strom", "3650", date(2026, 1, 1))
        close_month(session, tenant, "2026-03")  # accrues 900 kWh, reversed on 1 April

        ensure_chart(session, tenant, "strom")
        debtor = party_account(session, tenant, "strom", "debtor", "VK-1", "Erika Mustermann")
        book(  # the bill for 1 January to 10 April: 1,000 kWh, tax 20.50
            session,
            tenant_id=tenant,
            division="strom",
            doc_type="bill",
            key="bill:1",
            posting_date=date(2026, 4, 10),
            amounts={"net": D("344.51"), "tax": D("20.50"), "vat": D("69.35")},
            party_account_id=debtor,
            quantity_kwh=D("1000"),
        )
        contract.billed_until = date(2026, 4, 10)
        session.add(contract)
        april = close_month(session, tenant, "2026-04")
        [strom] = april.energy_tax
        # 21 unbilled days at 10 kWh a day accrued at the end of April
        assert (strom.billed_kwh, strom.accrued_kwh, strom.reversed_kwh) == (D("1000"), D("210"), D("900"))
        assert strom.delivered_kwh == D("310")
        assert strom.billed_tax == D("20.50")
        assert strom.tax == D("20.50") + D("4.31") - D("18.45")
        assert tax_bases(session, tenant, "2026-05")[0].reversed_kwh == D("210")
