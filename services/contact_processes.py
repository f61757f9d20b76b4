"""Starting the contact process for a stored contact (API and e-mail import)."""

from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from models.contacts import Contact
from models.process import ContactCase
from services.contacts import workflow_id
from workflows.contact import ContactWorkflow


async def start_contact(client: Client, task_queue: str, session: Session, contact: Contact) -> str:
    """Start ``contact/{tenant}/{id}`` once (a repeated call finds it) and note its id on the contact."""
    assert contact.id is not None
    process_id = workflow_id(contact.tenant_id, contact.id)
    await client.start_workflow(
        ContactWorkflow.run,
        ContactCase(tenant_id=contact.tenant_id, contact_id=contact.id),
        id=process_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    if contact.workflow_id != process_id:
        contact.workflow_id = process_id
        session.add(contact)
        session.commit()
    return process_id
