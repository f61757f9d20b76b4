"""Kündigungsbestätigung and Bestätigung des Lieferendes: rendered, archived once, on the real database."""

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError

from activities.documents import DocumentActivities
from models.contracts import Contract, ContractState, MarketLocation
from models.documents import Document
from models.orders import ContractOrder
from models.process import CancellationLetter, SupplyEndLetter
from services.intake import intake
from tests.factories import World, malo_id

START, END = date(2026, 1, 1), date(2027, 1, 1)  # END is exclusive: the last day of supply is 31.12.2026
REASON = "Ein anderer Lieferant hat die Belieferung Ihrer Marktlokation zum 01.01.2027 übernommen."


def supplied(engine: Engine, division: str = "strom") -> tuple[int, str, str]:
    """A committed contract supplied since START at a location with its own address: (id, number, MaLo-ID)."""
    with Session(engine) as session:
        world = World(session)
        gas = division == "gas"
        location = {
            "malo_id": malo_id(),
            "grid_operator_id": (world.gas_grid_operator if gas else world.grid_operator).id,
            "street": "Am Markt",
            "house_number": "3",
            "postcode": "12345",
            "city": "Musterstadt",
            "meter_number": "1ESY1160512345",
        }
        order = ContractOrder.model_validate(world.order(START, division=division, location=location))
        contract, _ = intake(session, world.tenant, order, date(2025, 11, 1))
        contract.state, contract.supply_start = ContractState.ACTIVE, START
        session.add(contract)
        session.commit()
        assert contract.id is not None
        return contract.id, contract.contract_number, location["malo_id"]


def pdf_text(engine: Engine, document_id: int) -> str:
    with Session(engine) as session:
        document = session.get(Document, document_id)
        assert document is not None
        pages = PdfReader(io.BytesIO(document.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())  # sentences may wrap


def documents(engine: Engine, contract_id: int, kind: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(Document)
        return session.exec(query.where(Document.contract_id == contract_id, Document.kind == kind)).one()


def test_cancellation_with_moved_date_explains_why_and_is_archived_once(engine: Engine) -> None:
    contract_id, number, malo = supplied(engine)
    explanation = "Ihr Vertrag hat eine Mindestlaufzeit bis zum 31.12.2026 und kann erst zu diesem Termin enden."
    request = CancellationLetter(
        contract_id=contract_id,
        received_on=date(2026, 9, 14),
        requested_end=date(2026, 11, 1),
        supply_end=END,
        explanation=explanation,
    )
    activities = DocumentActivities(engine)

    first = activities.cancellation_confirmation(request)
    second = activities.cancellation_confirmation(request)

    assert second == first
    assert documents(engine, contract_id, "cancellation_confirmation") == 1
    text = pdf_text(engine, first.document_id)
    for expected in [
        "Bestätigung Ihrer Kündigung",
        number,
        malo,
        "Strom Basis",
        "Am Markt 3, 12345 Musterstadt",
        "1ESY1160512345",
        "14.09.2026",  # received
        "Letzter Liefertag: 31.12.2026",
        "Wunschtermin, dem 31.10.2026",
        explanation,
        "sechs Wochen",
        "§ 40c Abs. 1 EnWG",
        "Messstellenbetreiber",
        "am 31.12.2026 auch selbst ablesen",
        "nicht mehr an",
    ]:
        assert expected in text, expected
    assert "01.01.2027" not in text  # only the last day of supply is shown
    assert "Dauerauftrag" not in text  # the order came with a SEPA mandate


def test_cancellation_on_the_requested_date_needs_no_explanation(engine: Engine) -> None:
    contract_id, _, _ = supplied(engine, "gas")
    request = CancellationLetter(
        contract_id=contract_id, received_on=date(2026, 10, 2), requested_end=END, supply_end=END
    )

    text = pdf_text(engine, DocumentActivities(engine).cancellation_confirmation(request).document_id)

    assert "Erdgasliefervertrag" in text
    assert "wie von Ihnen gewünscht zum 31.12.2026" in text
    assert "Grund:" not in text


def test_cancellation_to_a_moved_date_without_explanation_is_refused(engine: Engine) -> None:
    contract_id, _, _ = supplied(engine)
    request = CancellationLetter(
        contract_id=contract_id, received_on=date(2026, 9, 14), requested_end=date(2026, 11, 1), supply_end=END
    )

    with pytest.raises(ApplicationError, match="explanation") as raised:
        DocumentActivities(engine).cancellation_confirmation(request)
    assert raised.value.non_retryable
    assert documents(engine, contract_id, "cancellation_confirmation") == 0


def test_supply_end_letter_names_the_reason_and_is_archived_once(engine: Engine) -> None:
    contract_id, number, malo = supplied(engine)
    with Session(engine) as session:  # a location without an address of its own: the customer's is shown
        contract = session.get(Contract, contract_id)
        assert contract is not None
        location = session.get(MarketLocation, contract.location_id)
        assert location is not None
        location.street = ""
        contract.metering, contract.mandate_id = "rlm", None
        session.add_all([location, contract])
        session.commit()
    request = SupplyEndLetter(contract_id=contract_id, supply_end=END, reason=REASON)
    activities = DocumentActivities(engine)

    first = activities.supply_end_letter(request)
    assert activities.supply_end_letter(request).document_id == first.document_id
    assert documents(engine, contract_id, "supply_end_letter") == 1

    text = pdf_text(engine, first.document_id)
    for expected in [
        "Bestätigung des Lieferendes",
        number,
        malo,
        "Lindenweg 7, 12345 Musterstadt",
        "Letzter Liefertag: 31.12.2026",
        REASON,
        "sechs Wochen",
        "§ 40c Abs. 1 EnWG",
        "Lastgang",
        "Dauerauftrag",
    ]:
        assert expected in text, expected
    assert "selbst ablesen" not in text  # load profile metering: nothing to read


def test_letters_need_a_supplied_contract(engine: Engine) -> None:
    contract_id, _, _ = supplied(engine)

    with pytest.raises(ApplicationError, match="not supplied"):
        DocumentActivities(engine).supply_end_letter(
            SupplyEndLetter(contract_id=contract_id, supply_end=START, reason=REASON)
        )
