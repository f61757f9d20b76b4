"""Test helpers for the customer center: a contact stored and its process started, as the API does."""

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from models.contact_input import ContactIn
from models.contacts import Contact
from models.documents import Document
from models.tasks import Task
from services import contacts
from services.contact_processes import start_contact
from tests.end_of_supply import Supplied, task_of


async def send(engine: Engine, client: Client, task_queue: str, tenant_id: str, **contact: Any) -> Contact:
    """Store the contact and start its process; returns the stored contact."""
    with Session(engine, expire_on_commit=False) as session:
        stored, _ = contacts.record(session, tenant_id, ContactIn.model_validate(contact))
        await start_contact(client, task_queue, session, stored)
        return stored


async def send_for(supplied: "Supplied", **contact: Any) -> Contact:
    """A contact to the supplied contract's tenant, its process started on the supplied contract's worker."""
    return await send(
        supplied.engine, supplied.client, supplied.settings.task_queue, supplied.world.tenant.id, **contact
    )


def contact_row(engine: Engine, contact_id: int | None) -> Contact:
    with Session(engine) as session:
        row = session.get(Contact, contact_id)
        assert row is not None
        return row


def done(engine: Engine, contact_id: int | None) -> Contact | None:
    row = contact_row(engine, contact_id)
    return row if row.state == "done" else None


async def task(engine: Engine, client: Client, contact: Contact, kind: str) -> Task:
    assert contact.workflow_id is not None
    return await task_of(engine, client, contact.workflow_id, kind)


def documents(engine: Engine, customer_id: int, kind: str) -> list[Document]:
    with Session(engine) as session:
        return list(session.exec(select(Document).where(Document.customer_id == customer_id, Document.kind == kind)))
