"""Outbound UTILMD: build, store in the outbox with its references, hand to the transport (once per key)."""

import json
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import get_contract
from activities.errors import business_error
from core.logging import get_logger
from edifact.envelope import Interchange, Party, parse_interchange, serialize_interchange
from edifact.replies import reply_interchange, reply_to
from edifact.utilmd import Division, UtilmdMessage, UtilmdParty, build_utilmd, parse_utilmd
from models.base import utcnow
from models.contracts import Contract, MarketLocation
from models.customers import Customer
from models.messages import MarketMessage, MessageState
from models.parties import PartnerCommunication
from models.process import AnswerRequest, SendUtilmd, SentMessage
from models.tenancy import Tenant
from rules.calendar import BERLIN, answer_deadline, day_start
from rules.market_processes import ASSOCIATION, NAD_CODE_LIST, UNB_QUALIFIER, exchange
from services import partners
from services.outbound import store_outbound

log = get_logger()
END_AT_ANSWERS = frozenset({"55017", "44017"})
"""Answers that carry the end as DTM+471 (Ende zum); the others as DTM+93."""


def new_reference(length: int) -> str:
    return uuid.uuid4().hex.upper()[:length]


def tenant_partner_id(tenant: Tenant, division: str) -> str:
    if division == "gas":
        if not tenant.gas_market_partner_id:
            raise business_error(f"tenant {tenant.id} has no DVGW code number for gas", "TenantIncomplete")
        return tenant.gas_market_partner_id
    return tenant.market_partner_id


RETRY_WITHOUT_ROUTE = timedelta(minutes=15)
"""A request to a partner we cannot reach waits this long before it is tried again (in clearing meanwhile)."""


def require_route(session: Session, message: MarketMessage) -> PartnerCommunication:
    """Our own request goes out only with the receiver's communication data valid today; otherwise the message is
    in clearing and the activity fails visibly, to be retried once the directory has the data."""
    try:
        return partners.check_route(session, message, utcnow().astimezone(BERLIN).date())
    except partners.NoCommunicationData as missing:
        session.commit()
        raise ApplicationError(
            str(missing), type="NoCommunicationData", next_retry_delay=RETRY_WITHOUT_ROUTE
        ) from missing


class DropFolderTransport:
    """Writes each outbound interchange as a file into ``outbox/<tenant>/<receiver>/``; rewriting is harmless.

    With the receiver's communication data (our own requests) a ``<reference>.route.json`` next to it tells the
    gateway the channel and address valid on the send day; answers go back the way the message came."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(
        self, tenant_id: str, receiver: str, reference: str, raw: bytes, route: PartnerCommunication | None = None
    ) -> Path:
        target = self.folder / tenant_id / receiver / f"{reference}.edi"
        target.parent.mkdir(parents=True, exist_ok=True)
        if route is not None:
            _write(
                target.with_name(f"{reference}.route.json"),
                json.dumps(
                    {"channel": route.channel, "address": route.address, "valid_from": route.valid_from.isoformat()}
                ).encode(),
            )
        _write(target, raw)
        return target


def _write(target: Path, content: bytes) -> None:
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


class MarketActivities:
    def __init__(self, engine: Engine, transport: DropFolderTransport) -> None:
        self.engine = engine
        self.transport = transport

    @activity.defn
    def send_utilmd(self, request: SendUtilmd) -> SentMessage:
        """Build and send the request once per business key; a retry returns the message already stored."""
        with Session(self.engine) as session:
            message = session.exec(
                select(MarketMessage).where(MarketMessage.business_key == request.business_key)
            ).first()
            if message is None:
                message = self._store(session, request)
            assert message.id is not None and message.transaction_id and message.receiver
            assert message.interchange_ref and message.tenant_id and message.pruefidentifikator
            route = require_route(session, message)
            self.transport.send(message.tenant_id, message.receiver, message.interchange_ref, message.raw, route)
            if message.state != MessageState.SENT:
                log.info(
                    "market message sent",
                    tenant=message.tenant_id,
                    pruefidentifikator=message.pruefidentifikator,
                    receiver=message.receiver,
                    transaction=message.transaction_id,
                )
                message.state = MessageState.SENT
                message.processed_at = utcnow()
                session.add(message)
                session.commit()
            return SentMessage(
                message_id=message.id,
                transaction_id=message.transaction_id,
                pruefidentifikator=message.pruefidentifikator,
                receiver=message.receiver,
                sent_at=message.created_at,
            )

    def _store(self, session: Session, request: SendUtilmd) -> MarketMessage:
        contract = get_contract(session, request.contract_id)
        tenant = session.get(Tenant, contract.tenant_id)
        customer = session.get(Customer, contract.customer_id)
        location = session.get(MarketLocation, contract.location_id)
        assert tenant is not None and customer is not None and location is not None
        division = contract.division
        if request.kind == "cancellation":
            if not contract.previous_supplier_id:
                raise business_error(
                    f"contract {contract.contract_number} names no previous supplier to cancel at",
                    "MissingPreviousSupplier",
                )
            receiver = contract.previous_supplier_id
        else:
            receiver = location.grid_operator_id
        sender = tenant_partner_id(tenant, division)
        pid = exchange(request.kind, division).request
        now = utcnow().replace(second=0, microsecond=0)
        if request.kind == "master_data":
            message = self._master_data(request, location, sender, receiver, division, pid, now)
        else:
            message = self._supply(request, contract, customer, location, sender, receiver, pid, now)
        reference = new_reference(14)
        raw = serialize_interchange(
            Interchange(
                sender=Party(id=sender, qualifier=UNB_QUALIFIER[division]),
                receiver=Party(id=receiver, qualifier=UNB_QUALIFIER[division]),
                prepared_at=now,
                reference=reference,
                messages=[build_utilmd(message)],
            )
        )
        message_row = store_outbound(
            session,
            request.business_key,
            raw,
            tenant_id=tenant.id,
            message_type="UTILMD",
            pruefidentifikator=pid,
            sender=sender,
            receiver=receiver,
            interchange_ref=reference,
            document_number=message.document_number,
            transaction_id=message.transaction_id,
            malo_id=location.malo_id,
            workflow_id=request.workflow_id,
            answer_due_at=answer_deadline(utcnow(), exchange(request.kind, division).answer_hour),
        )
        session.commit()
        return message_row

    def _supply(
        self,
        request: SendUtilmd,
        contract: Contract,
        customer: Customer,
        location: MarketLocation,
        sender: str,
        receiver: str,
        pid: str,
        now: datetime,
    ) -> UtilmdMessage:
        """Registration, cancellation or deregistration of the contract's supply."""
        division = contract.division
        supply_instant = day_start(request.start, division)
        return UtilmdMessage(
            division=Division(division),
            association=ASSOCIATION[division],
            pruefidentifikator=pid,
            message_reference=new_reference(14),
            category={"cancellation": "E35", "registration": "E01", "deregistration": "E02"}[request.kind],
            document_number=new_reference(20),
            document_date=now,
            sender=sender,
            receiver=receiver,
            sender_code_list=NAD_CODE_LIST[division],
            receiver_code_list=NAD_CODE_LIST[division],
            transaction_id=new_reference(32),
            transaction_reason=request.transaction_reason or contract.transaction_reason,
            malo_id=location.malo_id,
            start=supply_instant if request.kind == "registration" else None,
            end=supply_instant
            if (request.kind == "cancellation" and division == "strom") or request.kind == "deregistration"
            else None,
            end_at=supply_instant if request.kind == "cancellation" and division == "gas" else None,
            annual_consumption_kwh=contract.annual_consumption_kwh if request.kind == "registration" else None,
            customer=UtilmdParty(
                last_name=customer.last_name or None,
                first_name=customer.first_name or None,
                company=customer.company or None,
            )
            if request.kind != "deregistration"
            else None,
            customer_address=UtilmdParty(
                street=location.street or None,
                house_number=location.house_number or None,
                postcode=location.postcode or None,
                city=location.city or None,
                country="DE",
            )
            if request.kind == "registration"
            else None,
        )

    def _master_data(
        self,
        request: SendUtilmd,
        location: MarketLocation,
        sender: str,
        receiver: str,
        division: str,
        pid: str,
        now: datetime,
    ) -> UtilmdMessage:
        """55109: the customer's name (NAD+Z09) and correspondence address (NAD+Z04) valid from DTM+157."""
        data = request.customer_data or {}
        return UtilmdMessage(
            division=Division(division),
            association=ASSOCIATION[division],
            pruefidentifikator=pid,
            message_reference=new_reference(14),
            category="E03",
            document_number=new_reference(20),
            document_date=now,
            sender=sender,
            receiver=receiver,
            sender_code_list=NAD_CODE_LIST[division],
            receiver_code_list=NAD_CODE_LIST[division],
            transaction_id=new_reference(32),
            transaction_reason="ZX6",
            transaction_reason_details=["ZW4"],
            malo_id=location.malo_id,
            valid_from=day_start(request.start, division),
            customer=UtilmdParty(
                last_name=data.get("last_name") or None,
                first_name=data.get("first_name") or None,
                company=data.get("company") or None,
            ),
            customer_address=UtilmdParty(
                last_name=data.get("last_name") or None,
                first_name=data.get("first_name") or None,
                company=data.get("company") or None,
                street=data.get("street") or None,
                house_number=data.get("house_number") or None,
                postcode=data.get("postcode") or None,
                city=data.get("city") or None,
                country="DE",
            ),
        )


class AnswerActivities:
    """Answers to a partner's UTILMD request, built from the request itself (parties swapped, RFF+TN)."""

    def __init__(self, engine: Engine, transport: DropFolderTransport) -> None:
        self.engine = engine
        self.transport = transport

    @activity.defn
    def answer_request(self, answer: AnswerRequest) -> SentMessage:
        """Build, store and send the answer once per business key; a retry sends the stored one again."""
        with Session(self.engine) as session:
            message = session.exec(
                select(MarketMessage).where(MarketMessage.business_key == answer.business_key)
            ).first()
            if message is None:
                message = self._store(session, answer)
            assert message.id is not None and message.receiver and message.interchange_ref and message.tenant_id
            self.transport.send(message.tenant_id, message.receiver, message.interchange_ref, message.raw)
            if message.state != MessageState.SENT:
                message.state, message.processed_at = MessageState.SENT, utcnow()
                session.add(message)
                session.commit()
            log.info("market answer sent", tenant=message.tenant_id, pruefidentifikator=message.pruefidentifikator)
            return SentMessage(
                message_id=message.id,
                transaction_id=message.transaction_id or "",
                pruefidentifikator=message.pruefidentifikator or answer.pruefidentifikator,
                receiver=message.receiver,
                sent_at=message.created_at,
            )

    def _store(self, session: Session, answer: AnswerRequest) -> MarketMessage:
        row = session.get(MarketMessage, answer.request_message_id)
        if row is None:
            raise business_error(f"market message {answer.request_message_id} does not exist", "UnknownRequest")
        requests = [parse_utilmd(raw) for raw in parse_interchange(row.raw).messages if raw.type == "UTILMD"]
        request = next((m for m in requests if m.transaction_id == answer.request_transaction), None)
        if request is None:
            raise business_error(
                f"message {row.id} holds no UTILMD transaction {answer.request_transaction}", "UnknownRequest"
            )
        division = request.division.value
        end = day_start(answer.end, division) if answer.end else None
        reply = reply_to(
            request,
            answer.pruefidentifikator,
            utcnow(),
            answer_code=answer.answer_code,
            answer_code_list=answer.answer_code_list,
            end_at=end if answer.pruefidentifikator in END_AT_ANSWERS else None,
            end=None if answer.pruefidentifikator in END_AT_ANSWERS else end,
            next_possible_date=day_start(answer.next_possible_date, division) if answer.next_possible_date else None,
            notice_period=answer.notice_period,
            valid_from=day_start(answer.valid_from, division) if answer.valid_from else None,
            annual_consumption_kwh=answer.annual_consumption_kwh,
            malo_id=None,  # an answer names its request (RFF+TN), not the location again
        )
        raw = reply_interchange(reply, utcnow())
        reference = parse_interchange(raw).reference
        store_outbound(
            session,
            answer.business_key,
            raw,
            tenant_id=row.tenant_id,
            message_type="UTILMD",
            pruefidentifikator=answer.pruefidentifikator,
            sender=reply.sender,
            receiver=reply.receiver,
            interchange_ref=reference,
            document_number=reply.document_number,
            transaction_id=reply.transaction_id,
            reference_transaction=request.transaction_id,
            malo_id=request.malo_id,
            workflow_id=answer.workflow_id,
            in_reply_to_id=row.id,
        )
        if row.answered_at is None:
            row.answered_at = utcnow()
            session.add(row)
        session.commit()
        return session.exec(select(MarketMessage).where(MarketMessage.business_key == answer.business_key)).one()
