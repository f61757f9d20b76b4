"""Processing one stored inbound interchange: check, answer (CONTRL/APERAK), store readings, route answers."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from activities.readings import Reading, clear_readings, copy_profiles, copy_readings, waiting_processes
from activities.replies import Replies
from core.logging import get_logger
from edifact.aperak import AperakError, parse_aperak
from edifact.contrl import parse_contrl
from edifact.envelope import Interchange, RawMessage
from edifact.errors import EdifactContentError
from edifact.generic import parse_generic
from edifact.invoic import parse_invoic
from edifact.mscons import MsconsMessage, iter_readings, parse_mscons
from edifact.ordrsp import parse_ordrsp
from edifact.profile import ProfileSeries, leading_segments, read_profile
from edifact.pruefidentifikatoren import PRUEFIDENTIFIKATOREN, is_published
from edifact.remadv import parse_remadv
from edifact.utilmd import UtilmdMessage, parse_utilmd
from models.base import utcnow
from models.contracts import Contract, MarketLocation, Meter
from models.messages import Direction, MarketMessage
from models.process import (
    Delivery,
    GridInvoiceCase,
    GridMasterDataCase,
    MarketAnswer,
    ProcessStart,
    ReadingsArrived,
    ReadingsDelivery,
    StartProcess,
)
from rules.calendar import BERLIN, supply_date_from_instant
from rules.market_processes import FINAL_ANSWERS, PARTNER_REQUESTS, SUPPLIER_RECEIVES
from rules.master_data import GRID_MASTER_DATA
from services import grid_invoices, grid_master_data

log = get_logger()
HEADER_SEGMENTS = 30
READING_BATCH = 50_000
"""Readings are copied to the database in batches of this size."""
ROUTED_BY_REFERENCE = frozenset(
    {"55002", "55003", "55017", "55018", "55036", "44002", "44003", "44017", "44018", "44036"}
    | {"55005", "55006", "44005", "44006"}
    | {"55137"}
)
"""Answers that go to the process that sent the request (matched by RFF+TN)."""


@dataclass
class Outcome:
    deliveries: list[Delivery] = field(default_factory=list)
    readings: list[ReadingsDelivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """Content errors answered with a negative APERAK."""
    starts: list[StartProcess] = field(default_factory=list)
    """Processes the interchange starts (a grid operator's invoice)."""


class InboundProcessing:
    """One pass over a parsed interchange of one tenant; replies are collected and sent at the end."""

    def __init__(self, session: Session, row: MarketMessage, envelope: Interchange, replies: Replies) -> None:
        """``envelope`` is the interchange header (its messages come to ``run`` one at a time)."""
        assert row.id is not None and row.tenant_id is not None
        self.session = session
        self.row = row
        self.message_id = row.id
        self.tenant_id = row.tenant_id
        self.interchange = envelope
        self.replies = replies
        self.gas = "502" in (envelope.sender.qualifier, envelope.receiver.qualifier)
        self.outcome = Outcome()
        self.types: set[str] = set()
        self.count = 0
        self.readings: list[Reading] = []
        self.profiles: list[ProfileSeries] = []
        self.spans: dict[str, _Span] = {}
        self.known: dict[str, bool] = {}
        self.stored = 0

    def run(self, messages: Iterable[RawMessage]) -> Outcome:
        clear_readings(self.session, self.message_id)
        for raw in messages:
            self.count += 1
            self.types.add(raw.type)
            try:
                self._message(raw)
            except EdifactContentError as error:
                self._reject(raw, [AperakError(code="Z29", text=str(error)[:512])], str(error))
            if len(self.readings) >= READING_BATCH or len(self.profiles) >= READING_BATCH // 100:
                self._flush()
        self._flush()
        if self.stored:
            log.info("readings stored", tenant=self.tenant_id, message_id=self.message_id, count=self.stored)
            self._deliver_readings()
        if not self.gas:
            self.replies.send_aperaks(self.interchange)
        elif "CONTRL" not in self.types:
            self.replies.send_aperaks(self.interchange)
            self.replies.acknowledge(self.interchange)
        return self.outcome

    # ---------------------------------------------------------------- per message type

    def _message(self, raw: RawMessage) -> None:
        handler = {
            "UTILMD": self._utilmd,
            "MSCONS": self._mscons,
            "INVOIC": self._invoice,
            "REMADV": self._invoice,
            "ORDRSP": self._ordrsp,
            "APERAK": self._aperak,
            "CONTRL": self._contrl,
        }.get(raw.type, self._unsupported)
        pid = _pruefidentifikator(raw)
        if pid is not None and raw.type in PRUEFIDENTIFIKATOREN and not is_published(raw.type, pid):
            problem = f"Prüfidentifikator {pid} is not a published {raw.type} Prüfidentifikator"
            self._reject(raw, [AperakError(code="Z39", text=problem)], problem)
            return
        handler(raw)

    def _utilmd(self, raw: RawMessage) -> None:
        message = parse_utilmd(raw)
        self._describe(message.pruefidentifikator, message.document_number, message.malo_id)
        self.row.transaction_id = self.row.transaction_id or message.transaction_id
        self.row.reference_transaction = self.row.reference_transaction or message.reference_transaction
        if message.pruefidentifikator not in SUPPLIER_RECEIVES:
            error = f"Prüfidentifikator {message.pruefidentifikator} is not processed by a supplier"
            self._reject_message(raw, message, "Z31", error)
            return
        if message.pruefidentifikator in PARTNER_REQUESTS:
            self._accept(message)
            self.outcome.deliveries.append(self._start(message))
            return
        if message.pruefidentifikator in GRID_MASTER_DATA:
            self._accept(message)
            self._grid_master_data(message)
            return
        if message.pruefidentifikator not in ROUTED_BY_REFERENCE:
            self._accept(message)
            self.outcome.problems.append(f"{message.pruefidentifikator}: no process handles it yet")
            return
        delivery = self._route(message)
        if delivery.workflow_id is None and delivery.problem and "no request" in delivery.problem:
            self._reject_message(raw, message, "Z33", delivery.problem)
        else:
            self._accept(message)
        self.outcome.deliveries.append(delivery)

    def _grid_master_data(self, message: UtilmdMessage) -> None:
        """The grid operator's master data of a MaLo: kept the same day; what differs from ours goes to a clerk."""
        if not message.malo_id:
            self.outcome.problems.append(f"{message.pruefidentifikator}: the message names no MaLo")
            return
        row = grid_master_data.store(self.session, self.tenant_id, self.message_id, message)
        if row is None:
            self.outcome.problems.append(f"{message.pruefidentifikator}: MaLo {message.malo_id} is not supplied by us")
            return
        if row.state != "clearing" or row.id is None:
            return
        workflow_id = f"grid-master-data/{self.tenant_id}/{row.id}"
        row.workflow_id = workflow_id
        self.session.add(row)
        self.row.workflow_id = self.row.workflow_id or workflow_id
        self.outcome.starts.append(
            StartProcess(
                workflow="GridMasterDataWorkflow",
                workflow_id=workflow_id,
                input=GridMasterDataCase(tenant_id=self.tenant_id, record_id=row.id).model_dump(mode="json"),
            )
        )

    def _mscons(self, raw: RawMessage) -> None:
        series = read_profile(raw)
        if series is not None:
            self._profile(raw, series)
            return
        message = parse_mscons(raw)
        locations = [location.location_id for location in message.locations]
        self._describe(message.pruefidentifikator, message.document_number, _first_malo(locations))
        unknown = sorted(loc for loc in set(locations) if not self._is_known(loc))
        if unknown:
            self._reject_message(raw, message, "Z10", f"location {', '.join(unknown)} is not supplied by us")
            return
        pid = message.pruefidentifikator
        for r in iter_readings(message):
            self._note(r.location_id, r.period_start or r.at, r.at, 1, pid)
            self.readings.append(
                Reading(
                    r.location_id,
                    r.meter_number,
                    r.obis,
                    r.quantity,
                    r.quality,
                    r.unit,
                    r.at,
                    r.period_start,
                    r.statuses,
                    pid,
                )
            )
        self._accept(message)

    def _profile(self, raw: RawMessage, series: ProfileSeries) -> None:
        """A regular load profile: stored as one series row; the APERAK needs only the message header."""
        self._describe(series.pruefidentifikator, series.document_number, _first_malo([series.location_id]))
        if not self._is_known(series.location_id):
            self._reject_message(raw, series, "Z10", f"location {series.location_id} is not supplied by us")
            return
        self._note(series.location_id, series.start, series.end, len(series.values), series.pruefidentifikator)
        self.profiles.append(series)
        self._accept(series)

    def _note(self, location_id: str, first: datetime, last: datetime, count: int, pid: str) -> None:
        span = self.spans.get(location_id)
        if span is None:
            self.spans[location_id] = _Span(count, first, last, pid)
        else:
            span.count += count
            span.first, span.last = min(span.first, first), max(span.last, last)

    def _flush(self) -> None:
        if self.readings:
            self.stored += copy_readings(self.session, self.tenant_id, self.message_id, self.readings)
            self.readings = []
        if self.profiles:
            self.stored += copy_profiles(self.session, self.tenant_id, self.message_id, self.profiles)
            self.profiles = []

    def _invoice(self, raw: RawMessage) -> None:
        """A grid operator's invoice is stored and checked by its own process; a REMADV is not expected here."""
        if raw.type == "REMADV":
            remadv = parse_remadv(raw)
            self._describe(remadv.pruefidentifikator, remadv.document_number, None)
            self._accept(remadv)
            self.outcome.problems.append(f"REMADV {remadv.document_number}: no process handles it yet")
            return
        invoice = parse_invoic(raw)
        self._describe(invoice.pruefidentifikator, invoice.document_number, invoice.malo_id)
        self._accept(invoice)
        received_on = utcnow().astimezone(BERLIN).date()
        row = grid_invoices.store(self.session, self.tenant_id, self.message_id, invoice, received_on, self.gas)
        assert row.id is not None and row.workflow_id is not None
        self.row.workflow_id = self.row.workflow_id or row.workflow_id
        self.outcome.starts.append(
            StartProcess(
                workflow="GridInvoiceWorkflow",
                workflow_id=row.workflow_id,
                input=GridInvoiceCase(tenant_id=self.tenant_id, invoice_id=row.id).model_dump(mode="json"),
            )
        )

    def _ordrsp(self, raw: RawMessage) -> None:
        """An answer to our ORDERS (RFF+ON: the order's document number) goes to the process that ordered."""
        message = parse_ordrsp(raw)
        self._describe(message.pruefidentifikator, message.document_number, None)
        self._accept(message)
        order = self.session.exec(
            select(MarketMessage).where(
                MarketMessage.tenant_id == self.tenant_id,
                MarketMessage.direction == Direction.OUTBOUND,
                MarketMessage.message_type == "ORDERS",
                MarketMessage.document_number == message.order_reference,
            )
        ).first()
        answer = MarketAnswer(
            message_id=self.message_id,
            pruefidentifikator=message.pruefidentifikator,
            sender=message.sender,
            reference_transaction=message.order_reference,
            answer_code=message.answer_code,
            answer_code_list=message.answer_code_list,
            free_text=message.answer_text,
        )
        if order is None or order.workflow_id is None:
            problem = f"ORDRSP {message.document_number}: no order {message.order_reference} of ours awaits it"
            self.outcome.deliveries.append(Delivery(workflow_id=None, answer=answer, problem=problem))
            return
        self.row.in_reply_to_id = self.row.in_reply_to_id or order.id
        self.row.workflow_id = self.row.workflow_id or order.workflow_id
        self.outcome.deliveries.append(Delivery(workflow_id=order.workflow_id, answer=answer))

    def _aperak(self, raw: RawMessage) -> None:
        message = parse_aperak(raw)
        self._describe(None, message.document_number, None)
        request = self._our_interchange(message.referenced_interchange)
        if message.category == "313":
            codes = ", ".join(f"{e.code} {e.text or ''}".strip() for e in message.errors)
            self.outcome.problems.append(f"APERAK: our interchange {message.referenced_interchange} rejected: {codes}")
            if request is not None:
                request.error = f"APERAK {codes}"
                self.session.add(request)

    def _contrl(self, raw: RawMessage) -> None:
        message = parse_contrl(raw, self.interchange)
        self._describe(None, None, None)
        request = self._our_interchange(message.interchange_reference)
        if message.rejected:
            problem = f"CONTRL: our interchange {message.interchange_reference} rejected ({message.error_code})"
            self.outcome.problems.append(problem)
            if request is not None:
                request.error = problem
                self.session.add(request)

    def _unsupported(self, raw: RawMessage) -> None:
        message = parse_generic(raw)
        self._describe(message.pruefidentifikator, message.document_number, None)
        self.outcome.problems.append(f"{raw.type} {message.pruefidentifikator or ''}: no process handles it yet")

    # ---------------------------------------------------------------- helpers

    def _describe(self, pruefidentifikator: str | None, document_number: str | None, malo_id: str | None) -> None:
        """The interchange row shows its first message."""
        row = self.row
        row.message_type = row.message_type or next(iter(self.types))
        row.pruefidentifikator = row.pruefidentifikator or pruefidentifikator
        row.document_number = row.document_number or document_number
        row.malo_id = row.malo_id or malo_id

    def _accept(self, message: UtilmdMessage | MsconsMessage | object) -> None:
        if not self.gas:
            self.replies.accept(self.interchange, message)  # type: ignore[arg-type]

    def _reject_message(self, raw: RawMessage, message: object, code: str, problem: str) -> None:
        self.replies.reject(self.interchange, message, [AperakError(code=code, text=problem[:512])])  # type: ignore[arg-type]
        self.outcome.rejected.append(f"{raw.type} {raw.reference}: {code} {problem}")

    def _reject(self, raw: RawMessage, errors: list[AperakError], problem: str) -> None:
        """A message that does not even parse: APERAK from its header fields."""
        header = parse_generic(raw)
        if header.sender and header.receiver and header.document_number:
            self.replies.reject(self.interchange, _Header.of(header, self.interchange), errors)
        self.outcome.rejected.append(f"{raw.type} {raw.reference}: {problem}")

    def _route(self, m: UtilmdMessage) -> Delivery:
        answer = to_answer(self.message_id, m)
        if not m.reference_transaction:
            return Delivery(workflow_id=None, answer=answer, problem="the message references no request (RFF+TN)")
        request = self.session.exec(
            select(MarketMessage).where(
                MarketMessage.tenant_id == self.tenant_id,
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
        self.row.in_reply_to_id = self.row.in_reply_to_id or request.id
        self.row.workflow_id = self.row.workflow_id or request.workflow_id
        if answer.pruefidentifikator in FINAL_ANSWERS and request.answered_at is None:
            request.answered_at = utcnow()
            self.session.add(request)
        return Delivery(workflow_id=request.workflow_id, answer=answer)

    def _start(self, m: UtilmdMessage) -> Delivery:
        """A partner's request starts its process, keyed by the request's transaction (or, when the grid operator
        ended our assignment, moves on the supply end of the contract at that MaLo)."""
        answer = to_answer(self.message_id, m)
        process = PARTNER_REQUESTS[m.pruefidentifikator].process
        if process == "assignment_ended":
            contract = self._supplied_contract(m.malo_id)
            if contract is None or answer.end is None:
                problem = f"no contract of ours supplies MaLo {m.malo_id}" if contract is None else "no end date"
                return Delivery(workflow_id=None, answer=answer, problem=problem)
            workflow_id = f"supply-end/{self.tenant_id}/{contract.contract_number}"
            self.row.workflow_id = self.row.workflow_id or workflow_id
            start = ProcessStart(
                workflow="SupplyEndWorkflow",
                input={
                    "contract_id": contract.id,
                    "end": answer.end.isoformat(),
                    "reason": "switch",
                    "deregister": False,
                },
            )
            return Delivery(workflow_id=workflow_id, answer=answer, start=start)
        workflow_id = f"{process.replace('_', '-')}/{self.tenant_id}/{m.transaction_id}"
        self.row.workflow_id = self.row.workflow_id or workflow_id
        workflow = "".join(part.title() for part in process.split("_")) + "Workflow"
        start = ProcessStart(workflow=workflow, input={"tenant_id": self.tenant_id, "malo_id": m.malo_id})
        return Delivery(workflow_id=workflow_id, answer=answer, start=start)

    def _supplied_contract(self, malo_id: str | None) -> Contract | None:
        """The tenant's contract supplying the MaLo (the newest one that has started)."""
        return self.session.exec(
            select(Contract)
            .join(MarketLocation, col(MarketLocation.id) == col(Contract.location_id))
            .where(
                Contract.tenant_id == self.tenant_id,
                MarketLocation.malo_id == malo_id,
                col(Contract.supply_start).is_not(None),
            )
            .order_by(col(Contract.supply_start).desc())
        ).first()

    def _our_interchange(self, reference: str | None) -> MarketMessage | None:
        if not reference:
            return None
        request = self.session.exec(
            select(MarketMessage).where(
                MarketMessage.tenant_id == self.tenant_id,
                MarketMessage.direction == Direction.OUTBOUND,
                MarketMessage.interchange_ref == reference,
            )
        ).first()
        if request is not None:
            self.row.in_reply_to_id = self.row.in_reply_to_id or request.id
        return request

    def _is_known(self, location_id: str) -> bool:
        """A MaLo or MeLo of this tenant (remembered for the rest of the interchange)."""
        known = self.known.get(location_id)
        if known is None:
            malo = self.session.exec(
                select(MarketLocation.id).where(
                    MarketLocation.tenant_id == self.tenant_id, MarketLocation.malo_id == location_id
                )
            ).first()
            melo = (
                None
                if malo
                else self.session.exec(
                    select(Meter.id).where(Meter.tenant_id == self.tenant_id, Meter.melo_id == location_id)
                ).first()
            )
            known = self.known[location_id] = bool(malo or melo)
        return known

    def _deliver_readings(self) -> None:
        waiting = waiting_processes(self.session, self.tenant_id, self.spans)
        for location_id, span in self.spans.items():
            arrived = ReadingsArrived(
                message_id=self.message_id,
                location_id=location_id,
                pruefidentifikator=span.pruefidentifikator,
                count=span.count,
                first_at=span.first,
                last_at=span.last,
            )
            for workflow_id in waiting.get(location_id, []):
                self.outcome.readings.append(ReadingsDelivery(workflow_id=workflow_id, readings=arrived))


@dataclass
class _Span:
    count: int
    first: datetime
    last: datetime
    pruefidentifikator: str


@dataclass
class _Header:
    """Enough of a message that failed to parse to address an APERAK to its sender."""

    sender: str
    receiver: str
    sender_code_list: str
    receiver_code_list: str
    message_reference: str
    document_number: str

    @classmethod
    def of(cls, header: object, interchange: Interchange) -> "_Header":
        code = "332" if interchange.sender.qualifier == "502" else "293"
        return cls(
            sender=getattr(header, "sender", "") or interchange.sender.id,
            receiver=getattr(header, "receiver", "") or interchange.receiver.id,
            sender_code_list=code,
            receiver_code_list=code,
            message_reference=getattr(header, "message_reference", ""),
            document_number=getattr(header, "document_number", "") or "",
        )


def _pruefidentifikator(raw: RawMessage) -> str | None:
    """RFF+Z13 from the message header (it comes before the first position)."""
    for segment in leading_segments(raw, HEADER_SEGMENTS):
        element = segment.elements[0] if segment.tag == "RFF" and segment.elements else None
        if isinstance(element, list) and element[0] == "Z13" and len(element) > 1:
            return element[1]
    return None


def _first_malo(location_ids: list[str]) -> str | None:
    return next((loc for loc in location_ids if len(loc) == 11), None)


def to_answer(message_id: int, m: UtilmdMessage) -> MarketAnswer:
    division = m.division.value

    def day(instant: object) -> object:
        return supply_date_from_instant(instant, division) if instant else None  # type: ignore[arg-type]

    return MarketAnswer(
        message_id=message_id,
        pruefidentifikator=m.pruefidentifikator,
        sender=m.sender,
        transaction_id=m.transaction_id,
        reference_transaction=m.reference_transaction,
        malo_id=m.malo_id,
        answer_code=m.answer_code,
        answer_code_list=m.answer_code_list,
        start=day(m.start),
        end=day(m.end_at or m.end),
        next_possible_date=day(m.next_possible_date or m.next_processing_date),
        free_text=m.free_text,
        previous_supplier=m.previous_supplier,
        annual_consumption_kwh=m.annual_consumption_kwh,
    )
