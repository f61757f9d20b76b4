"""Billing work run by the billing-run and bill-release processes."""

from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session
from temporalio import activity

from activities.errors import business_error
from core.logging import get_logger
from models.billing import Bill, BillKind
from models.documents import Document
from models.process import (
    BillCorrectionInput,
    BillCorrectionOutcome,
    BillDecisionInput,
    BillDecisionOutcome,
    BillingChunk,
    ChunkResult,
    DeliveryPage,
    DuePage,
    FinalBillRequest,
    TenantDay,
)
from services import bill_decisions
from services.bill_document import render_correction_letter
from services.billing import BillingResult, Outcome, bill_contracts, count_due, due_contract_ids
from services.delivery import deliver_bill, deliver_document
from services.instalments import request_due_instalments
from services.reading_requests import Transport, queue_reading_requests, send_queued_requests

log = get_logger()
BATCH = 100
"""Contracts per transaction inside a chunk: a retried chunk redoes at most this many (they are skipped)."""


class BillingActivities:
    def __init__(self, engine: Engine, customer_outbox: Path, transport: Transport) -> None:
        self.engine = engine
        self.outbox = customer_outbox
        self.transport = transport

    @activity.defn
    def request_readings(self, request: TenantDay) -> int:
        """Ask the metering operators for the readings missing for due bills (ORDERS 17102), each once."""
        total = 0
        while True:
            with Session(self.engine) as session:
                queued = queue_reading_requests(session, request.tenant_id, request.on)
                session.commit()
            total += queued
            if not queued:
                break
            activity.heartbeat(total)
        with Session(self.engine) as session:
            send_queued_requests(session, request.tenant_id, self.transport)
            session.commit()
        return total

    @activity.defn
    def request_instalments(self, request: TenantDay) -> int:
        """Book the instalment requests due within two weeks, in committed batches; returns how many."""
        total = 0
        while True:
            with Session(self.engine) as session:
                booked = request_due_instalments(session, request.tenant_id, request.on, limit=2000)
                session.commit()
            if not booked:
                return total
            total += booked
            activity.heartbeat(total)

    @activity.defn
    def count_due(self, page: DuePage) -> int:
        with Session(self.engine) as session:
            return count_due(session, page.tenant_id, page.on)

    @activity.defn
    def due_contracts(self, page: DuePage) -> list[int]:
        with Session(self.engine) as session:
            return due_contract_ids(session, page.tenant_id, page.on, page.after_id, page.limit)

    @activity.defn
    def bill_chunk(self, chunk: BillingChunk) -> ChunkResult:
        """Bill the chunk in batches, each committed; heartbeats report progress, a retry skips what is done."""
        result = ChunkResult()
        ids = chunk.contract_ids
        for start in range(0, len(ids), BATCH):
            with Session(self.engine) as session:
                outcomes = bill_contracts(session, chunk.tenant_id, ids[start : start + BATCH], chunk.on, chunk.run_id)
                session.commit()
            for outcome in outcomes:
                if outcome.outcome is Outcome.BILLED:
                    result.billed += 1
                elif outcome.outcome is Outcome.HELD and outcome.bill_id is not None:
                    result.held_bill_ids.append(outcome.bill_id)
                else:
                    result.failed += 1
            activity.heartbeat(start + BATCH)
        log.info("billing chunk", run=chunk.run_id, contracts=len(ids), billed=result.billed, failed=result.failed)
        return result

    @activity.defn
    def final_bill(self, request: FinalBillRequest) -> BillingResult:
        """The final bill once the final reading is there (the supply-end process calls it); once per contract."""
        with Session(self.engine) as session:
            [result] = bill_contracts(
                session,
                request.tenant_id,
                [request.contract_id],
                request.on,
                f"final:{request.contract_id}",
                BillKind.FINAL,
            )
            session.commit()
        if result.outcome is Outcome.BILLED and result.bill_id is not None:
            self._deliver(result.bill_id)
        return result

    @activity.defn
    def correct_bill(self, request: BillCorrectionInput) -> BillCorrectionOutcome:
        """Cancel the bill and bill its period again in one transaction (a failed rebill cancels nothing)."""
        with Session(self.engine) as session:
            bill = session.get(Bill, request.bill_id)
            if bill is None or bill.tenant_id != request.tenant_id:
                raise business_error(f"bill {request.bill_id} does not exist", "BillRefused")
            try:
                cancellation, result = bill_decisions.rebill(
                    session, request.bill_id, request.on, request.reason, request.requested_by
                )
            except (bill_decisions.BillRefused, ValueError) as refused:
                raise business_error(str(refused), "BillRefused") from refused
            session.commit()
            new = session.get(Bill, result.bill_id)
            assert new is not None and new.id is not None and cancellation.id is not None and cancellation.number
            return BillCorrectionOutcome(
                cancellation_id=cancellation.id,
                cancellation_number=cancellation.number,
                new_bill_id=new.id,
                new_state=new.state,
            )

    @activity.defn
    def correction_documents(self, outcome: BillCorrectionOutcome) -> None:
        """Deliver the cancellation, and once booked the new bill with the letter explaining the difference."""
        self._deliver(outcome.cancellation_id)
        if outcome.new_state != "booked":
            return
        self._deliver(outcome.new_bill_id)
        with Session(self.engine) as session:
            cancellation = session.get(Bill, outcome.cancellation_id)
            new = session.get(Bill, outcome.new_bill_id)
            assert cancellation is not None and cancellation.cancellation_of_id is not None and new is not None
            letter_id = render_correction_letter(session, cancellation.cancellation_of_id, outcome.new_bill_id)
            letter = session.get(Document, letter_id)
            assert letter is not None
            deliver_document(
                session, letter, self.outbox, f"{new.tenant_id}-{new.number}-korrektur", "Korrektur Ihrer Rechnung"
            )
            session.commit()

    @activity.defn
    def deliver_bills(self, page: DeliveryPage) -> int:
        """Render and deliver up to ``limit`` booked bills of the run not yet delivered; returns how many."""
        with Session(self.engine) as session:
            ids = session.execute(
                text(
                    "SELECT id FROM bill WHERE tenant_id = :tenant AND run_id = :run AND state = 'booked'"
                    " AND delivered_at IS NULL ORDER BY id LIMIT :limit"
                ),
                {"tenant": page.tenant_id, "run": page.run_id, "limit": page.limit},
            ).scalars()
            bill_ids = list(ids)
        for done, bill_id in enumerate(bill_ids, start=1):
            self._deliver(bill_id)
            activity.heartbeat(done)
        return len(bill_ids)

    @activity.defn
    def deliver_bill(self, bill_id: int) -> None:
        self._deliver(bill_id)

    def _deliver(self, bill_id: int) -> None:
        with Session(self.engine) as session:
            deliver_bill(session, bill_id, self.outbox)
            session.commit()

    @activity.defn
    def release_bill(self, decision: BillDecisionInput) -> BillDecisionOutcome:
        return self._decide(decision, "release")

    @activity.defn
    def drop_bill(self, decision: BillDecisionInput) -> BillDecisionOutcome:
        return self._decide(decision, "cancel")

    @activity.defn
    def correct_bill_reading(self, decision: BillDecisionInput) -> BillDecisionOutcome:
        return self._decide(decision, "correct_reading")

    def _decide(self, decision: BillDecisionInput, what: str) -> BillDecisionOutcome:
        """Apply a clerk's decision once: a retry after the commit finds the bill already decided."""
        with Session(self.engine) as session:
            bill = session.get(Bill, decision.bill_id)
            if bill is None:
                raise business_error(f"bill {decision.bill_id} does not exist", "BillRefused")
            if bill.state != "held":
                return self._after_retry(session, bill, what)
            try:
                if what == "release":
                    bill = bill_decisions.release(session, decision.bill_id, decision.on, decision.decided_by)
                elif what == "cancel":
                    bill = bill_decisions.drop(session, decision.bill_id, decision.decided_by)
                else:
                    if decision.value is None or decision.day is None:
                        raise bill_decisions.BillRefused("a corrected reading needs its value and day")
                    result = bill_decisions.correct_reading(
                        session, decision.bill_id, decision.value, decision.day, decision.on, decision.decided_by
                    )
                    if result.bill_id is None:
                        raise bill_decisions.BillRefused(f"the bill cannot be computed: {result.reason}")
                    new = session.get(Bill, result.bill_id)
                    assert new is not None
                    bill = new
            except bill_decisions.BillRefused as refused:
                raise business_error(str(refused), "BillRefused") from refused
            session.commit()
            assert bill.id is not None
            return BillDecisionOutcome(bill_id=bill.id, state=bill.state, hold_reasons=bill.hold_reasons)

    @staticmethod
    def _after_retry(session: Session, bill: Bill, what: str) -> BillDecisionOutcome:
        """The decision was committed before a retry: report its result instead of refusing."""
        assert bill.id is not None
        if what == "correct_reading":
            newer = session.execute(
                text("SELECT id FROM bill WHERE run_id = :run ORDER BY id DESC LIMIT 1"),
                {"run": f"correction:{bill.id}"},
            ).scalar_one_or_none()
            if newer is not None:
                new = session.get(Bill, newer)
                assert new is not None
                return BillDecisionOutcome(bill_id=newer, state=new.state, hold_reasons=new.hold_reasons)
        return BillDecisionOutcome(bill_id=bill.id, state=bill.state, hold_reasons=bill.hold_reasons)
