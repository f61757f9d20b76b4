"""Billing contracts on the real database: bills from readings, instalments settled, holds, gapless numbers."""

import hashlib
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from activities.market import DropFolderTransport
from edifact.envelope import parse_interchange
from edifact.orders import parse_orders
from models.billing import Bill, BillKind, BillState, GasConversion
from models.contracts import Contract, ContractState, Tariff, TariffPrice
from models.messages import MarketMessage
from models.orders import ContractOrder
from models.readings import LoadProfile, MeterReading
from models.taxes import TaxRate
from rules.calendar import BERLIN
from services.bill_decisions import BillRefused, correct_reading, rebill, release
from services.billing import Outcome, bill_contracts
from services.chart import book, party_account
from services.intake import intake
from services.ledger import balance, open_amount, open_items_total
from services.reading_requests import queue_reading_requests, send_queued_requests
from services.tax_rates import set_rate
from tests.factories import World

D = Decimal


class Portfolio:
    """A tenant's supplied contracts with their meter readings."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.world = World(session)
        self.tenant = self.world.tenant.id
        raw = b"UNA:+.? 'test"
        message = MarketMessage(
            tenant_id=self.tenant, direction="in", state="processed", raw=raw, sha256=hashlib.sha256(raw).hexdigest()
        )
        session.add(message)
        session.flush()
        assert message.id is not None
        self.message_id = message.id

    def contract(self, division: str = "strom", annual: str = "3650", start: date = date(2025, 1, 1)) -> Contract:
        order = ContractOrder.model_validate(self.world.order(start, division=division, annual_consumption_kwh=annual))
        contract, _ = intake(self.session, self.world.tenant, order, date(2024, 11, 1))
        contract.state, contract.supply_start = ContractState.ACTIVE, start
        self.session.add(contract)
        self.session.flush()
        return contract

    def reading(self, contract: Contract, on: date, value: str, quality: str = "220", meter: str | None = None) -> None:
        malo = self.session.execute(
            text("SELECT malo_id FROM market_location WHERE id = :id"), {"id": contract.location_id}
        ).scalar_one()
        self.session.add(
            MeterReading(
                tenant_id=self.tenant,
                location_id=malo,
                value=D(value),
                quality=quality,
                meter_number=meter,
                at=datetime(on.year, on.month, on.day, tzinfo=BERLIN),
                pruefidentifikator="13017",
                message_id=self.message_id,
            )
        )
        self.session.flush()

    def instalment(self, contract: Contract, due: date, amount: str, paid: bool) -> None:
        number = self.session.execute(
            text("SELECT account_number FROM contract_account WHERE id = :id"), {"id": contract.account_id}
        ).scalar_one()
        debtor = party_account(self.session, self.tenant, contract.division, "debtor", number, "Kunde")
        key = f"inst:{contract.id}:{due}"
        book(
            self.session,
            tenant_id=self.tenant,
            division=contract.division,
            doc_type="instalment_request",
            key=key,
            posting_date=due,
            amounts={"amount": D(amount)},
            party_account_id=debtor,
            due_date=due,
        )
        if paid:
            from services.ledger import allocate

            payment = book(
                self.session,
                tenant_id=self.tenant,
                division=contract.division,
                doc_type="payment",
                key=f"pay:{key}",
                posting_date=due,
                amounts={"amount": D(amount)},
                party_account_id=debtor,
            )
            line = self.session.execute(
                text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
                {"d": payment, "a": debtor},
            ).scalar_one()
            allocate(self.session, line, due)


def test_a_year_billed_from_readings_settles_the_instalments(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "1000")
        books.reading(contract, date(2025, 12, 29), "4620")  # 362 days, 3,620 kWh
        for month in range(1, 13):
            books.instalment(contract, date(2025, month, 15), "105.00", paid=month != 12)

        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert result.outcome is Outcome.BILLED, result.reason
        bill = session.get(Bill, result.bill_id)
        assert bill is not None and bill.state == BillState.BOOKED
        assert bill.number == "2026-0000001" and bill.period_end == date(2025, 12, 29)
        assert bill.consumption_kwh == D("3620")
        # 3,620 kWh x 0.3245 = 1,174.69; base 120 x 362/365 = 119.01; Stromsteuer 3,620 x 0.0205 = 74.21
        assert (bill.net, bill.energy_tax) == (D("1367.91"), D("74.21"))
        assert bill.vat == D("259.90") and bill.gross == D("1627.81")
        assert bill.instalments_paid == D("1155.00") and bill.balance == D("472.81")
        assert bill.due_date == date(2026, 1, 22)

        debtor = session.execute(
            text("SELECT account_id FROM posting_line WHERE document_id = :d AND due_date IS NOT NULL"),
            {"d": bill.posting_document_id},
        ).scalar_one()
        # requested 1,260.00 of which 1,155.00 paid; the bill replaces the requests: the customer owes the balance
        assert balance(session, debtor, date(2026, 1, 31)) == D("472.81")
        bill_item = session.execute(
            text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
            {"d": bill.posting_document_id, "a": debtor},
        ).scalar_one()
        assert open_amount(session, bill_item) == D("472.81")
        session.refresh(contract)
        assert contract.billed_until == date(2025, 12, 29)

        again = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert again == [result]  # the run repeated: nothing billed twice
        later = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 6), "run:2")
        assert later[0].outcome is Outcome.FAILED and "not due" in later[0].reason


def test_missing_reading_is_estimated_and_marked(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract(annual="3650")
        books.reading(contract, date(2025, 1, 1), "500")
        [waiting] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 2), "run:0")
        assert "waiting for the meter reading of 2026-01-01 until 2026-01-15" in waiting.reason
        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 15), "run:1")
        bill = session.get(Bill, result.bill_id)
        assert bill is not None and bill.estimated and bill.period_end == date(2026, 1, 1)
        assert bill.consumption_kwh == D("3650")
        assert bill.details["computation"]["readings"][1]["status"] == "estimated"


def test_implausible_or_large_bills_are_held_without_number(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        high = books.contract(annual="3650")
        books.reading(high, date(2025, 1, 1), "0")
        books.reading(high, date(2026, 1, 1), "9000")  # 2.5x the forecast
        backwards = books.contract()
        books.reading(backwards, date(2025, 1, 1), "5000")
        books.reading(backwards, date(2026, 1, 1), "4000")
        no_reading = books.contract(start=date(2025, 1, 3))
        results = bill_contracts(
            session, books.tenant, [high.id or 0, backwards.id or 0, no_reading.id or 0], date(2026, 1, 5), "run:1"
        )
        assert [r.outcome for r in results] == [Outcome.HELD, Outcome.HELD, Outcome.FAILED]
        assert "2.5x the forecast" in results[0].reason and "negative consumption" in results[1].reason
        assert "no meter reading on 2025-01-03" in results[2].reason
        held = session.exec(select(Bill).where(Bill.state == BillState.HELD, Bill.tenant_id == books.tenant)).all()
        assert len(held) == 2 and all(b.number is None and b.posting_document_id is None for b in held)


def test_gas_is_converted_with_the_grid_operators_factors(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract(division="gas", annual="12000")
        books.reading(contract, date(2025, 1, 1), "100")
        books.reading(contract, date(2026, 1, 1), "1200")  # 1,100 m³
        [failed] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert failed.outcome is Outcome.FAILED and "calorific value" in failed.reason
        session.add(
            GasConversion(
                tenant_id=books.tenant,
                location_id=contract.location_id,
                valid_from=date(2025, 1, 1),
                valid_until=date(2026, 1, 1),
                calorific_value=D("11.2"),
                z_number=D("0.9636"),
            )
        )
        [billed] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:2")
        bill = session.get(Bill, billed.bill_id)
        assert bill is not None and bill.kind == BillKind.PERIODIC
        assert bill.consumption_kwh == D("11872")  # 1,100 x 0.9636 x 11.2 = 11,871.55 -> 11,872
        assert D(bill.details["gas"]["volume_m3"]) == D("1100")


def test_parallel_runs_number_bills_without_gaps(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contracts = []
        for _ in range(12):
            contract = books.contract()
            books.reading(contract, date(2025, 1, 1), "0")
            books.reading(contract, date(2026, 1, 1), "3650")
            contracts.append(contract.id or 0)
        session.commit()
        tenant = books.tenant

    def run(part: list[int], name: str) -> None:
        with Session(engine) as worker:
            bill_contracts(worker, tenant, part, date(2026, 1, 5), name)
            worker.commit()

    threads = [threading.Thread(target=run, args=(contracts[i::3], f"run:{i}")) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        numbers = sorted(str(n) for n in session.exec(select(Bill.number).where(Bill.tenant_id == tenant)).all())
        assert numbers == [f"2026-{n:07d}" for n in range(1, 13)]


def test_clerk_releases_or_corrects_held_bills(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        books.world.tenant.release_limit = D("1000.00")
        session.add(books.world.tenant)
        big = books.contract(annual="5000")
        books.reading(big, date(2025, 1, 1), "0")
        books.reading(big, date(2026, 1, 1), "5000")
        backwards = books.contract()
        books.reading(backwards, date(2025, 1, 1), "5000")
        books.reading(backwards, date(2026, 1, 1), "4000")
        held = bill_contracts(session, books.tenant, [big.id or 0, backwards.id or 0], date(2026, 1, 5), "run:1")
        assert [r.outcome for r in held] == [Outcome.HELD, Outcome.HELD]
        assert "above the release limit of 1000.00" in held[0].reason

        with pytest.raises(BillRefused, match="correct the reading"):
            release(session, held[1].bill_id or 0, date(2026, 1, 8), "clerk.anna")
        released = release(session, held[0].bill_id or 0, date(2026, 1, 8), "clerk.anna")
        assert released.number == "2026-0000001" and released.released_by == "clerk.anna"
        with pytest.raises(BillRefused, match="not held"):
            release(session, held[0].bill_id or 0, date(2026, 1, 8), "clerk.anna")

        corrected = correct_reading(session, held[1].bill_id or 0, D("8650"), date(2026, 1, 1), date(2026, 1, 8), "b")
        # the corrected bill is plausible now, but above the value limit: it needs its own release
        assert corrected.outcome is Outcome.HELD and "release limit" in corrected.reason
        release(session, corrected.bill_id or 0, date(2026, 1, 8), "clerk.ben")
        rebilled = session.get(Bill, corrected.bill_id)
        assert rebilled is not None and rebilled.consumption_kwh == D("3650") and rebilled.number == "2026-0000002"
        dropped = session.get(Bill, held[1].bill_id)
        assert dropped is not None and dropped.state == BillState.CANCELLED and dropped.number is None


def test_cancel_and_rebill_keeps_numbers_and_the_ledger_right(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "1000")
        books.reading(contract, date(2026, 1, 1), "4000")  # wrong: should have been 4650
        for month in range(1, 13):
            books.instalment(contract, date(2025, month, 15), "100.00", paid=month <= 6)
        [first] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        wrong = session.get(Bill, first.bill_id)
        assert wrong is not None and wrong.instalments_paid == D("600.00")

        books.reading(contract, date(2026, 1, 1), "4650")  # the metering operator's correction
        cancellation, result = rebill(session, wrong.id or 0, date(2026, 2, 2), "Ablesefehler", "clerk.anna")
        new = session.get(Bill, result.bill_id)
        assert new is not None and new.consumption_kwh == D("3650") and new.instalments_paid == D("600.00")
        assert (wrong.number, cancellation.number, new.number) == ("2026-0000001", "2026-0000002", "2026-0000003")
        assert wrong.state == BillState.CANCELLED and cancellation.gross == -wrong.gross
        assert cancellation.details["cancelled_number"] == "2026-0000001"

        debtor = session.execute(
            text("SELECT account_id FROM posting_line WHERE document_id = :d AND due_date IS NOT NULL"),
            {"d": new.posting_document_id},
        ).scalar_one()
        # what the customer owes: the new bill less the six instalments paid
        assert balance(session, debtor, date(2026, 2, 28)) == new.gross - D("600.00") == new.balance
        assert open_items_total(session, debtor, date(2026, 2, 28)) == new.balance
        new_item = session.execute(
            text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
            {"d": new.posting_document_id, "a": debtor},
        ).scalar_one()
        assert open_amount(session, new_item) == new.balance


def test_rlm_month_is_billed_from_the_load_profile_with_demand_price(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract(annual="200000", start=date(2026, 1, 1))
        contract.metering, contract.billing_cycle_months = "rlm", 1
        session.add(contract)
        tariff = session.get(Tariff, contract.tariff_id)
        assert tariff is not None
        session.add(
            TariffPrice(
                tariff_id=tariff.id or 0,
                valid_from=date(2025, 12, 1),
                working_price=D("0.2000"),
                base_price_per_year=D("600.00"),
                demand_price_per_kw_year=D("120.00"),
            )
        )
        malo = session.execute(
            text("SELECT malo_id FROM market_location WHERE id = :id"), {"id": contract.location_id}
        ).scalar_one()
        values = [D("5.000")] * (31 * 96)
        values[500] = D("20.000")  # the month's peak quarter hour: 80 kW
        start = datetime(2025, 12, 31, 23, tzinfo=UTC)  # 1 January 00:00 in Berlin
        session.add(
            LoadProfile(
                tenant_id=books.tenant,
                location_id=malo,
                obis="1-1:1.29.0",
                start=start,
                end=start + timedelta(days=31),
                interval_minutes=15,
                values=values,
                qualities=["220"] * len(values),
                pruefidentifikator="13025",
                message_id=books.message_id,
            )
        )
        session.flush()
        [early] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 31), "run:0")
        assert early.outcome is Outcome.FAILED and "not due" in early.reason
        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 2, 3), "run:1")
        assert result.outcome is Outcome.BILLED, result.reason
        bill = session.get(Bill, result.bill_id)
        assert bill is not None and bill.period_end == date(2026, 2, 1)
        assert bill.consumption_kwh == D("14895")  # 2,975 x 5 + 20
        lines = {line["kind"]: D(line["amount"]) for line in bill.details["computation"]["lines"]}
        # 80 kW x 120 EUR/kW/a x 31/365 = 815.34; 14,895 kWh x 0.20 = 2,979.00; base 600 x 31/365 = 50.96
        assert lines["demand_price"] == D("815.34") and lines["working_price"] == D("2979.00")
        assert lines["base_price"] == D("50.96")


def test_rlm_with_an_incomplete_profile_waits(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract(annual="200000", start=date(2026, 1, 1))
        contract.metering, contract.billing_cycle_months = "rlm", 1
        session.add(contract)
        session.flush()
        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 2, 3), "run:1")
        assert result.outcome is Outcome.FAILED and "incomplete: 0 of 2976 values" in result.reason


def test_missing_reading_is_requested_once_from_the_metering_operator(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "0")
        assert queue_reading_requests(session, books.tenant, date(2026, 1, 3)) == 0  # the MSB has three days
        assert queue_reading_requests(session, books.tenant, date(2026, 1, 5)) == 1
        assert queue_reading_requests(session, books.tenant, date(2026, 1, 6)) == 0  # asked once
        assert send_queued_requests(session, books.tenant, DropFolderTransport(tmp_path)) == 1
        [sent] = list(tmp_path.rglob("*.edi"))
        interchange = parse_interchange(sent.read_bytes())
        [message] = interchange.messages
        orders = parse_orders(message)
        malo = session.execute(
            text("SELECT malo_id FROM market_location WHERE id = :id"), {"id": contract.location_id}
        ).scalar_one()
        assert orders.pruefidentifikator == "17102" and orders.location_id == malo
        assert orders.receiver == books.world.grid_operator.id
        assert orders.period_start == datetime(2026, 1, 1, tzinfo=BERLIN)
        stored = session.exec(select(MarketMessage).where(MarketMessage.message_type == "ORDERS")).all()
        assert [m.state for m in stored if m.tenant_id == books.tenant] == ["sent"]


def test_final_bill_at_supply_end_refunds_overpaid_instalments(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract(start=date(2025, 1, 1))
        contract.supply_end = date(2025, 7, 1)
        session.add(contract)
        books.reading(contract, date(2025, 1, 1), "1000")
        for month in range(1, 7):
            books.instalment(contract, date(2025, month, 15), "150.00", paid=True)
        [periodic] = bill_contracts(session, books.tenant, [contract.id or 0], date(2025, 7, 10), "run:1")
        assert periodic.outcome is Outcome.FAILED and "final bill" in periodic.reason
        [waiting] = bill_contracts(
            session, books.tenant, [contract.id or 0], date(2025, 7, 10), "final:1", BillKind.FINAL
        )
        assert waiting.outcome is Outcome.FAILED and "no final meter reading on 2025-07-01" in waiting.reason

        books.reading(contract, date(2025, 7, 1), "2810")  # 181 days, 1,810 kWh
        [final] = bill_contracts(
            session, books.tenant, [contract.id or 0], date(2025, 7, 10), "final:1", BillKind.FINAL
        )
        bill = session.get(Bill, final.bill_id)
        assert bill is not None and bill.kind == BillKind.FINAL and bill.period_end == date(2025, 7, 1)
        assert bill.instalments_paid == D("900.00") and bill.balance < 0 and bill.balance == bill.gross - D("900.00")
        assert bill.due_date == date(2025, 7, 24)  # a refund is paid out within two weeks
        debtor = session.execute(
            text("SELECT account_id FROM posting_line WHERE document_id = :d AND due_date IS NOT NULL"),
            {"d": bill.posting_document_id},
        ).scalar_one()
        assert balance(session, debtor, date(2025, 7, 31)) == bill.balance
        assert open_items_total(session, debtor, date(2025, 7, 31)) == bill.balance  # the refund is an open credit


def test_a_meter_change_in_the_period_holds_the_bill(engine: Engine) -> None:
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "1000", meter="1EMH0001")
        books.reading(contract, date(2026, 1, 1), "3650", meter="1EMH0002")  # the new meter started at 0
        [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert result.outcome is Outcome.HELD and "meter change" in result.reason
        assert "1EMH0001, 1EMH0002" in result.reason


def test_a_new_tax_rate_is_billed_without_a_manual_step(engine: Engine) -> None:
    """An operator adds the new Stromsteuer rate from mid-year (far in the future, so no other test meets it):
    the next bill prorates the tax at that day."""
    with Session(engine) as session:
        rate = set_rate(session, "energy_tax", "strom", date(2098, 7, 1), D("0.0305"), "test law", "test")
        session.commit()
        try:
            books = Portfolio(session)
            contract = books.contract(start=date(2098, 1, 1))
            books.reading(contract, date(2098, 1, 1), "1000")
            books.reading(contract, date(2098, 12, 29), "4620")  # 362 days, 3,620 kWh: 181 days at each rate
            [result] = bill_contracts(session, books.tenant, [contract.id or 0], date(2099, 1, 5), "run:tax")
            assert result.outcome is Outcome.BILLED, result.reason
            bill = session.get(Bill, result.bill_id)
            assert bill is not None
            taxes = [line for line in bill.details["computation"]["lines"] if line["kind"] == "energy_tax"]
            # 1,810 kWh x 0.0205 = 37.105 -> 37.11; 1,810 kWh x 0.0305 = 55.205 -> 55.21
            assert [(D(t["unit_price"]), D(t["amount"])) for t in taxes] == [
                (D("0.0205"), D("37.11")),
                (D("0.0305"), D("55.21")),
            ]
            assert bill.energy_tax == D("92.32")
        finally:
            session.rollback()
            session.delete(session.get(TaxRate, rate.id))
            session.commit()
