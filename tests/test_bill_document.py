"""Bills and correction letters rendered to PDF and archived, on the real database: the § 40 EnWG contents."""

import hashlib
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from models.billing import Bill, BillKind, BillState
from models.contracts import BudgetInstalment, BudgetPlan, Contract, ContractState, MarketLocation, TariffPrice
from models.customers import ContractAccount, Customer
from models.documents import Document
from models.orders import ContractOrder
from rules import billing
from rules.billing import BillingPrice, Reading, ReadingStatus, Settlement, compute_bill, gas_kwh, settle
from services.bill_decisions import rebill
from services.bill_document import render_bill, render_correction_letter
from services.billing import bill_contracts
from services.intake import intake
from templates.render import eur
from tests.factories import World
from tests.test_billing import Portfolio

D = Decimal
BOOKED_AT = datetime(2027, 1, 12, 9, 30, tzinfo=UTC)  # Rechnungsdatum 12.01.2027
DUE = date(2027, 2, 15)
START, END, PRICE_CHANGE = date(2026, 1, 1), date(2027, 1, 1), date(2026, 7, 1)
STROM_PRICES = [
    BillingPrice(
        valid_from=date(2020, 1, 1),
        working_price=D("0.3245"),
        base_price_per_year=D("120.00"),
        concession_fee=D("0.0199"),
    ),
    BillingPrice(
        valid_from=PRICE_CHANGE,
        working_price=D("0.3495"),
        base_price_per_year=D("132.00"),
        concession_fee=D("0.0199"),
    ),
]
GAS_PRICES = [BillingPrice(valid_from=date(2020, 1, 1), working_price=D("0.0950"), base_price_per_year=D("150.00"))]


def supplied(session: Session, world: World, division: str) -> Contract:
    """A contract from a real order, supplied since START; the tenant gets its register entry and VAT id."""
    world.tenant.commercial_register = "Amtsgericht Musterstadt HRB 4711"
    world.tenant.vat_id = "DE123456789"
    session.add(world.tenant)
    order = ContractOrder.model_validate(world.order(START, division=division, annual_consumption_kwh="2500"))
    contract, _ = intake(session, world.tenant, order, date(2025, 11, 1))
    contract.state, contract.supply_start = ContractState.ACTIVE, START
    session.add(contract)
    if division == "strom":
        session.add(
            TariffPrice(
                tariff_id=contract.tariff_id,
                valid_from=PRICE_CHANGE,
                working_price=D("0.3495"),
                base_price_per_year=D("132.00"),
            )
        )
    session.flush()
    return contract


def strom(end_reading: str, status: ReadingStatus = ReadingStatus.ESTIMATED) -> billing.Bill:
    """A year of Strom from 10,000 kWh on the register, across the price change on 1 July."""
    readings = (Reading(on=START, value=D("10000")), Reading(on=END, value=D(end_reading), status=status))
    return compute_bill("strom", START, END, readings[1].value - readings[0].value, STROM_PRICES, readings=readings)


def book(
    session: Session,
    contract: Contract,
    number: str | None,
    computation: billing.Bill,
    settlement: Settlement,
    **details: Any,
) -> Bill:
    """A Bill row as the billing run stores it."""
    assert contract.id is not None
    bill = Bill(
        tenant_id=contract.tenant_id,
        number=number,
        kind=BillKind.PERIODIC,
        state=BillState.BOOKED if number else BillState.HELD,
        contract_id=contract.id,
        division=contract.division,
        period_start=computation.start,
        period_end=computation.end,
        consumption_kwh=computation.consumption_kwh,
        net=computation.net,
        energy_tax=computation.energy_tax,
        vat=computation.vat,
        gross=computation.gross,
        instalments_paid=settlement.paid,
        balance=settlement.balance,
        next_instalment=settlement.next_instalment,
        due_date=DUE,
        estimated=computation.estimated,
        details={
            "computation": computation.model_dump(mode="json"),
            "settlement": settlement.model_dump(mode="json"),
            "meter_number": "1ESY1160000001",
            "unit": "kWh",
            "gas": None,
            "previous_year_kwh": "2300",
            "comparison_kwh": "2800",
            "tariff_name": "Strom Basis",
            "previous_bill_number": None,
        }
        | details,
        booked_at=BOOKED_AT if number else None,
    )
    session.add(bill)
    session.flush()
    return bill


def cancel(session: Session, bill: Bill, number: str) -> Bill:
    """The cancellation bill as services.bill_decisions.cancel stores it: negated amounts, few details."""
    cancellation = Bill(
        tenant_id=bill.tenant_id,
        number=number,
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
        details={
            "reason": "Zählerstand falsch",
            "cancelled_number": bill.number,
            "computation": bill.details["computation"],
        },
        cancellation_of_id=bill.id,
        booked_at=BOOKED_AT,
    )
    bill.state = BillState.CANCELLED
    session.add_all([bill, cancellation])
    session.flush()
    return cancellation


def new_plan(session: Session, contract: Contract, instalment: Decimal) -> None:
    """The budget plan from the end of the period, so the bill knows the first due date of the new instalment."""
    assert contract.id is not None
    plan = BudgetPlan(
        tenant_id=contract.tenant_id,
        contract_id=contract.id,
        business_key=f"budget:{contract.id}:{END.isoformat()}",
        valid_from=END,
        annual_net=D("0"),
        annual_vat=D("0"),
        annual_gross=instalment * 12,
        instalment=instalment,
    )
    session.add(plan)
    session.flush()
    assert plan.id is not None
    session.add(BudgetInstalment(plan_id=plan.id, due_date=date(2027, 2, 1), amount=instalment))
    session.flush()


def pdf_text(session: Session, document_id: int) -> str:
    """The archived PDF's text with whitespace normalised (table cells and wrapped lines become single spaces)."""
    document = session.get(Document, document_id)
    assert document is not None
    pages = PdfReader(io.BytesIO(document.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def assert_contains(text: str, expected: list[str]) -> None:
    missing = [item for item in expected if item not in text]
    assert not missing, f"missing {missing} in:\n{text}"


def test_strom_bill_shows_every_section_40_field(engine: Engine) -> None:
    with Session(engine) as session:
        world = World(session)
        contract = supplied(session, world, "strom")
        computation = strom("12500")
        settlement = settle(computation, [D("100.00")] * 12, STROM_PRICES)
        new_plan(session, contract, settlement.next_instalment)
        bill = book(session, contract, "2027-0000001", computation, settlement)
        assert bill.id is not None and settlement.balance > 0

        text = pdf_text(session, render_bill(session, bill.id))

        customer = session.get(Customer, contract.customer_id)
        account = session.get(ContractAccount, contract.account_id)
        location = session.get(MarketLocation, contract.location_id)
        assert customer is not None and account is not None and location is not None
        assert len(computation.lines) == 8  # two segments of four lines
        assert_contains(
            text,
            [
                # supplier (§ 40 (2) 1), customer, contract account
                "Stadtwerke Musterstadt GmbH",
                "Registergericht: Amtsgericht Musterstadt HRB 4711",
                "USt-IdNr.: DE123456789",
                "Telefon 0800 1234567",
                "service@sw-musterstadt.de",
                "Erika Mustermann",
                "Lindenweg 7",
                f"Kundennummer {customer.customer_number}",
                f"Vertragskonto {account.account_number}",
                f"Vertragsnummer {contract.contract_number}",
                "Verbrauchsabrechnung Strom Nr. 2027-0000001",
                "Datum 12.01.2027",
                # supplied location (2), contract, prices, termination (3, 4)
                f"Marktlokation (MaLo-ID) {location.malo_id}",
                "Tarif Strom Basis",
                "34,95 ct/kWh netto / 41,59 ct/kWh brutto",
                "132,00 €/Jahr netto / 157,08 €/Jahr brutto",
                "seit 01.01.2026 (unbefristet)",
                "Kündigungsfrist 28 Tage",
                "Nächstmöglicher Kündigungstermin 09.02.2027",
                # grid operator and metering operator (5)
                f"Netzbetreiber Netz Musterstadt GmbH, Codenummer {world.grid_operator.id}",
                f"Messstellenbetreiber Netz Musterstadt GmbH, Codenummer {world.grid_operator.id}",
                "grundzuständiger Messstellenbetreiber",
                # period, meter, readings and how they were obtained, consumption (6)
                "Abrechnungszeitraum 01.01.2026 – 31.12.2026 (365 Tage)",
                "Zählernummer 1ESY1160000001",
                "Anfangsstand 01.01.2026 10.000 kWh abgelesen/Messstellenbetreiber",
                "Endstand 01.01.2027 12.500 kWh geschätzt",
                "Ihr Verbrauch im Abrechnungszeitraum: 2.500 kWh",
                # comparisons (7, 8)
                "Vorjahreszeitraum 2.300 kWh",
                "8,7 % mehr verbraucht",
                "Durchschnitt vergleichbarer Kunden pro Jahr 2.800 kWh",
                # price components per segment
                "Arbeitspreis 01.01.2026 – 30.06.2026",
                "Arbeitspreis 01.07.2026 – 31.12.2026",
                "32,45 ct/kWh",
                "34,95 ct/kWh",
                "Grundpreis 01.01.2026 – 30.06.2026 181 Tage 120,00 €/Jahr",
                "Grundpreis 01.07.2026 – 31.12.2026 184 Tage 132,00 €/Jahr",
                "Konzessionsabgabe",
                "1,99 ct/kWh",
                "Stromsteuer",
                "2,05 ct/kWh",
                # totals, VAT, instalments, balance and due date
                f"Summe netto {eur(computation.net)}",
                f"Umsatzsteuer 19 % auf {eur(computation.net)} {eur(computation.vat)}",
                f"Summe brutto {eur(computation.gross)}",
                f"abzüglich geleistete Abschläge {eur(D('1200.00'))}",
                f"Zu zahlender Betrag: {eur(settlement.balance)}",
                "Fällig am: 15.02.2027",
                f"Ihr monatlicher Abschlag beträgt ab sofort {eur(settlement.next_instalment)}",
                "erstmals fällig am 01.02.2027",
                # Stromkennzeichnung and dispute resolution
                "Stromkennzeichnung nach § 42 EnWG",
                "Schlichtungsstelle Energie e.V., Friedrichstraße 133, 10117 Berlin",
                "www.schlichtungsstelle-energie.de",
                "Verbraucherservice Energie der Bundesnetzagentur",
                "Postfach 8001, 53105 Bonn",
                "verbraucherservice-energie@bnetza.de",
            ]
            + [eur(line.amount) for line in computation.lines],
        )
        assert "Guthaben" not in text


def test_gas_bill_converts_cubic_metres_to_kwh(engine: Engine) -> None:
    with Session(engine) as session:
        world = World(session)
        contract = supplied(session, world, "gas")
        z, hs = D("0.9636"), D("11.234")
        kwh = gas_kwh(D("800"), z, hs)
        readings = (Reading(on=START, value=D("5000")), Reading(on=END, value=D("5800")))
        computation = compute_bill("gas", START, END, kwh, GAS_PRICES, readings=readings)
        settlement = settle(computation, [D("80.00")] * 12, GAS_PRICES)
        gas = {"volume_m3": "800", "calorific_value": str(hs), "z_number": str(z)}
        bill = book(
            session,
            contract,
            "2027-0000001",
            computation,
            settlement,
            unit="m3",
            gas=gas,
            tariff_name=None,
            previous_year_kwh="9120",
            comparison_kwh="12000",
        )
        assert bill.id is not None

        text = pdf_text(session, render_bill(session, bill.id))

        assert kwh == D("8660")
        assert_contains(
            text,
            [
                "Verbrauchsabrechnung Erdgas Nr. 2027-0000001",
                "Anfangsstand 01.01.2026 5.000 m³ abgelesen/Messstellenbetreiber",
                "Endstand 01.01.2027 5.800 m³ abgelesen/Messstellenbetreiber",
                "800 m³ × Zustandszahl 0,9636 × Brennwert 11,234 kWh/m³ = 8.660 kWh",
                "Ihr Verbrauch im Abrechnungszeitraum: 8.660 kWh",
                "Vorjahreszeitraum 9.120 kWh",
                "5 % weniger verbraucht",
                "Durchschnitt vergleichbarer Kunden pro Jahr 12.000 kWh",
                "Tarif Erdgas Basis",  # from the tariff when the details name none
                "Energiesteuer",
                "0,55 ct/kWh",
                f"Netzbetreiber Gasnetz Musterstadt, Codenummer {world.gas_grid_operator.id}",
                f"Marktpartner-ID: {world.tenant.gas_market_partner_id}",
                f"Summe brutto {eur(computation.gross)}",
            ],
        )
        assert "Stromkennzeichnung" not in text and "geschätzt" not in text

        cancellation = cancel(session, bill, "2027-0000002")
        assert cancellation.id is not None
        storno = pdf_text(session, render_bill(session, cancellation.id))
        assert_contains(  # unit and conversion come from the cancelled bill
            storno,
            [
                "Stornorechnung Nr. 2027-0000002 zur Rechnung Nr. 2027-0000001 (Erdgas)",
                "Endstand 01.01.2027 5.800 m³",
                "800 m³ × Zustandszahl 0,9636 × Brennwert 11,234 kWh/m³ = 8.660 kWh",
                f"Gutschrift: {eur(-computation.gross)}",
            ],
        )


def test_refund_says_guthaben(engine: Engine) -> None:
    with Session(engine) as session:
        contract = supplied(session, World(session), "strom")
        computation = strom("12500", ReadingStatus.ACTUAL)
        settlement = settle(computation, [D("120.00")] * 12, STROM_PRICES)
        bill = book(session, contract, "2027-0000001", computation, settlement, previous_bill_number="2026-0000042")
        assert bill.id is not None and settlement.balance < 0

        text = pdf_text(session, render_bill(session, bill.id))

        assert_contains(
            text,
            [
                f"Guthaben: {eur(-settlement.balance)}",
                "Wir erstatten Ihr Guthaben bis zum 15.02.2027",
                f"Guthaben {eur(-settlement.balance)}",
                "Ihre vorherige Rechnung hatte die Nummer 2026-0000042.",
                f"Ihr monatlicher Abschlag beträgt ab sofort {eur(settlement.next_instalment)}.",  # no due date known
            ],
        )
        assert "Zu zahlender Betrag" not in text and "geschätzt" not in text


def test_cancellation_renders_as_stornorechnung_with_credits(engine: Engine) -> None:
    with Session(engine) as session:
        contract = supplied(session, World(session), "strom")
        computation = strom("12500")
        original = book(session, contract, "2027-0000001", computation, settle(computation, D("1200.00"), STROM_PRICES))
        cancellation = cancel(session, original, "2027-0000002")
        assert cancellation.id is not None

        text = pdf_text(session, render_bill(session, cancellation.id))

        assert_contains(
            text,
            [
                "Stornorechnung Nr. 2027-0000002 zur Rechnung Nr. 2027-0000001",
                "unsere Rechnung Nr. 2027-0000001",
                "Grund der Stornierung: Zählerstand falsch",
                "Zählernummer 1ESY1160000001",
                "Endstand 01.01.2027 12.500 kWh geschätzt",
                f"Gutschrift: {eur(-computation.gross)}",
                f"Summe netto {eur(-computation.net)}",
                f"Summe brutto {eur(-computation.gross)}",
            ]
            + [eur(-line.amount) for line in computation.lines],
        )
        assert "Zu zahlender Betrag" not in text and "Abschlag" not in text


def test_rendering_twice_archives_one_document(engine: Engine) -> None:
    with Session(engine) as session:
        contract = supplied(session, World(session), "strom")
        computation = strom("12500")
        bill = book(session, contract, "2027-0000001", computation, settle(computation, D("1200.00"), STROM_PRICES))
        assert bill.id is not None

        first = render_bill(session, bill.id)
        session.commit()
        second = render_bill(session, bill.id)

        key = f"bill:{contract.tenant_id}:2027-0000001"
        document = session.get(Document, first)
        assert document is not None
        assert second == first == bill.document_id
        assert session.exec(select(func.count()).select_from(Document).where(Document.business_key == key)).one() == 1
        assert (document.kind, document.business_key, document.tenant_id) == ("bill", key, contract.tenant_id)
        assert (document.customer_id, document.contract_id) == (contract.customer_id, contract.id)
        assert document.sha256 == hashlib.sha256(document.content).hexdigest()


def test_bill_without_number_raises(engine: Engine) -> None:
    with Session(engine) as session:
        contract = supplied(session, World(session), "strom")
        computation = strom("12500")
        held = book(session, contract, None, computation, settle(computation, D("1200.00"), STROM_PRICES))
        assert held.id is not None

        with pytest.raises(ValueError, match="has no number"):
            render_bill(session, held.id)
        assert session.exec(select(Document).where(Document.contract_id == contract.id)).first() is None


def test_correction_letter_shows_both_numbers_and_the_difference(engine: Engine) -> None:
    with Session(engine) as session:
        contract = supplied(session, World(session), "strom")
        wrong, right = strom("12500"), strom("12300", ReadingStatus.ACTUAL)  # the customer's reading was lower
        original = book(session, contract, "2027-0000001", wrong, settle(wrong, D("1200.00"), STROM_PRICES))
        cancel(session, original, "2027-0000002")
        new = book(
            session,
            contract,
            "2027-0000003",
            right,
            settle(right, D("1200.00"), STROM_PRICES),
        )
        assert original.id is not None and new.id is not None and new.balance < 0

        letter = render_correction_letter(session, original.id, new.id)
        text = pdf_text(session, letter)

        assert render_correction_letter(session, original.id, new.id) == letter
        document = session.get(Document, letter)
        assert document is not None
        assert (document.kind, document.business_key) == (
            "bill_correction",
            f"bill-correction:{contract.tenant_id}:2027-0000003",
        )
        assert_contains(
            text,
            [
                "Korrektur Ihrer Stromrechnung Nr. 2027-0000001",
                f"Ursprüngliche Rechnung 2027-0000001 12.01.2027 {eur(wrong.gross)}",
                f"Stornorechnung (Gutschrift) 2027-0000002 12.01.2027 {eur(-wrong.gross)}",
                f"Neue Rechnung 2027-0000003 12.01.2027 {eur(right.gross)}",
                f"Differenz zu Ihren Gunsten: {eur(wrong.gross - right.gross)}",
                f"ein Guthaben von {eur(-new.balance)}, das wir Ihnen bis zum 15.02.2027 erstatten",
            ],
        )
        assert "Diese Rechnung ersetzt die stornierte Rechnung Nr. 2027-0000001" in pdf_text(
            session, render_bill(session, new.id)
        )


def test_bills_of_the_billing_run_and_their_correction_render(engine: Engine) -> None:
    """The details as services.billing and services.bill_decisions store them (no comparison value, no tariff name)."""
    with Session(engine) as session:
        books = Portfolio(session)
        contract = books.contract()
        books.reading(contract, date(2025, 1, 1), "1000")
        books.reading(contract, date(2026, 1, 1), "4000")  # wrong: should have been 4650
        for month in range(1, 13):
            books.instalment(contract, date(2025, month, 15), "100.00", paid=month <= 6)
        [first] = bill_contracts(session, books.tenant, [contract.id or 0], date(2026, 1, 5), "run:1")
        assert first.bill_id is not None
        books.reading(contract, date(2026, 1, 1), "4650")
        cancellation, result = rebill(session, first.bill_id, date(2026, 2, 2), "Ablesefehler", "clerk.anna")
        wrong, new = session.get(Bill, first.bill_id), session.get(Bill, result.bill_id)
        assert wrong is not None and new is not None and cancellation.id is not None and new.id is not None

        texts = [
            pdf_text(session, render_bill(session, bill_id)) for bill_id in (first.bill_id, cancellation.id, new.id)
        ]
        letter = pdf_text(session, render_correction_letter(session, first.bill_id, new.id))

        assert_contains(texts[0], ["Nr. 2026-0000001", "Tarif Strom Basis", "3.000 kWh", eur(wrong.balance)])
        assert_contains(texts[1], ["Stornorechnung Nr. 2026-0000002 zur Rechnung Nr. 2026-0000001", "Ablesefehler"])
        assert_contains(
            texts[2],
            ["Nr. 2026-0000003", "Datum 02.02.2026", "ersetzt die stornierte Rechnung Nr. 2026-0000001", "3.650 kWh"],
        )
        assert_contains(letter, [f"Differenz zu Ihren Lasten: {eur(new.gross - wrong.gross)}", "2026-0000003"])
