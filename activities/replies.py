"""Our answers to inbound interchanges: CONTRL for syntax, APERAK for content, stored in the outbox and sent."""

import uuid
from datetime import UTC, datetime

from sqlmodel import Session, select

from activities.market import DropFolderTransport
from edifact.aperak import (
    AperakError,
    AperakMessage,
    MessageHeader,
    aperak_interchange,
    build_aperak,
    negative_aperak,
    positive_aperak,
)
from edifact.contrl import contrl_acknowledgement, contrl_for_syntax_error, contrl_interchange, sender_of_broken
from edifact.envelope import Interchange, Party, serialize_interchange, serialize_message, wrap_messages
from edifact.errors import EdifactSyntaxError
from models.messages import MarketMessage, MessageState
from services.outbound import store_outbound


def _reference() -> str:
    return uuid.uuid4().hex.upper()[:14]


class Replies:
    """Builds, stores (once per inbound message and kind) and sends our CONTRL/APERAK replies."""

    def __init__(self, session: Session, transport: DropFolderTransport, inbound: MarketMessage) -> None:
        assert inbound.id is not None and inbound.tenant_id is not None
        self.session = session
        self.transport = transport
        self.inbound = inbound
        self.first_aperak: AperakMessage | None = None
        self.aperak_texts: list[str] = []

    def syntax_error(self, error: EdifactSyntaxError) -> bool:
        """CONTRL Syntaxfehlermeldung; False when not even the sender can be read from the broken file."""
        parties = sender_of_broken(self.inbound.raw)
        if parties is None:
            return False
        sender, receiver, reference = parties
        contrl = contrl_for_syntax_error(
            interchange_reference=reference,
            original_sender=sender,
            original_receiver=receiver,
            error=error,
            reference=_reference(),
            data=self.inbound.raw,
        )
        self._store(
            "CONTRL", contrl_interchange([contrl], reference=_reference(), prepared_at=_now()), receiver, sender
        )
        return True

    def acknowledge(self, interchange: Interchange) -> None:
        """CONTRL Empfangsbestätigung (Gas: every interchange but a CONTRL)."""
        contrl = contrl_acknowledgement(
            interchange_reference=interchange.reference,
            original_sender=interchange.sender,
            original_receiver=interchange.receiver,
            reference=_reference(),
        )
        self._store(
            "CONTRL",
            contrl_interchange([contrl], reference=_reference(), prepared_at=_now()),
            interchange.receiver,
            interchange.sender,
            kind="ack",
        )

    def reject(self, interchange: Interchange, original: MessageHeader, errors: list[AperakError]) -> None:
        self._add(
            negative_aperak(
                original,
                errors,
                interchange_reference=interchange.reference,
                interchange_date=interchange.prepared_at,
                at=_now(),
                reference=_reference(),
            )
        )

    def accept(self, interchange: Interchange, original: MessageHeader) -> None:
        self._add(
            positive_aperak(
                original,
                interchange_reference=interchange.reference,
                interchange_date=interchange.prepared_at,
                at=_now(),
                reference=_reference(),
            )
        )

    def _add(self, aperak: AperakMessage) -> None:
        """Kept as text at once, so a file of thousands of messages does not hold thousands of models."""
        self.first_aperak = self.first_aperak or aperak
        self.aperak_texts.append(serialize_message(build_aperak(aperak)))

    def send_aperaks(self, interchange: Interchange) -> None:
        """All APERAKs for this interchange in one interchange of our own."""
        if self.first_aperak is not None:
            header = aperak_interchange([self.first_aperak], reference=_reference(), prepared_at=_now())
            self._store("APERAK", header, interchange.receiver, interchange.sender, texts=self.aperak_texts)

    def _store(
        self,
        message_type: str,
        interchange: Interchange,
        sender: Party,
        receiver: Party,
        kind: str | None = None,
        texts: list[str] | None = None,
    ) -> None:
        """Store and send once per inbound message and kind; ``texts`` are messages already serialised."""
        key = f"reply:{self.inbound.id}:{kind or message_type.lower()}"
        existing = self.session.exec(select(MarketMessage).where(MarketMessage.business_key == key)).first()
        if existing is None:
            raw = wrap_messages(interchange, texts) if texts is not None else serialize_interchange(interchange)
            existing = store_outbound(
                self.session,
                key,
                raw,
                tenant_id=self.inbound.tenant_id,
                state=MessageState.SENT,
                message_type=message_type,
                sender=sender.id,
                receiver=receiver.id,
                interchange_ref=interchange.reference,
                in_reply_to_id=self.inbound.id,
                message_count=len(texts) if texts is not None else len(interchange.messages),
                size_bytes=len(raw),
                created_at=_now(),
                processed_at=_now(),
            )
        assert existing.tenant_id is not None and existing.receiver and existing.interchange_ref
        self.transport.send(existing.tenant_id, existing.receiver, existing.interchange_ref, existing.raw)


def _now() -> datetime:
    return datetime.now(UTC)
