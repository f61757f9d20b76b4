"""Work of the dunning and instalment-plan processes: what is overdue, fees, holds, plans, the agency hand-over."""

import csv
import hashlib
import io
import uuid
from datetime import date
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.errors import business_error
from activities.market import require_route
from edifact.orders import OrdersCommunication, OrdersMessage
from models.base import utcnow
from models.contracts import Contract, MarketLocation
from models.customers import ContractAccount
from models.documents import Document
from models.ledger import LedgerAccount, PostingDocument, PostingLine
from models.messages import MarketMessage
from models.payments import HoldKind
from models.process import (
    Arrears,
    ArrearsCheck,
    DisconnectionOrder,
    DunningInput,
    FeeRequest,
    HoldRequest,
    PlanRates,
    PlanRequest,
    PlanRevocation,
    TenantDay,
)
from models.tenancy import Tenant
from rules.calendar import day_start
from rules.market_processes import NAD_CODE_LIST
from services import receivable_terms
from services.chart import book
from services.ledger import CENT, Line, PostingRequest, clear, open_amount, post
from services.reading_requests import Transport, store_orders

DISCONNECTION_THRESHOLD = Decimal("100.00")
"""§19 (2) StromGVV/GasGVV: at least 100 EUR, and at least two monthly instalments, are in arrears."""


class DunningActivities:
    def __init__(self, engine: Engine, transport: Transport) -> None:
        self.engine = engine
        self.transport = transport

    @activity.defn
    def arrears(self, check: ArrearsCheck) -> Arrears:
        """What is overdue on the account now (disputed items left out, deferrals counted from their new date)."""
        with Session(self.engine) as session:
            tenant = session.get(Tenant, check.tenant_id)
            account = session.get(LedgerAccount, check.account_id)
            if tenant is None or account is None or account.tenant_id != tenant.id:
                raise business_error(f"debtor account {check.account_id} of {check.tenant_id} not found", "NotFound")
            grace = tenant.dunning_grace_days if check.grace_days is None else check.grace_days
            overdue = receivable_terms.overdue(session, check.account_id, check.on, grace)
            contract = session.exec(
                select(Contract)
                .join(ContractAccount, col(ContractAccount.id) == col(Contract.account_id))
                .where(
                    ContractAccount.tenant_id == tenant.id,
                    ContractAccount.account_number == account.number,
                    Contract.division == account.division,
                )
                .order_by(col(Contract.supply_start).desc().nulls_last())
            ).first()
            texts = {
                line_id: document_text
                for line_id, document_text in session.execute(
                    text(
                        "SELECT l.id, coalesce(nullif(d.text, ''), d.doc_type) FROM posting_line l"
                        " JOIN posting_document d ON d.id = l.document_id WHERE l.id = ANY(:ids)"
                    ),
                    {"ids": [line_id for line_id, _, _ in overdue.items]},
                )
            }
            disconnection = bool(
                tenant.disconnect_basic_supply
                and contract is not None
                and contract.basic_supply
                and overdue.total >= max(DISCONNECTION_THRESHOLD, 2 * _monthly_instalment(session, contract))
            )
            return Arrears(
                disconnection=disconnection,
                total=overdue.total,
                items=overdue.items,
                contract_id=contract.id if contract else None,
                contract_number=contract.contract_number if contract else "",
                grace_days=tenant.dunning_grace_days,
                reminder_fee=tenant.reminder_fee,
                iban=tenant.iban,
                texts=texts,
            )

    @activity.defn
    def book_fee(self, fee: FeeRequest) -> int:
        """The reminder fee as an open item of the customer (once per key)."""
        with Session(self.engine) as session:
            account = session.get(LedgerAccount, fee.account_id)
            assert account is not None
            document_id = book(
                session,
                tenant_id=fee.tenant_id,
                division=account.division,
                doc_type="fee",
                key=fee.key,
                posting_date=fee.on,
                amounts={"amount": fee.amount},
                party_account_id=fee.account_id,
                due_date=fee.on,
                text="Mahngebühr",
            )
            session.commit()
            return document_id

    @activity.defn
    def hold_items(self, request: HoldRequest) -> int:
        """Dispute or defer items, or (``release``) end such holds; returns how many."""
        with Session(self.engine) as session:
            kind = HoldKind(request.kind)
            if request.release:
                count = receivable_terms.release(session, request.line_ids, kind)
            else:
                count = len(
                    receivable_terms.hold(
                        session,
                        request.tenant_id,
                        request.line_ids,
                        kind,
                        request.by,
                        request.reason,
                        request.due_date,
                    )
                )
            session.commit()
            return count

    @activity.defn
    def agree_plan(self, plan: PlanRequest) -> PlanRates:
        """Replace what is overdue by rates with their own due dates (one document: the items cleared, the rates
        open). Cents that do not divide go to the first rate. Repeating the call returns the same rates."""
        key = f"instalment-plan:{plan.case_key}"
        with Session(self.engine) as session:
            existing = session.exec(
                select(PostingDocument.id).where(
                    PostingDocument.tenant_id == plan.tenant_id, PostingDocument.idempotency_key == key
                )
            ).first()
            if existing is None:
                existing = self._book_plan(session, plan, key)
                session.commit()
            rates = session.exec(
                select(PostingLine)
                .where(PostingLine.document_id == existing, col(PostingLine.debit) > 0)
                .order_by(col(PostingLine.due_date), col(PostingLine.id))
            ).all()
            return PlanRates(
                rate_line_ids=[r.id for r in rates if r.id is not None],
                due_dates=[r.due_date for r in rates if r.due_date is not None],
                amounts=[r.debit for r in rates],
            )

    def _book_plan(self, session: Session, plan: PlanRequest, key: str) -> int:
        tenant = session.get(Tenant, plan.tenant_id)
        account = session.get(LedgerAccount, plan.account_id)
        assert tenant is not None and account is not None
        overdue = receivable_terms.overdue(session, plan.account_id, plan.on, 0)
        if overdue.total <= 0:
            raise business_error("nothing is overdue: there is nothing to split into rates", "NothingOverdue")
        base = (overdue.total / plan.rates).quantize(CENT, rounding=ROUND_DOWN)
        amounts = [overdue.total - base * (plan.rates - 1)] + [base] * (plan.rates - 1)
        dues = [_add_months(plan.first_due, i) for i in range(plan.rates)]
        lines = [Line(account_id=plan.account_id, credit=overdue.total, due_date=plan.on)] + [
            Line(account_id=plan.account_id, debit=amount, due_date=due, text=f"Rate {i + 1} von {plan.rates}")
            for i, (amount, due) in enumerate(zip(amounts, dues, strict=True))
        ]
        document_id = post(
            session,
            PostingRequest(
                tenant_id=plan.tenant_id,
                division=account.division,
                doc_type="instalment_plan",
                posting_date=plan.on,
                idempotency_key=key,
                origin=f"dunning:{plan.case_key}",
                text=f"Ratenplan {plan.rates} Raten",
                lines=lines,
            ),
        )
        credit = session.exec(
            select(PostingLine.id).where(PostingLine.document_id == document_id, col(PostingLine.credit) > 0)
        ).one()
        assert credit is not None
        for line_id, _, amount in overdue.items:
            clear(session, line_id, credit, amount, plan.on)
        return document_id

    @activity.defn
    def rate_open(self, line_id: int) -> str:
        with Session(self.engine) as session:
            return str(open_amount(session, line_id))

    @activity.defn
    def revoke_plan(self, revocation: PlanRevocation) -> int:
        """A broken plan: the rates still open fall due at once, as one item (once per case)."""
        key = f"plan-revocation:{revocation.case_key}"
        with Session(self.engine) as session:
            existing = session.exec(
                select(PostingDocument.id).where(
                    PostingDocument.tenant_id == revocation.tenant_id, PostingDocument.idempotency_key == key
                )
            ).first()
            if existing is not None:
                return existing
            account = session.get(LedgerAccount, revocation.account_id)
            assert account is not None
            still_open = [(line_id, open_amount(session, line_id)) for line_id in revocation.rate_line_ids]
            total = sum((amount for _, amount in still_open), Decimal("0.00"))
            if total <= 0:
                return 0
            missed = min(
                line.due_date
                for line in session.exec(
                    select(PostingLine).where(col(PostingLine.id).in_([i for i, a in still_open if a > 0]))
                ).all()
                if line.due_date is not None
            )
            document_id = post(
                session,
                PostingRequest(
                    tenant_id=revocation.tenant_id,
                    division=account.division,
                    doc_type="plan_revocation",
                    posting_date=revocation.on,
                    idempotency_key=key,
                    origin=f"dunning:{revocation.case_key}",
                    text="Ratenplan widerrufen: Restbetrag fällig",
                    lines=[  # the rest is due as of the first missed rate
                        Line(account_id=revocation.account_id, credit=total, due_date=revocation.on),
                        Line(account_id=revocation.account_id, debit=total, due_date=missed),
                    ],
                ),
            )
            credit = session.exec(
                select(PostingLine.id).where(PostingLine.document_id == document_id, col(PostingLine.credit) > 0)
            ).one()
            assert credit is not None
            for line_id, amount in still_open:
                if amount > 0:
                    clear(session, line_id, credit, amount, revocation.on)
            session.commit()
            return document_id

    @activity.defn
    def order_disconnection(self, order: DisconnectionOrder) -> int:
        """Sperrauftrag ORDERS 17115 to the grid operator, earliest from ``order.earliest``; sent once per key."""
        with Session(self.engine) as session:
            contract = session.get(Contract, order.contract_id)
            assert contract is not None
            tenant = session.get(Tenant, contract.tenant_id)
            location = session.get(MarketLocation, contract.location_id)
            assert tenant is not None and location is not None
            message = session.exec(
                select(MarketMessage).where(MarketMessage.business_key == order.business_key)
            ).first()
            if message is None:
                message = _store_disconnection(session, tenant, contract, location, order)
            assert message.id is not None and message.receiver and message.interchange_ref
            route = require_route(session, message)
            self.transport.send(tenant.id, message.receiver, message.interchange_ref, message.raw, route)
            if message.state != "sent":
                message.state = "sent"
                session.add(message)
                session.commit()
            return message.id

    @activity.defn
    def hand_over(self, case: DunningInput) -> int:
        """The collection agency's file: the debtor and the open items (CSV), archived once per case."""
        key = f"collection:{case.tenant_id}:{case.case_key}"
        with Session(self.engine) as session:
            account = session.get(LedgerAccount, case.account_id)
            assert account is not None
            overdue = receivable_terms.overdue(session, case.account_id, utcnow().date(), 0)
            out = io.StringIO()
            writer = csv.writer(out, delimiter=";", lineterminator="\n")
            writer.writerow(["account", "name", "division", "line", "due_date", "open_amount"])
            for line_id, due, amount in overdue.items:
                writer.writerow([account.number, account.name, account.division, line_id, due, amount])
            content = out.getvalue().encode("utf-8")
            session.execute(
                insert(Document)
                .values(
                    tenant_id=case.tenant_id,
                    business_key=key,
                    kind="collection_handover",
                    media_type="text/csv",
                    content=content,
                    sha256=hashlib.sha256(content).hexdigest(),
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["business_key"])
            )
            session.commit()
            document_id = session.exec(select(Document.id).where(Document.business_key == key)).one()
            assert document_id is not None
            return document_id

    @activity.defn
    async def open_dunning_cases(self, day: TenantDay) -> int:
        """Start a dunning case for every account in arrears that has none running; returns how many started."""
        with Session(self.engine) as session:  # one short query; the starts are the slow part
            tenant = session.get(Tenant, day.tenant_id)
            if tenant is None:
                raise business_error(f"unknown tenant {day.tenant_id}", "NotFound")
            accounts = receivable_terms.accounts_in_arrears(session, tenant.id, day.on, tenant.dunning_grace_days)
        started = 0
        for account_id, first_line in accounts:
            try:
                await activity.client().start_workflow(
                    "DunningWorkflow",
                    DunningInput(tenant_id=day.tenant_id, account_id=account_id, case_key=str(first_line)),
                    id=f"dunning/{day.tenant_id}/{account_id}",
                    task_queue=activity.info().task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                continue  # the account's case is running
        return started


def _monthly_instalment(session: Session, contract: Contract) -> Decimal:
    instalment = session.execute(
        text("SELECT instalment FROM budget_plan WHERE contract_id = :c AND ended_on IS NULL ORDER BY id DESC LIMIT 1"),
        {"c": contract.id},
    ).scalar()
    return Decimal(instalment or 0)


def _add_months(day: date, months: int) -> date:
    return day + relativedelta(months=months)


def _store_disconnection(
    session: Session, tenant: Tenant, contract: Contract, location: MarketLocation, order: DisconnectionOrder
) -> MarketMessage:
    now = utcnow().replace(second=0, microsecond=0)
    sender = tenant.gas_market_partner_id if contract.division == "gas" else tenant.market_partner_id
    if not sender:
        raise business_error(f"tenant {tenant.id} has no code number for {contract.division}", "TenantIncomplete")
    message = OrdersMessage(
        pruefidentifikator="17115",
        message_reference=uuid.uuid4().hex[:14].upper(),
        category="Z51",
        document_number=uuid.uuid4().hex[:20].upper(),
        document_date=now,
        earliest_date=day_start(order.earliest, contract.division),
        sender=sender,
        receiver=location.grid_operator_id,
        sender_code_list=NAD_CODE_LIST[contract.division],
        receiver_code_list=NAD_CODE_LIST[contract.division],
        contact_name=tenant.name,
        communications=[OrdersCommunication(number=tenant.email or "service@invalid", channel="EM")],
        location_id=location.malo_id,
    )
    stored = store_orders(
        session, tenant.id, message, contract.division, order.business_key, location.malo_id, order.workflow_id
    )
    session.commit()
    return stored
