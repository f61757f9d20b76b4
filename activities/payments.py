"""Payment work run by processes: the direct-debit run and a clerk's decision on an unassigned payment."""

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity

from activities.errors import business_error
from models.customers import SepaMandate
from models.ledger import LedgerAccount
from models.payments import BankTransaction
from models.process import NewMandate, PaymentDay, PaymentDecision, TenantDay
from models.tenancy import Tenant
from rules.ids import validate_iban
from services import bank_transactions
from services.payment_runs import RunResult, collect
from services.refunds import pay_out_credits
from services.sepa import earliest_collection_date


class PaymentActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def collect(self, day: PaymentDay) -> RunResult:
        """The direct-debit run of the day (once per run key)."""
        with Session(self.engine) as session:
            result = collect(session, day.tenant_id, day.on, day.run_key)
            session.commit()
            return result

    @activity.defn
    def daily_payments(self, day: TenantDay) -> tuple[int, int]:
        """The day's direct-debit run (for the earliest collection date) and payout of credits; (debits, refunds).

        A tenant without a creditor id or bank account has no runs."""
        with Session(self.engine) as session:
            tenant = session.get(Tenant, day.tenant_id)
            if tenant is None or not (tenant.creditor_id and tenant.iban and tenant.bic):
                return 0, 0
            collection_date = earliest_collection_date(day.on, "RCUR")
            debits = collect(session, day.tenant_id, collection_date, f"{collection_date}")
            refunds = pay_out_credits(session, day.tenant_id, day.on, f"{day.on}")
            session.commit()
            return (debits.debits if debits.created else 0), max(refunds.refunds, 0)

    @activity.defn
    def new_mandate(self, request: NewMandate) -> int:
        """The customer's new SEPA mandate replaces the stopped one (once: a retry finds it)."""
        with Session(self.engine) as session:
            stopped = session.get(SepaMandate, request.stopped_mandate_id)
            if stopped is None or stopped.tenant_id != request.tenant_id:
                raise business_error(f"mandate {request.stopped_mandate_id} not found", "NotFound")
            reference = f"{stopped.reference[:31]}-N{stopped.returns}"[:35]
            existing = session.exec(
                select(SepaMandate).where(
                    SepaMandate.tenant_id == request.tenant_id, SepaMandate.reference == reference
                )
            ).first()
            if existing is None:
                existing = SepaMandate(
                    tenant_id=request.tenant_id,
                    account_id=stopped.account_id,
                    reference=reference,
                    iban=validate_iban(request.iban),
                    account_holder=stopped.account_holder,
                    signed_on=request.signed_on,
                )
                session.add(existing)
                session.commit()
            assert existing.id is not None
            return existing.id

    @activity.defn
    def settle_unassigned(self, decision: PaymentDecision) -> str:
        """Apply the clerk's decision; a decision that cannot be applied comes back as ``refused: why``."""
        with Session(self.engine) as session:
            row = session.get(BankTransaction, decision.transaction_id)
            if row is None or row.tenant_id != decision.tenant_id:
                raise business_error(f"bank transaction {decision.transaction_id} not found", "NotFound")
            if row.outcome in ("matched", "refunded"):
                return "assigned" if row.outcome == "matched" else "refunded"  # applied before a retry
            try:
                if decision.decision == "refund":
                    bank_transactions.refund_unassigned(session, row.id or 0, decision.decided_by)
                    outcome = "refunded"
                else:
                    account = session.exec(
                        select(LedgerAccount).where(
                            LedgerAccount.tenant_id == decision.tenant_id,
                            LedgerAccount.kind == "debtor",
                            LedgerAccount.number == decision.account,
                        )
                    ).first()
                    if account is None or account.id is None:
                        return f"refused: no debtor account {decision.account}"
                    settle = decision.decision == "assign"
                    bank_transactions.assign(session, row.id or 0, account.id, decision.decided_by, settle=settle)
                    outcome = "assigned" if settle else "kept_as_credit"
            except ValueError as refused:
                return f"refused: {refused}"
            session.commit()
            return outcome
