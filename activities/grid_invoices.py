"""The grid-invoice process's steps: check, decide (book or reject) and answer with REMADV, pay on the due date."""

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.errors import business_error
from activities.market import DropFolderTransport
from models.base import utcnow
from models.grid_invoices import GridInvoice, InvoiceState
from models.messages import MessageState
from models.process import GridInvoiceCase, InvoiceCheck, InvoiceDecision, PayDue
from rules import grid_invoices as rules
from services import grid_invoices, remittance

DECIDED = (InvoiceState.ACCEPTED, InvoiceState.REJECTED, InvoiceState.PAID, InvoiceState.CANCELLED)


class GridInvoiceActivities:
    def __init__(self, engine: Engine, transport: DropFolderTransport) -> None:
        self.engine = engine
        self.transport = transport

    @activity.defn
    def check_invoice(self, case: GridInvoiceCase) -> InvoiceCheck:
        """The verdict of the decision tree on the stored invoice (the same again once decided)."""
        with Session(self.engine) as session:
            row = _row(session, case.invoice_id)
            invoice = grid_invoices.message_of(row)
            if invoice.is_storno:
                original = grid_invoices.cancelled_invoice(session, row)
                verdict = rules.check_storno(invoice, original.state if original else None)
            elif row.pruefidentifikator not in rules.CHECKED_PIDS:
                verdict = rules.Verdict("clearing", text=f"Keine automatische Prüfung für {row.pruefidentifikator}.")
            elif invoice.prepayments:
                verdict = rules.Verdict("clearing", text="Rechnung mit Vorauszahlungen: bitte von Hand prüfen.")
            else:
                verdict = rules.check(invoice, grid_invoices.facts(session, row))
            return InvoiceCheck(
                invoice_id=case.invoice_id,
                outcome=verdict.outcome,
                code=verdict.code,
                code_list=verdict.code_list,
                text=verdict.text,
                position=verdict.position,
                notes={k: v if isinstance(v, str | int | float | None) else str(v) for k, v in verdict.notes.items()},
                storno=invoice.is_storno,
                due_date=row.due_date,
                answer_by=rules.answer_due(row.due_date) if row.due_date else None,
                invoice_number=row.invoice_number,
                partner_id=row.partner_id,
                pruefidentifikator=row.pruefidentifikator,
                malo_id=row.malo_id,
            )

    @activity.defn
    def hold_for_clearing(self, check: InvoiceCheck) -> None:
        with Session(self.engine) as session:
            row = _row(session, check.invoice_id, lock=True)
            if row.state == InvoiceState.RECEIVED:
                row.state = InvoiceState.CLEARING
                row.details = row.details | {"check": check.notes | {"outcome": "clearing", "text": check.text}}
                session.add(row)
                session.commit()

    @activity.defn
    def decide_invoice(self, decision: InvoiceDecision) -> str:
        """Book (or reverse, for a Storno) or reject, and send the REMADV; once: a retry sends the stored answer."""
        check = decision.check
        verdict = rules.Verdict(check.outcome, check.code, check.code_list, check.text, check.position, check.notes)
        with Session(self.engine) as session:
            row = _row(session, check.invoice_id, lock=True)
            if row.state not in DECIDED:
                if check.outcome == "accept" and check.storno:
                    grid_invoices.cancel(session, row, verdict)
                elif check.outcome == "accept":
                    grid_invoices.accept(session, row, verdict, decision.decided_by)
                else:
                    grid_invoices.reject(session, row, verdict, decision.decided_by)
            answer = remittance.store_remadv(session, row)
            session.commit()
            if answer.state == MessageState.QUEUED:
                assert answer.receiver and answer.interchange_ref
                self.transport.send(row.tenant_id, answer.receiver, answer.interchange_ref, answer.raw)
                answer.state, answer.processed_at = MessageState.SENT, utcnow()
                session.add(answer)
                session.commit()
            return row.answer_pid

    @activity.defn
    def pay_due_invoices(self, due: PayDue) -> list[int]:
        """The transfer run of the day: every accepted invoice due by then; the ids paid."""
        with Session(self.engine) as session:
            try:
                run = grid_invoices.pay_due(session, due.tenant_id, due.on)
            except grid_invoices.PaymentBlocked as blocked:
                session.rollback()
                raise business_error(str(blocked), "PaymentBlocked") from blocked
            session.commit()
            return run.invoices

    @activity.defn
    def invoice_state(self, invoice_id: int) -> str:
        with Session(self.engine) as session:
            return _row(session, invoice_id).state


def _row(session: Session, invoice_id: int, lock: bool = False) -> GridInvoice:
    row = session.get(GridInvoice, invoice_id, with_for_update=lock)
    if row is None:
        raise business_error(f"grid invoice {invoice_id} does not exist", "NotFound")
    return row
