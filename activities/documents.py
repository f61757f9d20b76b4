"""Letters rendered to PDF and archived once per business key."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select
from temporalio import activity

from activities.contracts import get_contract, price_valid_on
from activities.errors import business_error
from models.base import utcnow
from models.contracts import BudgetInstalment, BudgetPlan, Contract, MarketLocation, Meter, Tariff
from models.customers import ContractAccount, Customer, SepaMandate
from models.documents import Document
from models.process import (
    CallbackLetter,
    CancellationLetter,
    DocumentRef,
    DunningLetter,
    LetterRequest,
    SupplyEndLetter,
    TariffLetter,
)
from models.tenancy import Tenant
from rules.budget import vat_rate
from rules.calendar import BERLIN
from rules.ids import mask_iban
from services.delivery import deliver_letter
from services.products import tariff_on
from templates.render import render_pdf


def _today() -> date:
    return utcnow().astimezone(BERLIN).date()


def _iban_groups(iban: str) -> str:
    """IBAN for print, in groups of 4: "DE89370400440532013000" -> "DE89 3704 0044 0532 0130 00"."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _check_total(request: DunningLetter) -> None:
    """The letter's total must be the sum of its items (a fee is shown on its own)."""
    items = sum((item.amount for item in request.items), Decimal("0.00"))
    if request.items and items != request.total:
        raise business_error(
            f"contract {request.contract_id}, dunning case {request.case_key}: the total {request.total} is not "
            f"the sum of the items ({items})",
            "TotalMismatch",
        )


class DocumentActivities:
    """Letters are rendered and archived once; with an ``outbox`` they are also delivered once (or held)."""

    def __init__(self, engine: Engine, outbox: Path | None = None) -> None:
        self.engine = engine
        self.outbox = outbox

    @activity.defn
    def welcome_letter(self, request: LetterRequest) -> DocumentRef:
        """Contract confirmation with start date, tariff, prices, instalment and mandate reference."""
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            assert contract.supply_start is not None
            key = f"welcome-letter:{contract.id}:{contract.supply_start.isoformat()}"
            return self._archive(session, contract, "welcome_letter", key, lambda: self._welcome(session, contract))

    @activity.defn
    def order_cancelled_letter(self, request: LetterRequest) -> DocumentRef:
        """Tells the customer that the supply could not be started and why."""
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = f"order-cancelled:{contract.id}"

            def context() -> dict[str, Any]:
                return self._common(session, contract) | {"reason": request.reason}

            return self._archive(session, contract, "order_cancelled", key, context)

    @activity.defn
    def cancellation_confirmation(self, request: CancellationLetter) -> DocumentRef:
        """Kündigungsbestätigung: received cancellation, last day of supply, final reading and final bill."""
        moved = request.requested_end is not None and request.requested_end != request.supply_end
        if moved and not request.explanation.strip():
            raise business_error(
                f"contract {request.contract_id}: the supply ends on another date than requested but no "
                "explanation was given",
                "ExplanationMissing",
            )
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = (
                f"cancellation-confirmation:{contract.id}:{request.received_on.isoformat()}:"
                f"{request.supply_end.isoformat()}"
            )

            def context() -> dict[str, Any]:
                requested = request.requested_end
                return self._end_of_supply(session, contract, request.supply_end) | {
                    "received_on": request.received_on,
                    "requested_last_day": requested - timedelta(days=1) if requested else None,
                    "kept": requested == request.supply_end,
                    "explanation": request.explanation.strip(),
                }

            return self._archive(session, contract, "cancellation_confirmation", key, context)

    @activity.defn
    def supply_end_letter(self, request: SupplyEndLetter) -> DocumentRef:
        """Bestätigung des Lieferendes: supply ends without the customer's cancellation (switch, grid operator)."""
        if not request.reason.strip():
            raise business_error(f"contract {request.contract_id}: a supply end letter needs a reason", "ReasonMissing")
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = f"supply-end:{contract.id}:{request.supply_end.isoformat()}"

            def context() -> dict[str, Any]:
                return self._end_of_supply(session, contract, request.supply_end) | {"reason": request.reason.strip()}

            return self._archive(session, contract, "supply_end_letter", key, context)

    @activity.defn
    def payment_reminder(self, request: DunningLetter) -> DocumentRef:
        """Zahlungserinnerung (dunning level 1): overdue items, fee, new payment date, bank account, objection."""
        if not request.items or request.pay_by is None:
            raise business_error(
                f"contract {request.contract_id}, dunning case {request.case_key}: a payment reminder needs the "
                "overdue items and the date to pay by",
                "ReminderIncomplete",
            )
        _check_total(request)
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = f"payment-reminder:{request.case_key}"

            def context() -> dict[str, Any]:
                return self._dunning(session, contract, request, self._common(session, contract))

            return self._archive(session, contract, "payment_reminder", key, context)

    @activity.defn
    def dunning_termination(self, request: DunningLetter) -> DocumentRef:
        """Kündigung wegen Zahlungsverzugs (dunning level 3): open amount, last day of supply, Ersatzversorgung."""
        supply_end = request.supply_end
        if supply_end is None:
            raise business_error(
                f"contract {request.contract_id}, dunning case {request.case_key}: a termination needs the end of "
                "supply",
                "SupplyEndMissing",
            )
        _check_total(request)
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = f"dunning-termination:{request.case_key}"

            def context() -> dict[str, Any]:
                return self._dunning(session, contract, request, self._end_of_supply(session, contract, supply_end))

            return self._archive(session, contract, "dunning_termination", key, context)

    @activity.defn
    def tariff_letter(self, request: TariffLetter) -> DocumentRef:
        """Product change confirmation or price adjustment notice: old and new prices, the new instalment and,
        for a price adjustment, the special right to cancel."""
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)

            def context() -> dict[str, Any]:
                return self._tariff(session, contract, request)

            return self._archive(session, contract, request.kind, f"{request.kind}:{request.key}", context)

    def _tariff(self, session: Session, contract: Contract, request: TariffLetter) -> dict[str, Any]:
        day = request.effective_from
        new_tariff_id = tariff_on(session, contract, day)
        old = price_valid_on(session, request.old_tariff_id, day - timedelta(days=1))
        new = price_valid_on(session, new_tariff_id, day)
        plan = session.get(BudgetPlan, request.plan_id)
        old_tariff, new_tariff = session.get(Tariff, request.old_tariff_id), session.get(Tariff, new_tariff_id)
        assert plan is not None and old_tariff is not None and new_tariff is not None
        return self._common(session, contract) | {
            "effective_from": day,
            "old_tariff": old_tariff.name,
            "new_tariff": new_tariff.name,
            "tariff": new_tariff.name,
            "reason": request.reason,
            "basic_supply": contract.basic_supply,
            "cancel_by": day - timedelta(days=1),
            "vat_rate": vat_rate(day, contract.division),
            "prices": [
                {
                    "label": f"bis {(day - timedelta(days=1)):%d.%m.%Y}",
                    "working_price": old.working_price,
                    "base_price_per_year": old.base_price_per_year,
                },
                {
                    "label": f"ab {day:%d.%m.%Y}",
                    "working_price": new.working_price,
                    "base_price_per_year": new.base_price_per_year,
                },
            ],
            "budget": {"instalment": plan.instalment, "first_due": plan.valid_from, "annual_gross": plan.annual_gross},
        }

    @activity.defn
    def callback_missed(self, request: CallbackLetter) -> DocumentRef:
        """We tried to call the customer back (twice) and did not reach them: please call us."""
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = f"callback-missed:{request.contact_id}"

            def context() -> dict[str, Any]:
                return self._common(session, contract) | {
                    "attempts": [a.astimezone(BERLIN) for a in request.attempts],
                    "subject": request.subject,
                }

            return self._archive(session, contract, "callback_missed", key, context)

    @activity.defn
    def disconnection_threat(self, request: DunningLetter) -> DocumentRef:
        """Sperrandrohung (§19 StromGVV/GasGVV): the arrears and the earliest day of an interruption."""
        return self._disconnection("disconnection_threat", request)

    @activity.defn
    def disconnection_notice(self, request: DunningLetter) -> DocumentRef:
        """Sperrankündigung: the day of the interruption and the offer of an Abwendungsvereinbarung."""
        return self._disconnection("disconnection_notice", request)

    def _disconnection(self, kind: str, request: DunningLetter) -> DocumentRef:
        if request.disconnection_on is None or not request.items:
            raise business_error(
                f"contract {request.contract_id}, dunning case {request.case_key}: a {kind} needs the items and the "
                "day of the interruption",
                "DisconnectionIncomplete",
            )
        _check_total(request)
        with Session(self.engine) as session:
            contract = get_contract(session, request.contract_id)
            key = f"{kind.replace('_', '-')}:{request.case_key}"

            def context() -> dict[str, Any]:
                return self._dunning(session, contract, request, self._common(session, contract))

            return self._archive(session, contract, kind, key, context)

    def _archive(self, session: Session, contract: Contract, kind: str, key: str, context: Any) -> DocumentRef:
        existing = session.exec(select(Document).where(Document.business_key == key)).first()
        if existing is None:
            rendered = render_pdf(f"{kind}.html", context())
            session.execute(
                insert(Document)
                .values(
                    tenant_id=contract.tenant_id,
                    business_key=key,
                    kind=kind,
                    customer_id=contract.customer_id,
                    contract_id=contract.id,
                    media_type="application/pdf",
                    content=rendered.pdf,
                    sha256=rendered.sha256,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["business_key"])
            )
            session.commit()
            existing = session.exec(select(Document).where(Document.business_key == key)).one()
        assert existing.id is not None
        if self.outbox is not None and existing.delivery == "archived":
            deliver_letter(session, existing, self.outbox)
            session.commit()
        return DocumentRef(document_id=existing.id, sha256=existing.sha256)

    def _common(self, session: Session, contract: Contract) -> dict[str, Any]:
        tenant = session.get(Tenant, contract.tenant_id)
        customer = session.get(Customer, contract.customer_id)
        location = session.get(MarketLocation, contract.location_id)
        assert tenant is not None and customer is not None and location is not None
        return {
            "supplier": {
                "name": tenant.name,
                "street": tenant.street,
                "postcode": tenant.postcode,
                "city": tenant.city,
                "phone": tenant.phone,
                "email": tenant.email,
                "market_partner_id": tenant.market_partner_id,
            },
            "customer": {
                "customer_number": customer.customer_number,
                "name": customer.display_name,
                "street": f"{customer.street} {customer.house_number}".strip(),
                "postcode": customer.postcode,
                "city": customer.city,
            },
            "contract": {
                "contract_number": contract.contract_number,
                "division": contract.division,
                "malo_id": location.malo_id,
                "wished_start": contract.wished_start,
            },
            "letter_date": _today(),
        }

    def _welcome(self, session: Session, contract: Contract) -> dict[str, Any]:
        assert contract.supply_start is not None
        tariff = session.get(Tariff, contract.tariff_id)
        assert tariff is not None
        price = price_valid_on(session, contract.tariff_id, contract.supply_start)
        plan = session.exec(
            select(BudgetPlan).where(BudgetPlan.contract_id == contract.id).order_by(col(BudgetPlan.valid_from).desc())
        ).first()
        if plan is None:
            raise RuntimeError(f"contract {contract.contract_number} has no budget plan yet")
        instalments = session.exec(
            select(BudgetInstalment).where(BudgetInstalment.plan_id == plan.id).order_by(col(BudgetInstalment.due_date))
        ).all()
        mandate = session.get(SepaMandate, contract.mandate_id) if contract.mandate_id else None
        context = self._common(session, contract)
        context["contract"] |= {
            "supply_start": contract.supply_start,
            "tariff_name": tariff.name,
            "working_price": price.working_price,
            "base_price_per_year": price.base_price_per_year,
            "vat_rate": vat_rate(contract.supply_start, contract.division),
            "annual_consumption_kwh": contract.annual_consumption_kwh,
        }
        context["budget"] = {
            "instalment": plan.instalment,
            "first_due": instalments[0].due_date,
            "annual_gross": plan.annual_gross,
            "instalments": [{"due_date": i.due_date, "amount": i.amount} for i in instalments],
        }
        context["mandate"] = (
            {"reference": mandate.reference, "iban_masked": mask_iban(mandate.iban)} if mandate else None
        )
        return context

    def _end_of_supply(self, session: Session, contract: Contract, supply_end: date) -> dict[str, Any]:
        """Common context plus tariff, supplied location, meter and the last day of supply (supply_end - 1)."""
        if contract.supply_start is None or supply_end <= contract.supply_start:
            raise business_error(
                f"contract {contract.contract_number} is not supplied before {supply_end.isoformat()}",
                "NotSupplied",
            )
        tariff = session.get(Tariff, contract.tariff_id)
        location = session.get(MarketLocation, contract.location_id)
        customer = session.get(Customer, contract.customer_id)
        assert tariff is not None and location is not None and customer is not None
        meter = session.exec(
            select(Meter).where(Meter.location_id == location.id).order_by(col(Meter.id).desc())
        ).first()
        holder = location if location.street else customer  # locations without an address are the customer's
        context = self._common(session, contract)
        context["contract"] |= {
            "tariff_name": tariff.name,
            "supply_start": contract.supply_start,
            "supply_end": supply_end,
            "last_supply_day": supply_end - timedelta(days=1),
            "load_profile": contract.metering == "rlm",
            "direct_debit": contract.mandate_id is not None,
        }
        context["location"] = {
            "street": f"{holder.street} {holder.house_number}".strip(),
            "postcode": holder.postcode,
            "city": holder.city,
            "meter_number": meter.meter_number if meter else None,
        }
        return context

    def _dunning(
        self, session: Session, contract: Contract, request: DunningLetter, context: dict[str, Any]
    ) -> dict[str, Any]:
        """The letter context plus the contract account and the dunning data; the IBAN defaults to the tenant's."""
        account = session.get(ContractAccount, contract.account_id)
        tenant = session.get(Tenant, contract.tenant_id)
        assert account is not None and tenant is not None
        context["contract"] |= {"account_number": account.account_number}
        context["dunning"] = {
            "overdue": [{"due_date": i.due_date, "text": i.text, "amount": i.amount} for i in request.items],
            "total": request.total,
            "fee": request.fee,
            "amount_due": request.total + request.fee,
            "pay_by": request.pay_by,
            "iban": _iban_groups(request.iban or tenant.iban),
            "disconnection_on": request.disconnection_on,
        }
        return context
