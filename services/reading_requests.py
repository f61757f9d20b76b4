"""Asking the metering operator for a missing reading (ORDERS 17102 Anfrage von Werten) in time for the bill.

Three days after a period's planned end without a reading, the request goes out once per contract and period.
The grid operator is addressed as the metering operator (the engine knows no other one yet). If the reading
still does not come, the bill is estimated two weeks after the planned end (see services.billing).
"""

import uuid
from datetime import date, timedelta
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session, col, select

from edifact.envelope import Party, serialize_interchange
from edifact.orders import OrdersCommunication, OrdersMessage, OrdersPosition, orders_interchange
from models.base import utcnow
from models.messages import Direction, MarketMessage, MessageState
from models.parties import PartnerCommunication
from rules.calendar import BERLIN, day_start
from rules.market_processes import NAD_CODE_LIST, UNB_QUALIFIER
from services import partners
from services.billing_inputs import READING_WINDOW
from services.outbound import store_outbound

ASK_AFTER = timedelta(days=3)
REGISTER_OBIS = {"strom": "1-1:1.8.0", "gas": "7-20:3.0.0"}
"""The register a complaint names: Strom consumption (1.8.0); Gas volume at operating conditions (unverified)."""

MISSING_SQL = """
SELECT c.id AS contract_id, c.division, l.malo_id, l.grid_operator_id, p.planned,
       (SELECT m.melo_id FROM meter m WHERE m.location_id = l.id AND m.melo_id IS NOT NULL ORDER BY m.id DESC LIMIT 1)
           AS melo_id,
       CASE WHEN c.division = 'gas' THEN t.gas_market_partner_id ELSE t.market_partner_id END AS sender
FROM contract c
JOIN market_location l ON l.id = c.location_id
JOIN tenant t ON t.id = c.tenant_id
CROSS JOIN LATERAL (
    SELECT (coalesce(c.billed_until, c.supply_start) + make_interval(months => c.billing_cycle_months))::date AS planned
) p
WHERE c.tenant_id = :tenant AND c.supply_start IS NOT NULL AND c.metering = 'slp'
  AND p.planned + :ask_after <= :on AND :on < p.planned + :grace
  AND (c.supply_end IS NULL OR c.supply_end > p.planned)
  AND NOT EXISTS (
      SELECT 1 FROM meter_reading r
      WHERE r.tenant_id = c.tenant_id AND r.period_start IS NULL
        AND r.location_id = ANY(
            ARRAY[l.malo_id]
                || ARRAY(SELECT m.melo_id FROM meter m WHERE m.location_id = l.id AND m.melo_id IS NOT NULL)
        )
        AND r.at >= (p.planned - :before - 1)::timestamptz AND r.at < (p.planned + :grace + 2)::timestamptz)
  AND NOT EXISTS (
      SELECT 1 FROM market_message mm
      WHERE mm.business_key = 'orders-17102:' || c.id || ':' || p.planned)
ORDER BY c.id
LIMIT :limit
"""


class Transport(Protocol):
    def send(
        self, tenant_id: str, receiver: str, reference: str, raw: bytes, route: PartnerCommunication | None = None
    ) -> object: ...


def queue_reading_requests(session: Session, tenant_id: str, on: date, limit: int = 1000) -> int:
    """Store ORDERS 17102 for the readings still missing, queued for sending; returns how many (call until 0)."""
    rows = session.execute(
        text(MISSING_SQL),
        {
            "tenant": tenant_id,
            "on": on,
            "ask_after": ASK_AFTER.days,
            "grace": READING_WINDOW[1].days,
            "before": READING_WINDOW[0].days,
            "limit": limit,
        },
    ).all()
    for row in rows:
        if not row.sender:
            continue  # a tenant without a code number for the division cannot ask; billing estimates later
        queue_reading_order(
            session,
            ReadingOrder(
                tenant_id=tenant_id,
                division=row.division,
                sender=row.sender,
                receiver=row.grid_operator_id,
                malo_id=row.malo_id,
                location_id=row.melo_id or row.malo_id,
                day=row.planned,
                business_key=f"orders-17102:{row.contract_id}:{row.planned}",
            ),
        )
    return len(rows)


class ReadingOrder(BaseModel):
    """One ORDERS to the metering operator about the register reading of a location on a day."""

    tenant_id: str
    division: str
    sender: str
    receiver: str
    malo_id: str
    location_id: str
    """The MeLo when known, else the MaLo."""
    day: date
    business_key: str
    complaint: bool = False
    """17113 Reklamation (the values are missing) instead of 17102 Anfrage."""
    contact_name: str = ""
    contact: str = ""
    workflow_id: str | None = None


def queue_reading_order(session: Session, order: ReadingOrder) -> MarketMessage:
    """Store the ORDERS queued for sending, once per business key; returns the stored message."""
    now = utcnow().replace(second=0, microsecond=0)
    start, end = day_start(order.day, order.division), day_start(order.day + timedelta(days=1), order.division)
    if order.complaint:
        fields: dict[str, object] = {
            "pruefidentifikator": "17113",
            "category": "Z34",
            "contact_name": order.contact_name or "Kundenservice",
            "communications": [OrdersCommunication(number=order.contact or "service@invalid", channel="EM")],
            "positions": [OrdersPosition(obis=REGISTER_OBIS[order.division], point_in_time=start, reason="Z06")],
        }
    else:
        fields = {
            "pruefidentifikator": "17102",
            "category": "7",
            "positions": [OrdersPosition(period_start=start, period_end=end)],
        }
    message = OrdersMessage(
        message_reference=_reference(14),
        product="Z12",
        document_number=_reference(20),
        document_date=now,
        sender=order.sender,
        receiver=order.receiver,
        sender_code_list=NAD_CODE_LIST[order.division],
        receiver_code_list=NAD_CODE_LIST[order.division],
        location_id=order.location_id,
        **fields,  # type: ignore[arg-type]
    )
    return store_orders(
        session, order.tenant_id, message, order.division, order.business_key, order.malo_id, order.workflow_id
    )


def store_orders(
    session: Session,
    tenant_id: str,
    message: OrdersMessage,
    division: str,
    business_key: str,
    malo_id: str,
    workflow_id: str | None,
) -> MarketMessage:
    """Wrap an ORDERS in its interchange and store it queued for sending, once per business key."""
    reference = _reference(14)
    qualifier = UNB_QUALIFIER[division]
    raw = serialize_interchange(
        orders_interchange(
            [message],
            sender=Party(id=message.sender, qualifier=qualifier),
            receiver=Party(id=message.receiver, qualifier=qualifier),
            reference=reference,
            prepared_at=message.document_date,
        )
    )
    return store_outbound(
        session,
        business_key,
        raw,
        tenant_id=tenant_id,
        message_type="ORDERS",
        pruefidentifikator=message.pruefidentifikator,
        sender=message.sender,
        receiver=message.receiver,
        interchange_ref=reference,
        document_number=message.document_number,
        malo_id=malo_id,
        workflow_id=workflow_id,
    )


def send_queued_requests(session: Session, tenant_id: str, transport: Transport) -> int:
    """Hand the queued ORDERS to the transport and mark them sent; a retry resends (the file name is the same)."""
    queued = session.exec(
        select(MarketMessage).where(
            MarketMessage.tenant_id == tenant_id,
            MarketMessage.direction == Direction.OUTBOUND,
            MarketMessage.message_type == "ORDERS",
            col(MarketMessage.state).in_((MessageState.QUEUED, MessageState.CLEARING)),
        )
    ).all()
    today = utcnow().astimezone(BERLIN).date()
    for message in queued:
        assert message.receiver and message.interchange_ref
        try:
            route = partners.check_route(session, message, today)
        except partners.NoCommunicationData:
            continue  # in clearing: sent by a later run once the directory has the receiver's data
        transport.send(tenant_id, message.receiver, message.interchange_ref, message.raw, route)
        message.state, message.processed_at = MessageState.SENT, utcnow()
        session.add(message)
    session.flush()
    return len(queued)


def _reference(length: int) -> str:
    return uuid.uuid4().hex.upper()[:length]
