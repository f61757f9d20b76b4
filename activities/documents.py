"""Letters rendered to PDF and archived once per business key."""

from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select
from temporalio import activity

from activities.contracts import get_contract, price_valid_on
from models.base import utcnow
from models.contracts import BudgetInstalment, BudgetPlan, Contract, MarketLocation, Tariff
from models.customers import Customer, SepaMandate
from models.documents import Document
from models.process import DocumentRef, LetterRequest
from models.tenancy import Tenant
from rules.budget import vat_rate
from rules.calendar import BERLIN
from rules.ids import mask_iban
from templates.render import render_pdf


def _today() -> date:
    return utcnow().astimezone(BERLIN).date()


class DocumentActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
