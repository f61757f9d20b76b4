"""Contacts on the real database: the customer recognised by each hint, stored once, e-mails read from files,
prints held for an unreliable address, and the e-mail drop through the CLI."""

import base64
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from models.contact_input import ContactIn, CustomerHints, Sender
from models.contacts import Contact, ContactAttachment
from models.customers import ContractAccount, Customer
from models.documents import Document
from models.orders import ContractOrder
from services import contacts
from services.customer_requests import mark_returned_mail
from services.delivery import deliver_letter, release_held
from services.intake import intake
from tests.factories import World
from tests.test_cli import cli_env  # noqa: F401 (fixture)


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine, expire_on_commit=False) as session:
        return World(session)


def contract_for(engine: Engine, world: World, **customer: str) -> tuple[Customer, str, str]:
    """A contract; returns its customer, MaLo and contract-account number."""
    with Session(engine, expire_on_commit=False) as session:
        order = world.order(date(2030, 1, 1))
        order["customer"].update(customer)
        contract, _ = intake(session, world.tenant, ContractOrder.model_validate(order), date(2026, 1, 1))
        session.commit()
        found = session.get(Customer, contract.customer_id)
        assert found is not None
        account = session.get(ContractAccount, contract.account_id)
        assert account is not None
        return found, order["location"]["malo_id"], account.account_number


def test_each_hint_identifies_the_customer(engine: Engine, world: World) -> None:
    customer, malo, account = contract_for(engine, world, email="erika@example.org", last_name="Sonnenschein")
    other, _, _ = contract_for(engine, world, last_name="Regen")
    with Session(engine) as session:
        tenant = world.tenant.id
        assert (
            found := contacts.identify(
                session, tenant, CustomerHints(customer_number=customer.customer_number), Sender()
            )
        )
        assert found.customer.id == customer.id and found.by == "customer_number" and found.contract is not None
        by_account = contacts.identify(session, tenant, CustomerHints(account_number=account), Sender())
        assert by_account is not None and by_account.by == "account_number"
        by_malo = contacts.identify(session, tenant, CustomerHints(malo_id=malo), Sender())
        assert by_malo is not None and by_malo.customer.id == customer.id and by_malo.by == "malo_id"
        by_mail = contacts.identify(session, tenant, CustomerHints(), Sender(email="ERIKA@example.org"))
        assert by_mail is not None and by_mail.customer.id == customer.id
        by_name = contacts.identify(
            session, tenant, CustomerHints(), Sender(name="E. Sonnenschein", address="12345 Musterstadt")
        )
        assert by_name is not None and by_name.customer.id == customer.id and by_name.by == "name_address"
        # both customers pay from the same IBAN: the IBAN alone identifies nobody
        assert contacts.identify(session, tenant, CustomerHints(iban="DE89370400440532013000"), Sender()) is None
        assert contacts.identify(session, tenant, CustomerHints(customer_number="K-none"), Sender()) is None
        assert other.id != customer.id
        # another tenant's customer is not found
        other_world = World(session)
        assert contacts.identify(session, other_world.tenant.id, CustomerHints(malo_id=malo), Sender()) is None


def test_contact_is_stored_once_with_its_attachments(engine: Engine, world: World) -> None:
    customer, malo, _ = contract_for(engine, world)
    incoming = ContactIn.model_validate(
        {
            "channel": "letter",
            "reference": "scan-2026-000123",
            "subject": "Zählerstand",
            "text": f"Zählerstand 4711 für MaLo {malo}",
            "attachments": [
                {"filename": "scan.pdf", "media_type": "application/pdf", "content": base64.b64encode(b"%PDF-1.4")}
            ],
        }
    )
    with Session(engine) as session:
        first, created = contacts.record(session, world.tenant.id, incoming)
        again, created_again = contacts.record(session, world.tenant.id, incoming)
        assert created and not created_again and again.id == first.id
        assert first.customer_id == customer.id and first.identified_by == "malo_id"  # found in the text
        assert first.category == "meter_reading" and first.complaint == ""
        [attachment] = session.exec(select(ContactAttachment).where(ContactAttachment.contact_id == first.id)).all()
        assert attachment.content == b"%PDF-1.4" and attachment.filename == "scan.pdf"


def test_invalid_contacts_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="subject, a text"):
        ContactIn.model_validate({"channel": "email"})
    with pytest.raises(ValueError, match="only a phone contact"):
        ContactIn.model_validate({"channel": "email", "text": "x", "settled": True})
    with pytest.raises(ValueError, match="in the future"):
        ContactIn.model_validate({"channel": "letter", "text": "x", "received_at": "2999-01-01T10:00:00+01:00"})
    with pytest.raises(ValueError, match=r"(?i)iban"):
        ContactIn.model_validate(
            {
                "channel": "web",
                "request": {
                    "action": "bank_details",
                    "iban": "DE00123",
                    "account_holder": "X",
                    "signed_on": "2026-01-01",
                },
            }
        )


def email_file(tmp_path: Path, name: str, **headers: str) -> Path:
    message = EmailMessage()
    for key, value in headers.items():
        message[key.replace("_", "-")] = value
    message.set_content("Guten Tag,\nmein Zählerstand ist 12345.\nViele Grüße")
    message.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="zaehler.png")
    path = tmp_path / name
    path.write_bytes(message.as_bytes())
    return path


def test_email_file_becomes_a_contact(tmp_path: Path) -> None:
    path = email_file(
        tmp_path,
        "a.eml",
        From="Erika Mustermann <erika@example.org>",
        Subject="Zählerstand",
        Date="Thu, 26 Nov 2026 10:15:00 +0100",
        Message_ID="<abc@example.org>",
    )
    contact = contacts.from_email(path.read_bytes())
    assert contact.reference == "email:<abc@example.org>" and contact.sender.email == "erika@example.org"
    assert contact.sender.name == "Erika Mustermann" and "12345" in contact.text
    assert contact.received_at is not None and contact.received_at.utcoffset() is not None
    [attachment] = contact.attachments
    assert attachment.filename == "zaehler.png" and attachment.content == b"\x89PNG..."
    with pytest.raises(contacts.NotAnEmail, match="sender"):
        contacts.from_email(b"this is not an e-mail at all")


def test_prints_to_an_unreliable_address_are_held_and_released(engine: Engine, world: World, tmp_path: Path) -> None:
    customer, _, _ = contract_for(engine, world)
    with Session(engine) as session:
        stored = session.get(Customer, customer.id)
        assert stored is not None and stored.id is not None
        mark_returned_mail(session, stored)
        letter = Document(
            tenant_id=world.tenant.id,
            business_key=f"test-letter:{stored.id}",
            kind="payment_reminder",
            customer_id=stored.id,
            content=b"%PDF-1.4 letter",
            sha256="0" * 64,
        )
        session.add(letter)
        session.flush()
        assert deliver_letter(session, letter, tmp_path) is None and letter.delivery == "held"
        assert deliver_letter(session, letter, tmp_path) is None  # held stays held, nothing written
        assert not list(tmp_path.rglob("*.pdf"))
        stored.address_unreliable_since = None
        [path] = release_held(session, stored.id, tmp_path)
        assert path.read_bytes() == b"%PDF-1.4 letter" and letter.delivery == "print"
        assert release_held(session, stored.id, tmp_path) == []
        session.rollback()


@pytest.mark.usefixtures("cli_env")
def test_email_drop_through_the_cli(engine: Engine, world: World, settings: Settings, tmp_path: Path) -> None:
    customer, _, _ = contract_for(engine, world, email="drop@example.org")
    drop = tmp_path / "drop"
    drop.mkdir()
    email_file(drop, "1.eml", From="drop@example.org", Subject="Zählerstand", Message_ID="<drop-1@example.org>")
    (drop / "2.eml").write_bytes(b"garbage without headers")
    result = CliRunner().invoke(app, ["contacts", "import", str(drop), "--tenant", world.tenant.id])
    again = CliRunner().invoke(app, ["contacts", "import", str(drop), "--tenant", world.tenant.id])
    assert result.exit_code == 1, result.output  # one file rejected
    assert "1 e-mails taken, 1 rejected" in result.output
    assert again.exit_code == 0 and "(again)" in again.output  # the good one again; the broken one moved away
    rejected = settings.var_dir / "contacts-rejected"
    assert (rejected / "2.eml").exists() and "sender" in (rejected / "2.eml.reason.txt").read_text()
    with Session(engine) as session:
        [stored] = session.exec(select(Contact).where(Contact.customer_id == customer.id)).all()
    assert stored.identified_by == "email" and stored.workflow_id == f"contact/{world.tenant.id}/{stored.id}"


def test_billing_channel_decides_between_email_and_print(engine: Engine, world: World, tmp_path: Path) -> None:
    customer, _, _ = contract_for(engine, world, email="post@example.org")
    with Session(engine) as session:
        stored = session.get(Customer, customer.id)
        assert stored is not None

        def letter(key: str) -> Document:
            document = Document(
                tenant_id=world.tenant.id,
                business_key=f"{key}:{stored.id}",
                kind="payment_reminder",
                customer_id=stored.id,
                content=b"%PDF-1.4",
                sha256="0" * 64,
            )
            session.add(document)
            session.flush()
            return document

        by_default = letter("default")
        deliver_letter(session, by_default, tmp_path)
        stored.billing_channel = "print"  # the customer wants paper although we have an e-mail address
        on_paper = letter("paper")
        deliver_letter(session, on_paper, tmp_path)
        assert (by_default.delivery, on_paper.delivery) == ("email", "print")
        session.rollback()
