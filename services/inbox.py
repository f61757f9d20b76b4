"""Receiving market messages: the raw interchange is stored before anything else happens."""

import codecs
import hashlib
import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, NamedTuple

from psycopg import Copy
from psycopg.errors import UniqueViolation
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from edifact.contrl import sender_of_broken
from edifact.envelope import Party
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


def receive_interchange(session: Session, tenant: Tenant, raw: bytes | Path | BinaryIO) -> ReceivedInterchange:
    """Store the interchange before anything else; a repeat of sender + reference is stored as a duplicate.

    ``raw`` is the interchange, its path, or a seekable binary file positioned at its start. It is streamed into
    ``market_message.raw`` (COPY) and read in chunks, so a file is never held in memory whole. Sender, receiver
    and reference come from its start (the UNB); only interchanges up to SYNC_CHECK_LIMIT are checked here.
    """
    with _opened(raw) as source:
        start = source.tell()
        size = source.seek(0, io.SEEK_END) - start
        received = _first_look(source, start, size)
        fields: dict[str, str | int | datetime | None] = {
            "tenant_id": tenant.id,
            "direction": Direction.INBOUND,
            "state": received.state,
            "sender": received.sender,
            "receiver": received.receiver,
            "interchange_ref": received.reference,
            "error": received.error,
            "created_at": utcnow(),
        }
        original = _original(session, received.sender, received.reference)
        if original is None:
            try:
                message_id = _store(session, fields, source, start, size)
            except UniqueViolation as violation:  # the same interchange, received at the same moment
                if violation.diag.constraint_name != _ORIGINAL:
                    raise
                session.rollback()
                original = _original(session, received.sender, received.reference)
                assert original is not None
            else:
                session.commit()
                return ReceivedInterchange(message_id=message_id, state=received.state, error=received.error)
        duplicate = (
            fields
            | _described_as(session, original)
            | {
                "state": MessageState.DUPLICATE,
                "error": None,
                "duplicate_of_id": original,
            }
        )
        message_id = _store(session, duplicate, source, start, size)
        session.commit()
    return ReceivedInterchange(message_id=message_id, state=MessageState.DUPLICATE, duplicate_of=original)


SYNC_CHECK_LIMIT = 5_000_000
"""Interchanges up to this size are checked on receipt, so the sender learns of a syntax error at once;
larger ones (load profiles) are checked while they are processed and answered with a CONTRL."""


def check_syntax(raw: bytes | BinaryIO) -> None:
    """Raise EdifactError for an interchange that breaks the syntax rules (read from the file's position)."""
    for _ in iter_interchange(raw):
        pass


_HEAD = 1 << 16
"""Sender, receiver and reference are read from this many bytes at the start."""
_CHUNK = 1 << 20
_ORIGINAL = "uq_market_message_inbound_original"
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_NEXT_ID = text("SELECT nextval(pg_get_serial_sequence('market_message', 'id'))")


@contextmanager
def _opened(raw: bytes | Path | BinaryIO) -> Iterator[BinaryIO]:
    """The interchange as a binary file (a path is opened and closed again)."""
    if isinstance(raw, Path):
        with raw.open("rb") as file:
            yield file
    else:
        yield io.BytesIO(raw) if isinstance(raw, bytes) else raw


class _FirstLook(NamedTuple):
    sender: str | None
    receiver: str | None
    reference: str | None
    state: MessageState
    error: str | None


def _first_look(source: BinaryIO, start: int, size: int) -> _FirstLook:
    """Sender, receiver and reference from the UNB, and the syntax check of a small interchange."""
    source.seek(start)
    parties = _parties(source.read(_HEAD), complete=size <= _HEAD)
    sender, receiver, reference = (parties[0].id, parties[1].id, parties[2]) if parties else (None, None, None)
    if size <= SYNC_CHECK_LIMIT:
        source.seek(start)
        try:
            check_syntax(source)
        except EdifactError as syntax_error:
            return _FirstLook(sender, receiver, reference, MessageState.REJECTED, str(syntax_error))
    return _FirstLook(sender, receiver, reference, MessageState.RECEIVED, None)


def _parties(head: bytes, complete: bool) -> tuple[Party, Party, str] | None:
    """``sender_of_broken`` of the start of an interchange; a character cut off at its end is left out."""
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=complete)
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    return sender_of_broken(text)


def _described_as(session: Session, original_id: int) -> dict[str, str | None]:
    """What the original has been found to be (type, Prüfidentifikator, ...), so the monitor's filters find its
    duplicates too."""
    columns = ("message_type", "pruefidentifikator", "document_number", "malo_id", "workflow_id")
    values = session.execute(
        select(*(getattr(MarketMessage, name) for name in columns)).where(col(MarketMessage.id) == original_id)
    ).first()
    return dict(zip(columns, values, strict=True)) if values is not None else {}


def _original(session: Session, sender: str | None, reference: str | None) -> int | None:
    """The id of the interchange stored first with this sender and reference, if any."""
    if sender is None or reference is None:
        return None
    return session.exec(
        select(MarketMessage.id).where(
            MarketMessage.direction == Direction.INBOUND,
            MarketMessage.sender == sender,
            MarketMessage.interchange_ref == reference,
            col(MarketMessage.duplicate_of_id).is_(None),
        )
    ).first()


def _store(
    session: Session, fields: dict[str, str | int | datetime | None], source: BinaryIO, start: int, size: int
) -> int:
    """Insert a market_message row with ``size`` bytes of ``source`` (from ``start``) as raw and their SHA-256;
    returns its id. Binary COPY takes the bytes as they are, in chunks."""
    message_id: int = session.execute(_NEXT_ID).scalar_one()
    columns = ["id", *fields, "size_bytes", "raw", "sha256"]
    values = b"".join(_field(value) for value in (message_id, *fields.values(), size))
    connection = session.connection().connection.driver_connection
    assert connection is not None
    source.seek(start)
    sql = f"COPY market_message ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(_COPY_HEADER + struct.pack("!h", len(columns)) + values + struct.pack("!i", size))
        digest = _copy_bytes(copy, source, size)
        copy.write(_field(digest) + _COPY_TRAILER)
    return message_id


def _copy_bytes(copy: Copy, source: BinaryIO, size: int) -> str:
    """Write ``size`` bytes of ``source`` in chunks; returns their SHA-256."""
    digest, remaining = hashlib.sha256(), size
    while remaining and (chunk := source.read(min(_CHUNK, remaining))):
        digest.update(chunk)
        copy.write(chunk)
        remaining -= len(chunk)
    if remaining:
        raise ValueError(f"the interchange ended {remaining} bytes early while it was stored")
    return digest.hexdigest()


def _field(value: str | int | datetime | None) -> bytes:
    """A field of a binary COPY row: text as UTF-8, int as integer, datetime as timestamptz."""
    if value is None:
        return struct.pack("!i", -1)
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, datetime):
        data = struct.pack("!q", (value - _POSTGRES_EPOCH) // timedelta(microseconds=1))
    else:
        data = struct.pack("!i", value)
    return struct.pack("!i", len(data)) + data


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
