"""Receiving market messages: the raw interchange is stored before anything else happens."""

import hashlib

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from edifact.contrl import sender_of_broken
from edifact.errors import EdifactError
from edifact.stream import iter_interchange
from models.base import utcnow
from models.messages import Direction, MarketMessage, MessageState
from models.process import InboundInput
from models.tenancy import Tenant
from workflows.inbound import InboundMessageWorkflow


class ReceivedInterchange(BaseModel):
    message_id: int
    state: str
    duplicate_of: int | None = None
    error: str | None = None


def receive_interchange(session: Session, tenant: Tenant, raw: bytes) -> ReceivedInterchange:
    """Store the interchange before anything else; a repeat of sender + reference is stored as a duplicate."""
    parties = sender_of_broken(raw)
    sender, receiver, reference = (parties[0].id, parties[1].id, parties[2]) if parties else (None, None, None)
    state, error = MessageState.RECEIVED, None
    try:
        check_syntax(raw)
    except EdifactError as syntax_error:
        state, error = MessageState.REJECTED, str(syntax_error)
    values = {
        "tenant_id": tenant.id,
        "direction": Direction.INBOUND,
        "state": state,
        "sender": sender,
        "receiver": receiver,
        "interchange_ref": reference,
        "raw": raw,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "size_bytes": len(raw),
        "error": error,
        "created_at": utcnow(),
    }
    inserted = session.execute(
        insert(MarketMessage)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["sender", "interchange_ref"],
            index_where=text("direction = 'in' AND duplicate_of_id IS NULL"),
        )
        .returning(col(MarketMessage.id))
    ).scalar()
    if inserted is not None:
        session.commit()
        return ReceivedInterchange(message_id=inserted, state=state, error=error)
    original = session.exec(
        select(MarketMessage.id).where(
            MarketMessage.direction == Direction.INBOUND,
            MarketMessage.sender == sender,
            MarketMessage.interchange_ref == reference,
            col(MarketMessage.duplicate_of_id).is_(None),
        )
    ).one()
    duplicate = MarketMessage.model_validate(
        values | {"state": MessageState.DUPLICATE, "duplicate_of_id": original, "error": None}
    )
    session.add(duplicate)
    session.commit()
    assert duplicate.id is not None
    return ReceivedInterchange(message_id=duplicate.id, state=MessageState.DUPLICATE, duplicate_of=original, error=None)


SYNC_CHECK_LIMIT = 5_000_000
"""Interchanges up to this size are checked on receipt, so the sender learns of a syntax error at once;
larger ones (load profiles) are checked while they are processed and answered with a CONTRL."""


def check_syntax(raw: bytes) -> None:
    if len(raw) <= SYNC_CHECK_LIMIT:
        for _ in iter_interchange(raw):
            pass


def inbound_workflow_id(tenant_id: str, message_id: int) -> str:
    return f"inbound/{tenant_id}/{message_id}"


async def start_processing(client: Client, task_queue: str, tenant_id: str, message_id: int) -> str:
    """Start (or find) the process that parses and routes a stored interchange."""
    workflow_id = inbound_workflow_id(tenant_id, message_id)
    await client.start_workflow(
        InboundMessageWorkflow.run,
        InboundInput(tenant_id=tenant_id, message_id=message_id),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return workflow_id
