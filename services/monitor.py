"""The daily market-communication check: messages by state, with overdue answers flagged."""

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from models.messages import Direction, MarketMessage, MessageState
from rules.calendar import BERLIN


class MonitorState(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    ANSWERED = "answered"
    """Inbound, answered with a negative CONTRL or APERAK."""
    AWAITING_ANSWER = "awaiting_answer"
    ANSWER_OVERDUE = "answer_overdue"
    CLEARING = "clearing"
    DUPLICATE = "duplicate"
    SENT = "sent"


class MonitorFilter(BaseModel):
    state: MonitorState | None = None
    partner: str | None = None
    message_type: str | None = None
    pruefidentifikator: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    limit: int = 200


class MonitorRow(BaseModel):
    id: int
    direction: str
    state: str
    monitor_state: MonitorState
    message_type: str | None
    pruefidentifikator: str | None
    partner: str | None
    interchange_ref: str | None
    document_number: str | None
    malo_id: str | None
    created_at: datetime
    answer_due_at: datetime | None
    overdue: bool
    error: str | None
    workflow_id: str | None


def monitor_state(message: MarketMessage, now: datetime) -> MonitorState:
    if message.direction == Direction.OUTBOUND:
        if message.answer_due_at is not None and message.answered_at is None:
            return MonitorState.ANSWER_OVERDUE if message.answer_due_at < now else MonitorState.AWAITING_ANSWER
        return MonitorState.SENT
    return {
        MessageState.REJECTED: MonitorState.ANSWERED,
        MessageState.CLEARING: MonitorState.CLEARING,
        MessageState.DUPLICATE: MonitorState.DUPLICATE,
        MessageState.PROCESSED: MonitorState.PROCESSED,
    }.get(MessageState(message.state), MonitorState.RECEIVED)


def _state_condition(state: MonitorState, now: datetime) -> ColumnElement[bool]:
    outbound = col(MarketMessage.direction) == Direction.OUTBOUND
    waiting = and_(outbound, col(MarketMessage.answer_due_at).is_not(None), col(MarketMessage.answered_at).is_(None))
    inbound = col(MarketMessage.direction) == Direction.INBOUND
    return {
        MonitorState.AWAITING_ANSWER: and_(waiting, col(MarketMessage.answer_due_at) >= now),
        MonitorState.ANSWER_OVERDUE: and_(waiting, col(MarketMessage.answer_due_at) < now),
        MonitorState.SENT: and_(outbound, ~waiting),
        MonitorState.ANSWERED: and_(inbound, col(MarketMessage.state) == MessageState.REJECTED),
        MonitorState.CLEARING: and_(inbound, col(MarketMessage.state) == MessageState.CLEARING),
        MonitorState.DUPLICATE: and_(inbound, col(MarketMessage.state) == MessageState.DUPLICATE),
        MonitorState.PROCESSED: and_(inbound, col(MarketMessage.state) == MessageState.PROCESSED),
        MonitorState.RECEIVED: and_(inbound, col(MarketMessage.state) == MessageState.RECEIVED),
    }[state]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BERLIN)


def list_messages(session: Session, tenant_id: str, where: MonitorFilter, now: datetime) -> list[MonitorRow]:
    """Messages of one tenant, newest first, filtered as the daily check needs."""
    query = select(MarketMessage).where(MarketMessage.tenant_id == tenant_id)
    if where.state is not None:
        query = query.where(_state_condition(where.state, now))
    if where.partner:
        query = query.where(
            or_(col(MarketMessage.sender) == where.partner, col(MarketMessage.receiver) == where.partner)
        )
    if where.message_type:
        query = query.where(MarketMessage.message_type == where.message_type.upper())
    if where.pruefidentifikator:
        query = query.where(MarketMessage.pruefidentifikator == where.pruefidentifikator)
    if where.day_from:
        query = query.where(col(MarketMessage.created_at) >= _day_start(where.day_from))
    if where.day_to:
        query = query.where(col(MarketMessage.created_at) < _day_start(where.day_to + timedelta(days=1)))
    query = query.order_by(col(MarketMessage.created_at).desc(), col(MarketMessage.id).desc()).limit(where.limit)
    return [_row(message, now) for message in session.exec(query).all()]


def _row(message: MarketMessage, now: datetime) -> MonitorRow:
    assert message.id is not None
    state = monitor_state(message, now)
    return MonitorRow(
        id=message.id,
        direction=message.direction,
        state=message.state,
        monitor_state=state,
        message_type=message.message_type,
        pruefidentifikator=message.pruefidentifikator,
        partner=message.sender if message.direction == Direction.INBOUND else message.receiver,
        interchange_ref=message.interchange_ref,
        document_number=message.document_number,
        malo_id=message.malo_id,
        created_at=message.created_at,
        answer_due_at=message.answer_due_at,
        overdue=state == MonitorState.ANSWER_OVERDUE,
        error=message.error,
        workflow_id=message.workflow_id,
    )


def summary(session: Session, tenant_id: str, now: datetime) -> dict[MonitorState, int]:
    """How many messages are in each monitor state (all time)."""
    return {
        state: session.exec(
            select(func.count())
            .select_from(MarketMessage)
            .where(MarketMessage.tenant_id == tenant_id, _state_condition(state, now))
        ).one()
        for state in MonitorState
    }
