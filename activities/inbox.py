"""Inbound market messages: store raw first, then parse and find the process each answer belongs to."""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import business_error
from core.logging import get_logger
from edifact.envelope import parse_interchange
from edifact.errors import EdifactError
from edifact.utilmd import UtilmdMessage, parse_utilmd
from models.base import utcnow
from models.messages import Direction, MarketMessage, MessageState
from models.process import (
    Delivery,
    InboundInput,
    InboundOutcome,
    InboundResult,
    MarketAnswer,
    SignalDelivery,
)
from rules.calendar import supply_date_from_instant
from rules.market_processes import FINAL_ANSWERS

log = get_logger()


def _day(instant: datetime | None, division: str) -> object:
    return supply_date_from_instant(instant, division) if instant else None


def to_answer(message_id: int, m: UtilmdMessage) -> MarketAnswer:
    division = m.division.value
    return MarketAnswer(
        message_id=message_id,
        pruefidentifikator=m.pruefidentifikator,
        sender=m.sender,
        reference_transaction=m.reference_transaction,
        malo_id=m.malo_id,
        answer_code=m.answer_code,
        answer_code_list=m.answer_code_list,
        start=_day(m.start, division),
        end=_day(m.end_at or m.end, division),
        next_possible_date=_day(m.next_possible_date or m.next_processing_date, division),
        free_text=m.free_text,
        previous_supplier=m.previous_supplier,
        annual_consumption_kwh=m.annual_consumption_kwh,
    )


class InboxActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def process_inbound(self, inbound: InboundInput) -> InboundResult:
        """Parse a stored interchange and find, for each answer, the process that sent the request."""
        with Session(self.engine) as session:
            row = session.get(MarketMessage, inbound.message_id)
            if row is None or row.tenant_id != inbound.tenant_id:
                raise business_error(f"inbound message {inbound.message_id} does not exist", "MessageNotFound")
            if row.state == MessageState.DUPLICATE:
                return InboundResult(state=row.state)
            if row.state in (MessageState.REJECTED, MessageState.CLEARING) and row.error:
                return InboundResult(state=row.state, error=row.error)
            try:
                interchange = parse_interchange(row.raw)
                messages = [parse_utilmd(raw) for raw in interchange.messages if raw.type == "UTILMD"]
                others = sorted({raw.type for raw in interchange.messages if raw.type != "UTILMD"})
                if others:
                    raise business_error(f"message type {', '.join(others)} is not processed", "Unsupported")
            except EdifactError as error:
                log.warning("inbound message rejected", tenant=inbound.tenant_id, message_id=row.id, error=str(error))
                self._mark(session, row, MessageState.REJECTED, str(error))
                return InboundResult(state=MessageState.REJECTED, error=str(error))
            first = messages[0]
            row.message_type = "UTILMD"
            row.pruefidentifikator = first.pruefidentifikator
            row.document_number = first.document_number
            row.transaction_id = first.transaction_id
            row.reference_transaction = first.reference_transaction
            row.malo_id = first.malo_id
            deliveries = [self._route(session, inbound.tenant_id, row.id, m) for m in messages]
            for delivery in deliveries:
                log.info(
                    "inbound message routed" if delivery.workflow_id else "inbound message matches no process",
                    tenant=inbound.tenant_id,
                    message_id=row.id,
                    pruefidentifikator=delivery.answer.pruefidentifikator,
                    target=delivery.workflow_id,
                    problem=delivery.problem,
                )
            workflow_ids = {d.workflow_id for d in deliveries if d.workflow_id}
            row.workflow_id = next(iter(workflow_ids)) if len(workflow_ids) == 1 else None
            session.add(row)
            session.commit()
            return InboundResult(state=MessageState.RECEIVED, deliveries=deliveries)

    def _route(self, session: Session, tenant_id: str, message_id: int | None, m: UtilmdMessage) -> Delivery:
        assert message_id is not None
        answer = to_answer(message_id, m)
        if not m.reference_transaction:
            return Delivery(workflow_id=None, answer=answer, problem="the message references no request (RFF+TN)")
        request = session.exec(
            select(MarketMessage).where(
                MarketMessage.tenant_id == tenant_id,
                MarketMessage.direction == Direction.OUTBOUND,
                MarketMessage.transaction_id == m.reference_transaction,
            )
        ).first()
        if request is None or request.workflow_id is None:
            problem = f"no request with transaction {m.reference_transaction} was sent by this tenant"
            return Delivery(workflow_id=None, answer=answer, problem=problem)
        if m.malo_id and request.malo_id and m.malo_id != request.malo_id:
            problem = f"MaLo {m.malo_id} differs from {request.malo_id} of the request"
            return Delivery(workflow_id=None, answer=answer, problem=problem)
        if m.sender != request.receiver:
            problem = f"answer comes from {m.sender}, the request went to {request.receiver}"
            return Delivery(workflow_id=None, answer=answer, problem=problem)
        if answer.pruefidentifikator in FINAL_ANSWERS and request.answered_at is None:
            request.answered_at = utcnow()
            session.add(request)
        return Delivery(workflow_id=request.workflow_id, answer=answer)

    @activity.defn
    def mark_inbound(self, outcome: InboundOutcome) -> None:
        """Record the final state of an inbound interchange (processed or in clearing)."""
        with Session(self.engine) as session:
            row = session.get(MarketMessage, outcome.message_id)
            if row is not None:
                self._mark(session, row, outcome.state, outcome.error)

    @staticmethod
    def _mark(session: Session, row: MarketMessage, state: str, error: str | None) -> None:
        row.state = state
        row.error = error
        row.processed_at = utcnow()
        session.add(row)
        session.commit()


@activity.defn
async def deliver_answer(delivery: SignalDelivery) -> bool:
    """Signal the waiting process; False when it is not running (the answer then goes to clearing)."""
    handle = activity.client().get_workflow_handle(delivery.workflow_id)
    try:
        await handle.signal("market_answer", delivery.answer)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
