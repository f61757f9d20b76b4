"""Telling the client at once: a notification row, an e-mail file in the client outbox, and a webhook call.

The row is written once per business key; the e-mail once per row; the webhook is retried until the client's
endpoint answers 2xx (each attempt counted). The client may also read notifications through the API.
"""

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from models.contacts import ClientNotification
from models.tenancy import Tenant
from services.delivery import write_file

WEBHOOK_TIMEOUT = httpx.Timeout(10.0)


class WebhookFailed(RuntimeError):
    """The client's endpoint did not take the notification (retried)."""


def notify(
    session: Session, tenant_id: str, key: str, kind: str, subject: str, payload: dict[str, Any], outbox: Path
) -> ClientNotification:
    """Record the notification and write its e-mail once; returns the row (commits)."""
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    session.execute(
        insert(ClientNotification)
        .values(
            tenant_id=tenant_id,
            business_key=key,
            kind=kind,
            subject=subject,
            payload=payload,
            webhook_state="pending" if tenant.webhook_url else "none",
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "business_key"])
    )
    row = session.exec(
        select(ClientNotification)
        .where(ClientNotification.tenant_id == tenant_id, ClientNotification.business_key == key)
        .with_for_update()
    ).one()
    if not row.email_file:
        path = write_file(outbox / "email" / f"{tenant_id}-{kind}-{row.id}.eml", _email(tenant, row))
        row.email_file = str(path)
        session.add(row)
    session.commit()
    return row


def post_webhook(session: Session, notification_id: int) -> bool:
    """POST the notification to the tenant's webhook; True once delivered (or nothing to deliver)."""
    row = session.get(ClientNotification, notification_id, with_for_update=True)
    assert row is not None
    tenant = session.get(Tenant, row.tenant_id)
    assert tenant is not None
    if row.webhook_state != "pending" or not tenant.webhook_url:
        return True
    row.webhook_attempts += 1
    try:
        response = httpx.post(
            tenant.webhook_url,
            json=body(row),
            headers={"Idempotency-Key": row.business_key, "X-Bpo-Event": row.kind},
            timeout=WEBHOOK_TIMEOUT,
        )
        delivered = response.is_success
        problem = f"HTTP {response.status_code}"
    except httpx.HTTPError as error:
        delivered, problem = False, f"{type(error).__name__}: {error}"
    if delivered:
        row.webhook_state, row.webhook_delivered_at = "delivered", datetime.now(UTC)
    session.add(row)
    session.commit()
    if not delivered:
        raise WebhookFailed(f"webhook {tenant.webhook_url} for notification {row.id}: {problem}")
    return True


def body(row: ClientNotification) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "payload": row.payload,
        "created_at": row.created_at.isoformat(),
    }


def _email(tenant: Tenant, row: ClientNotification) -> bytes:
    message = EmailMessage()
    message["From"] = f"kundenservice@{tenant.id}.invalid"
    message["To"] = tenant.notification_email or tenant.email or f"kunde@{tenant.id}.invalid"
    message["Subject"] = f"[{row.kind}] {row.subject}"
    message["X-Bpo-Event"] = row.kind
    message.set_content(f"{row.subject}\n\n" + json.dumps(body(row), indent=2, ensure_ascii=False, default=str) + "\n")
    return message.as_bytes()
