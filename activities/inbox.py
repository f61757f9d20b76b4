"""Inbound market messages: parse the stored interchange, answer it, and deliver what it carries."""

import io
from collections.abc import Iterator

from sqlalchemy import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, select
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import business_error
from activities.inbound import InboundProcessing
from activities.market import DropFolderTransport
from activities.replies import Replies
from activities.stored_raw import CHUNK, StoredRaw
from core.logging import get_logger
from edifact.envelope import Interchange, RawMessage
from edifact.errors import EdifactSyntaxError
from edifact.stream import Envelope, iter_interchange
from models.base import utcnow
from models.messages import MarketMessage, MessageState
from models.process import (
    InboundInput,
    InboundOutcome,
    InboundResult,
    ReadingsDelivery,
    SignalDelivery,
    StartProcess,
)
from models.tenancy import Tenant

log = get_logger()


class InboxActivities:
    def __init__(self, engine: Engine, transport: DropFolderTransport) -> None:
        self.engine = engine
        self.transport = transport

    @activity.defn
    def process_inbound(self, inbound: InboundInput) -> InboundResult:
        """Check, answer (CONTRL/APERAK), store readings and find the process of each answer; one transaction.

        The stored interchange is streamed from the database, so memory does not grow with its size. A syntax
        error, wherever it shows, undoes everything and is answered with a CONTRL. A retry redoes the work:
        readings are replaced, replies are stored once per key.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.exec(
                select(MarketMessage)
                .where(MarketMessage.id == inbound.message_id)
                .options(defer(MarketMessage.raw))  # type: ignore[arg-type]
                .with_for_update()
            ).first()
            if row is None or row.tenant_id != inbound.tenant_id:
                raise business_error(f"inbound message {inbound.message_id} does not exist", "MessageNotFound")
            if row.state == MessageState.DUPLICATE:
                return InboundResult(state=row.state)
            tenant = session.get(Tenant, row.tenant_id)
            assert tenant is not None
            try:
                with io.BufferedReader(StoredRaw(self.engine, inbound.message_id), CHUNK) as source:
                    return self._process(session, row, tenant, iter_interchange(source))
            except EdifactSyntaxError as error:
                session.rollback()
                return self._reject(session, inbound.message_id, error)

    def _process(
        self, session: Session, row: MarketMessage, tenant: Tenant, items: Iterator[Envelope | RawMessage]
    ) -> InboundResult:
        envelope = next(items)
        assert isinstance(envelope, Envelope)
        header = Interchange(
            sender=envelope.sender,
            receiver=envelope.receiver,
            prepared_at=envelope.prepared_at,
            reference=envelope.reference,
            messages=[],
        )
        if envelope.receiver.id not in {tenant.market_partner_id, tenant.gas_market_partner_id}:
            problem = f"addressed to {envelope.receiver.id}, not to tenant {tenant.id}"
            return InboundResult(state=MessageState.CLEARING, error=problem, problems=[problem])
        processing = InboundProcessing(session, row, header, Replies(session, self.transport, row))
        outcome = processing.run(item for item in items if isinstance(item, RawMessage))
        row.message_count = processing.count
        if outcome.rejected:
            row.error = "; ".join(outcome.rejected)[:2000]
        accepted = processing.count - len(outcome.rejected)
        row.state = MessageState.REJECTED if outcome.rejected and not accepted else MessageState.RECEIVED
        session.add(row)
        session.commit()
        return InboundResult(
            state=row.state,
            error=row.error,
            deliveries=outcome.deliveries,
            readings=outcome.readings,
            problems=outcome.problems,
            starts=outcome.starts,
        )

    def _reject(self, session: Session, message_id: int, error: EdifactSyntaxError) -> InboundResult:
        """A syntax error: the interchange counts as not received; the sender gets a CONTRL."""
        row = session.get(MarketMessage, message_id)
        assert row is not None
        log.warning("inbound interchange rejected", tenant=row.tenant_id, message_id=row.id, error=str(error))
        answered = Replies(session, self.transport, row).syntax_error(error)
        row.state, row.error = MessageState.REJECTED, str(error)
        row.processed_at = utcnow()
        session.add(row)
        session.commit()
        problems = [] if answered else [f"{error} (no CONTRL: the sender cannot be read)"]
        return InboundResult(state=row.state, error=row.error, problems=problems)

    @activity.defn
    def mark_inbound(self, outcome: InboundOutcome) -> None:
        """Record the final state of an inbound interchange (processed, rejected or in clearing)."""
        with Session(self.engine) as session:
            row = session.get(MarketMessage, outcome.message_id)
            if row is not None:
                row.state = outcome.state
                row.error = outcome.error
                row.processed_at = utcnow()
                session.add(row)
                session.commit()


@activity.defn
async def deliver_answer(delivery: SignalDelivery) -> bool:
    """Signal the waiting process; False when it is not running (the answer then goes to clearing).

    With ``start`` the process is started if it does not run yet (signal-with-start): a partner's request
    starts its process, a repeated request reaches the same one."""
    if delivery.start is not None:
        await activity.client().start_workflow(
            delivery.start.workflow,
            delivery.start.input,
            id=delivery.workflow_id,
            task_queue=activity.info().task_queue,
            start_signal="market_answer",
            start_signal_args=[delivery.answer],
        )
        return True
    return await _signal(delivery.workflow_id, "market_answer", delivery.answer)


@activity.defn
async def deliver_readings(delivery: ReadingsDelivery) -> bool:
    """Tell a process waiting for readings that some arrived; False when it is not running any more."""
    return await _signal(delivery.workflow_id, "meter_readings", delivery.readings)


@activity.defn
async def start_process(start: StartProcess) -> bool:
    """Start the process on this task queue; False when it already runs (or ran) under this id."""
    try:
        await activity.client().start_workflow(
            start.workflow,
            start.input,
            id=start.workflow_id,
            task_queue=activity.info().task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if start.again
            else WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def _signal(workflow_id: str, signal: str, payload: object) -> bool:
    handle = activity.client().get_workflow_handle(workflow_id)
    try:
        await handle.signal(signal, payload)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
