"""Our answer to a grid operator's invoice: REMADV 33001 (Zahlungsavis) or 33002-33004 (Abweisung), stored once
per invoice and queued for sending."""

import uuid
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlmodel import Session, select

from edifact.envelope import Party, serialize_interchange
from edifact.remadv import RemadvItem, RemadvMessage, RemadvPositionRejection, RemadvRejection, remadv_interchange
from models.base import utcnow
from models.grid_invoices import GridInvoice
from models.messages import MarketMessage
from models.tenancy import Tenant
from rules.calendar import BERLIN
from rules.market_processes import NAD_CODE_LIST, UNB_QUALIFIER
from services.outbound import store_outbound

ASSOCIATION = "2.9c"


def remadv_for(row: GridInvoice, tenant: Tenant, sent_at: datetime) -> RemadvMessage:
    """The REMADV answering the decided invoice (its ``answer_pid`` and rejection)."""
    accepted = row.answer_pid == "33001"
    due = row.due_amount if row.due_amount is not None else (row.total or Decimal("0.00"))
    rejection = RemadvRejection(code=row.rejection_code, code_list=row.rejection_list, text=row.rejection_text[:512])
    item = RemadvItem(
        document_type=row.category,
        invoice_number=row.invoice_number,
        invoice_date=datetime.combine(row.invoice_date, time(), BERLIN).astimezone(UTC),
        due_amount=due,
        paid_amount=due if accepted else Decimal("0"),
        rejections=[] if accepted or row.rejected_position else [rejection],
        position_rejections=(
            [RemadvPositionRejection(position=row.rejected_position, rejections=[rejection])]
            if not accepted and row.rejected_position
            else []
        ),
    )
    sender = tenant.gas_market_partner_id if row.division == "gas" else tenant.market_partner_id
    assert sender is not None
    payment_date = None
    if accepted and row.due_date is not None:
        payment_date = datetime.combine(row.due_date, time(), BERLIN).astimezone(UTC)
    return RemadvMessage(
        association=ASSOCIATION,
        pruefidentifikator=row.answer_pid,
        message_reference=uuid.uuid4().hex[:14].upper(),
        category="481" if accepted else "239",
        document_number=f"RA{uuid.uuid4().hex[:16].upper()}",
        document_date=sent_at,
        payment_date=payment_date,
        sender=sender,
        receiver=row.partner_id,
        sender_code_list=NAD_CODE_LIST[row.division],
        receiver_code_list=NAD_CODE_LIST[row.division],
        total=item.paid_amount,
        items=[item],
    )


def store_remadv(session: Session, row: GridInvoice) -> MarketMessage:
    """Build and store the answer queued for sending, once per invoice."""
    key = f"remadv:{row.id}"
    existing = session.exec(select(MarketMessage).where(MarketMessage.business_key == key)).first()
    if existing is not None:
        return existing
    tenant = session.get(Tenant, row.tenant_id)
    assert tenant is not None
    now = utcnow().replace(second=0, microsecond=0)
    message = remadv_for(row, tenant, now)
    qualifier = UNB_QUALIFIER[row.division]
    reference = uuid.uuid4().hex[:14].upper()
    raw = serialize_interchange(
        remadv_interchange(
            [message],
            sender=Party(id=message.sender, qualifier=qualifier),
            receiver=Party(id=message.receiver, qualifier=qualifier),
            reference=reference,
            prepared_at=now,
        )
    )
    return store_outbound(
        session,
        key,
        raw,
        tenant_id=row.tenant_id,
        message_type="REMADV",
        pruefidentifikator=message.pruefidentifikator,
        sender=message.sender,
        receiver=message.receiver,
        interchange_ref=reference,
        document_number=message.document_number,
        malo_id=row.malo_id,
        workflow_id=row.workflow_id,
        in_reply_to_id=row.message_id,
        created_at=now,
    )
