"""Customer contacts from every channel, and the client's notifications."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel
from sqlmodel import col, select
from temporalio.service import RPCError

from api.auth import Principal, require
from api.deps import ClientDep, SessionDep, SettingsDep
from api.errors import not_found
from models.contact_input import ContactIn
from models.contacts import ClientNotification, Contact, ContactAttachment
from models.customers import Customer
from models.tenancy import Role
from services import contacts
from services.contact_processes import start_contact

router = APIRouter(tags=["customer center"])
Anyone = Annotated[Principal, require(Role.CLIENT, Role.CLERK, Role.SUPERVISOR)]


class AttachmentView(BaseModel):
    id: int
    filename: str
    media_type: str
    size: int
    sha256: str


class ContactView(BaseModel):
    id: int
    reference: str
    channel: str
    received_at: datetime
    customer_number: str | None
    identified_by: str
    subject: str
    category: str
    complaint: str
    answer_by: date | None
    settled: bool
    state: str
    outcome: str
    workflow_id: str | None
    attachments: list[AttachmentView]


def contact_view(session: SessionDep, contact: Contact) -> ContactView:
    assert contact.id is not None
    customer = session.get(Customer, contact.customer_id) if contact.customer_id else None
    attachments = session.exec(select(ContactAttachment).where(ContactAttachment.contact_id == contact.id)).all()
    return ContactView(
        **contact.model_dump(include=set(ContactView.model_fields) - {"customer_number", "attachments"}),
        customer_number=customer.customer_number if customer else None,
        attachments=[
            AttachmentView(
                id=a.id or 0, filename=a.filename, media_type=a.media_type, size=len(a.content), sha256=a.sha256
            )
            for a in attachments
        ],
    )


@router.post("/v1/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactView)
async def create_contact(
    contact: ContactIn,
    principal: Anyone,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    response: Response,
) -> ContactView:
    """Store the contact on the customer's file (recognised by the hints, the text or the sender) and start its
    process ``contact/{tenant}/{id}``. The same ``reference`` again returns the stored contact (200)."""
    stored, created = contacts.record(session, principal.tenant_id, contact)
    if not created:
        response.status_code = status.HTTP_200_OK
    try:
        await start_contact(client, settings.task_queue, session, stored)
    except RPCError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"contact {stored.id} is stored, but its process could not start ({error.message}); send it again",
        ) from error
    return contact_view(session, stored)


@router.get("/v1/contacts/{contact_id}", response_model=ContactView)
def get_contact(contact_id: int, principal: Anyone, session: SessionDep) -> ContactView:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != principal.tenant_id:
        raise not_found(f"contact {contact_id}")
    return contact_view(session, contact)


@router.get(
    "/v1/contacts/{contact_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_attachment(contact_id: int, attachment_id: int, principal: Anyone, session: SessionDep) -> Response:
    contact = session.get(Contact, contact_id)
    attachment = session.get(ContactAttachment, attachment_id)
    if contact is None or contact.tenant_id != principal.tenant_id or attachment is None:
        raise not_found(f"attachment {attachment_id}")
    if attachment.contact_id != contact_id:
        raise not_found(f"attachment {attachment_id}")
    return Response(
        attachment.content,
        media_type=attachment.media_type,
        headers={"Content-Disposition": f'attachment; filename="{attachment.filename}"'},
    )


class NotificationView(BaseModel):
    id: int
    kind: str
    subject: str
    payload: dict[str, object]
    webhook_state: str
    webhook_attempts: int
    created_at: datetime


@router.get("/v1/notifications", response_model=list[NotificationView])
def list_notifications(
    principal: Anyone,
    session: SessionDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationView]:
    """What the client was told at once (regulator and arbitration complaints), newest first."""
    query = select(ClientNotification).where(ClientNotification.tenant_id == principal.tenant_id)
    if since is not None:
        query = query.where(col(ClientNotification.created_at) >= since)
    rows = session.exec(query.order_by(col(ClientNotification.id).desc()).limit(limit)).all()
    return [NotificationView(**row.model_dump()) for row in rows]
