"""Zahlungserinnerung and Kündigung wegen Zahlungsverzugs: rendered, archived once, on the real database."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.documents import DocumentActivities
from models.contracts import Contract
from models.customers import ContractAccount
from models.process import DunningItem, DunningLetter
from models.tenancy import Tenant
from tests.test_end_of_supply_letters import documents, pdf_text, supplied

IBAN = "DE02120300000000202051"
ITEMS = [
    DunningItem(due_date=date(2026, 1, 15), text="Abschlag fällig am 15.01.2026", amount=Decimal("85.00")),
    DunningItem(due_date=date(2026, 2, 2), text="Rechnung 2026-0000123", amount=Decimal("1112.34")),
]
TOTAL = Decimal("1197.34")


def account_number(engine: Engine, contract_id: int) -> str:
    with Session(engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        account = session.get(ContractAccount, contract.account_id)
        assert account is not None
        return account.account_number


def reminder(contract_id: int, **changes: object) -> DunningLetter:
    values: dict[str, object] = {
        "contract_id": contract_id,
        "case_key": f"case-{contract_id}",
        "items": ITEMS,
        "total": TOTAL,
        "fee": Decimal("1.50"),
        "pay_by": date(2026, 3, 2),
        "iban": IBAN,
    }
    return DunningLetter.model_validate(values | changes)


def test_payment_reminder_lists_the_items_fee_and_payment_date_and_is_archived_once(engine: Engine) -> None:
    contract_id, number, _ = supplied(engine)
    activities = DocumentActivities(engine)

    first = activities.payment_reminder(reminder(contract_id))
    second = activities.payment_reminder(reminder(contract_id, fee=Decimal("0.00")))  # same case: same letter

    assert second == first
    assert documents(engine, contract_id, "payment_reminder") == 1
    text = pdf_text(engine, first.document_id)
    for expected in [
        "Zahlungserinnerung – Vertragskonto " + account_number(engine, contract_id),
        number,
        "15.01.2026 Abschlag fällig am 15.01.2026 85,00 €",
        "02.02.2026 Rechnung 2026-0000123 1.112,34 €",
        "Summe der offenen Posten 1.197,34 €",
        "Mahngebühr (pauschal) 1,50 €",
        "Zu zahlender Betrag 1.198,84 €",
        "Bitte überweisen Sie 1.198,84 € bis spätestens 02.03.2026.",
        "Empfänger: Stadtwerke Musterstadt GmbH",
        "IBAN: DE02 1203 0000 0000 2020 51",
        "Verwendungszweck: Vertragskonto " + account_number(engine, contract_id),
        "pauschale Ersatz des Schadens",
        "Ergänzenden Bedingungen",
        "in den letzten Tagen bereits überwiesen",
        "gegenstandslos",
        "in Textform",
        "Ratenzahlung",
        "0800 1234567",
        "service@sw-musterstadt.de",
    ]:
        assert expected in text, expected


def test_payment_reminder_without_fee_uses_the_tenants_account(engine: Engine) -> None:
    contract_id, _, _ = supplied(engine)
    with Session(engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        tenant = session.get(Tenant, contract.tenant_id)
        assert tenant is not None
        tenant.iban = "DE89370400440532013000"
        session.add(tenant)
        session.commit()

    ref = DocumentActivities(engine).payment_reminder(reminder(contract_id, fee=Decimal("0.00"), iban=""))

    text = pdf_text(engine, ref.document_id)
    assert "IBAN: DE89 3704 0044 0532 0130 00" in text
    assert "Bitte überweisen Sie 1.197,34 € bis spätestens 02.03.2026." in text
    assert "Mahngebühr" not in text


def test_dunning_termination_names_the_last_day_and_the_supply_afterwards(engine: Engine) -> None:
    contract_id, number, malo = supplied(engine, "gas")
    request = reminder(contract_id, fee=Decimal("0.00"), pay_by=None, supply_end=date(2026, 4, 1))
    activities = DocumentActivities(engine)

    first = activities.dunning_termination(request)
    second = activities.dunning_termination(request)

    assert second == first
    assert documents(engine, contract_id, "dunning_termination") == 1
    text = pdf_text(engine, first.document_id)
    for expected in [
        f"Kündigung Ihres Erdgasliefervertrags {number} wegen Zahlungsverzugs",
        malo,
        "erinnert und Sie gemahnt",
        "15.01.2026 Abschlag fällig am 15.01.2026 85,00 €",
        "02.02.2026 Rechnung 2026-0000123 1.112,34 €",
        "Summe der offenen Posten 1.197,34 €",
        "mit Wirkung zum Ablauf des 31.03.2026",
        "Letzter Liefertag: 31.03.2026",
        "Sie bleiben nicht ohne Erdgas",
        "beliefert Sie der Grundversorger",
        "Ersatzversorgung (§ 38 EnWG)",
        "Grundversorgung (§ 36 EnWG)",
        "Bitte überweisen Sie 1.197,34 € umgehend.",
        "IBAN: DE02 1203 0000 0000 2020 51",
        "Inkassounternehmen",
        "Schlussrechnung",
        "§ 40c Abs. 1 EnWG",
        "Schlichtungsstelle Energie e.V., Friedrichstraße 133, 10117 Berlin",
        "verbraucherservice-energie@bnetza.de",
    ]:
        assert expected in text, expected
    assert "01.04.2026" not in text  # only the last day of supply is shown
    assert "Mahngebühr" not in text


def test_dunning_termination_with_fee_and_payment_date(engine: Engine) -> None:
    contract_id, _, _ = supplied(engine)
    request = reminder(contract_id, supply_end=date(2026, 5, 1))

    text = pdf_text(engine, DocumentActivities(engine).dunning_termination(request).document_id)

    assert "Mahngebühr (pauschal) 1,50 €" in text
    assert "Offener Betrag insgesamt 1.198,84 €" in text
    assert "Bitte überweisen Sie 1.198,84 € bis spätestens 02.03.2026." in text
    assert "Letzter Liefertag: 30.04.2026" in text
    assert "Stromliefervertrag" in text


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"items": [], "total": Decimal("0.00")}, "ReminderIncomplete"),
        ({"pay_by": None}, "ReminderIncomplete"),
        ({"total": Decimal("1197.00")}, "TotalMismatch"),
    ],
)
def test_incomplete_payment_reminders_are_refused(engine: Engine, changes: dict[str, object], kind: str) -> None:
    contract_id, _, _ = supplied(engine)

    with pytest.raises(ApplicationError) as raised:
        DocumentActivities(engine).payment_reminder(reminder(contract_id, **changes))

    assert raised.value.type == kind
    assert raised.value.non_retryable
    assert documents(engine, contract_id, "payment_reminder") == 0


def test_termination_needs_an_end_of_supply_after_the_start(engine: Engine) -> None:
    contract_id, _, _ = supplied(engine)
    activities = DocumentActivities(engine)

    with pytest.raises(ApplicationError) as missing:
        activities.dunning_termination(reminder(contract_id))
    with pytest.raises(ApplicationError, match="not supplied") as early:
        activities.dunning_termination(reminder(contract_id, supply_end=date(2026, 1, 1)))

    assert missing.value.type == "SupplyEndMissing"
    assert missing.value.non_retryable
    assert early.value.non_retryable
    assert documents(engine, contract_id, "dunning_termination") == 0
