"""Bills and bill-correction letters rendered to PDF and archived once per business key (§ 40 EnWG contents).

`Bill.details` holds the computation (rules.billing.Bill) and settlement as JSON; decimals arrive as strings and are
parsed back to Decimal here. A cancellation (Stornorechnung) shows the amounts of the bill it cancels as credits
(negative), whatever sign they are stored with; details it lacks (unit, meter, gas conversion) come from the
cancelled bill.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.base import utcnow
from models.billing import Bill, BillKind, BillState
from models.contracts import BudgetInstalment, BudgetPlan, Contract, MarketLocation, Meter, Tariff, TariffPrice
from models.customers import ContractAccount, Customer, SepaMandate
from models.documents import Document
from models.ledger import PostingDocument
from models.parties import MarketPartner
from models.tenancy import Tenant
from rules import billing
from rules.billing import LineKind, ReadingStatus
from rules.budget import vat_rate
from rules.calendar import BERLIN
from rules.ids import mask_iban
from services.customer_versions import data_on
from templates.render import render_pdf

T = TypeVar("T")

DAYS_PER_YEAR = 365
READING_SOURCES = {ReadingStatus.ACTUAL: "abgelesen/Messstellenbetreiber", ReadingStatus.ESTIMATED: "geschätzt"}
LINE_LABELS = {
    LineKind.WORKING_PRICE: "Arbeitspreis",
    LineKind.BASE_PRICE: "Grundpreis",
    LineKind.DEMAND_PRICE: "Leistungspreis",
    LineKind.CONCESSION_FEE: "Konzessionsabgabe",
}
ENERGY_TAX_LABELS = {"strom": "Stromsteuer", "gas": "Energiesteuer"}
TITLES = {BillKind.PERIODIC: "Verbrauchsabrechnung", BillKind.FINAL: "Schlussrechnung"}
UNITS = {"kWh": "kWh", "m3": "m³"}


@dataclass(frozen=True)
class _Parties:
    """The master data a bill is addressed from and to."""

    contract: Contract
    customer: Customer
    account: ContractAccount
    tenant: Tenant
    location: MarketLocation
    grid_operator: MarketPartner
    customer_data: dict[str, str]
    """Name and address valid at the end of the billed period (a later change is not on this bill)."""


def render_bill(session: Session, bill_id: int) -> int:
    """Render and archive the bill (kind "bill"), link it as `bill.document_id` and return the document id.

    Idempotent: a second call returns the archived document. Raises ValueError for a bill without number.
    """
    bill = _numbered_bill(session, bill_id)
    document_id = _archive(
        session, bill, "bill", f"bill:{bill.tenant_id}:{bill.number}", lambda: bill_context(session, bill)
    )
    if bill.document_id != document_id:
        bill.document_id = document_id
        session.add(bill)
        session.flush()
    return document_id


def render_correction_letter(session: Session, cancelled_bill_id: int, new_bill_id: int) -> int:
    """Render and archive the letter explaining a corrected bill (kind "bill_correction"); returns the document id.

    The cancelled bill must have a numbered cancellation bill; both bills must belong to the same contract.
    """
    old = _numbered_bill(session, cancelled_bill_id)
    new = _numbered_bill(session, new_bill_id)
    if old.contract_id != new.contract_id:
        raise ValueError(f"bills {old.number} and {new.number} belong to different contracts")
    if new.kind == BillKind.CANCELLATION:
        raise ValueError(f"bill {new.number} is a cancellation, not the corrected bill")
    cancellation = _cancellation_of(session, old)
    key = f"bill-correction:{new.tenant_id}:{new.number}"
    return _archive(session, new, "bill_correction", key, lambda: correction_context(session, old, cancellation, new))


def bill_context(session: Session, bill: Bill) -> dict[str, Any]:
    """Template context of templates/bill.html."""
    parties = _parties(session, bill)
    cancelled = session.get(Bill, bill.cancellation_of_id) if bill.cancellation_of_id else None
    details = (cancelled.details if cancelled else {}) | bill.details
    if not details.get("computation"):
        raise ValueError(f"bill {bill.number} has no computation to show")
    computation = billing.Bill.model_validate(details["computation"])
    credit = bill.kind == BillKind.CANCELLATION
    return _letter(parties, _bill_date(session, bill)) | {
        "contract": _contract(session, parties, bill, details),
        "location": _location(parties),
        "grid_operator": {"name": parties.grid_operator.name, "code": parties.grid_operator.id},
        "metering_operator": {
            "name": parties.grid_operator.name,
            "code": parties.grid_operator.id,
            "is_grid_operator": True,
        },
        "bill": _bill_head(bill, cancelled, _replaced(session, bill), details, computation),
        "meter": _meter(session, parties, details, computation),
        "gas": _gas(details.get("gas"), computation.consumption_kwh),
        "comparison": None if credit else _comparison(details, computation),
        "lines": [_line(line, computation.division, credit) for line in computation.lines],
        "totals": _totals(computation, credit),
        "payment": None if credit else _payment(session, parties, bill),
    }


def correction_context(session: Session, old: Bill, cancellation: Bill, new: Bill) -> dict[str, Any]:
    """Template context of templates/bill_correction.html: the three bills and the difference of their gross."""
    parties = _parties(session, new)
    difference = new.gross - old.gross
    return _letter(parties, _bill_date(session, new)) | {
        "contract": {
            "contract_number": parties.contract.contract_number,
            "account_number": parties.account.account_number,
            "division": parties.contract.division,
            "malo_id": parties.location.malo_id,
        },
        "old_bill": _summary(session, old),
        "cancellation": _summary(session, cancellation) | {"gross": -abs(cancellation.gross)},
        "new_bill": _summary(session, new) | {"balance": new.balance, "due_date": new.due_date},
        "difference": difference,
        "difference_abs": abs(difference),
    }


# --- loading -------------------------------------------------------------------------------------------------


def _numbered_bill(session: Session, bill_id: int) -> Bill:
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise ValueError(f"bill {bill_id} does not exist")
    if not bill.number:
        raise ValueError(
            f"bill {bill_id} has no number (state {bill.state}): only a released, booked bill can be rendered"
        )
    return bill


def _cancellation_of(session: Session, bill: Bill) -> Bill:
    cancellation = session.exec(select(Bill).where(Bill.cancellation_of_id == bill.id)).first()
    if cancellation is None or not cancellation.number:
        raise ValueError(f"bill {bill.number} has no booked cancellation bill")
    return cancellation


def _get(session: Session, model: type[T], key: Any) -> T:
    row = session.get(model, key)
    if row is None:
        raise ValueError(f"{model.__name__} {key} does not exist")
    return row


def _parties(session: Session, bill: Bill) -> _Parties:
    contract = _get(session, Contract, bill.contract_id)
    location = _get(session, MarketLocation, contract.location_id)
    customer = _get(session, Customer, contract.customer_id)
    return _Parties(
        contract=contract,
        customer=customer,
        customer_data=data_on(session, customer, bill.period_end),
        account=_get(session, ContractAccount, contract.account_id),
        tenant=_get(session, Tenant, bill.tenant_id),
        location=location,
        grid_operator=_get(session, MarketPartner, location.grid_operator_id),
    )


def _archive(session: Session, bill: Bill, kind: str, key: str, context: Callable[[], dict[str, Any]]) -> int:
    """The document of `key`; rendered from `context()` and inserted only if it is not archived yet."""
    existing = session.exec(select(Document.id).where(Document.business_key == key)).first()
    if existing is not None:
        return existing
    rendered = render_pdf(f"{kind}.html", context())
    contract = _get(session, Contract, bill.contract_id)
    session.execute(
        insert(Document)
        .values(
            tenant_id=bill.tenant_id,
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
    document_id = session.exec(select(Document.id).where(Document.business_key == key)).one()
    assert document_id is not None
    return document_id


# --- context parts -------------------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    """Exact German number without trailing zeros: Decimal("1239.7260") -> "1.239,726"."""
    normal = value.normalize()
    if normal == normal.to_integral_value():
        normal = normal.quantize(Decimal(1))
    return format(normal, ",f").translate(str.maketrans(",.", ".,"))


def _credit(value: Decimal, credit: bool) -> Decimal:
    return -abs(value) if credit else value


def _bill_date(session: Session, bill: Bill) -> date:
    """Rechnungsdatum: the posting date of the bill's booking, else the day it was booked."""
    posting = session.get(PostingDocument, bill.posting_document_id) if bill.posting_document_id else None
    if posting is not None:
        return posting.posting_date
    return (bill.booked_at or utcnow()).astimezone(BERLIN).date()


def _letter(parties: _Parties, letter_date: date) -> dict[str, Any]:
    """Keys of base.html: supplier, customer and the letter date."""
    tenant, customer, data = parties.tenant, parties.customer, parties.customer_data
    gas = parties.contract.division == "gas" and tenant.gas_market_partner_id
    return {
        "supplier": {
            "name": tenant.name,
            "street": tenant.street,
            "postcode": tenant.postcode,
            "city": tenant.city,
            "phone": tenant.phone,
            "email": tenant.email,
            "market_partner_id": tenant.gas_market_partner_id if gas else tenant.market_partner_id,
            "commercial_register": tenant.commercial_register,
            "vat_id": tenant.vat_id,
        },
        "customer": {
            "customer_number": customer.customer_number,
            "name": data.get("company") or f"{data.get('first_name', '')} {data.get('last_name', '')}".strip(),
            "street": f"{data.get('street', '')} {data.get('house_number', '')}".strip(),
            "postcode": data.get("postcode", ""),
            "city": data.get("city", ""),
        },
        "letter_date": letter_date,
    }


def _contract(session: Session, parties: _Parties, bill: Bill, details: dict[str, Any]) -> dict[str, Any]:
    """Tariff, the prices valid at the end of the period, duration and the next possible termination."""
    contract = parties.contract
    tariff = _get(session, Tariff, contract.tariff_id)
    price = session.exec(
        select(TariffPrice)
        .where(TariffPrice.tariff_id == contract.tariff_id, TariffPrice.valid_from <= bill.period_end)
        .order_by(col(TariffPrice.valid_from).desc())
    ).first()
    if price is None:
        raise ValueError(f"tariff {tariff.code} has no price valid on {bill.period_end.isoformat()}")
    letter_date = _bill_date(session, bill)
    return {
        "contract_number": contract.contract_number,
        "account_number": parties.account.account_number,
        "division": contract.division,
        "tariff_name": details.get("tariff_name") or tariff.name,
        "prices_from": price.valid_from,
        "working_price": price.working_price,
        "base_price_per_year": price.base_price_per_year,
        "vat_rate": vat_rate(bill.period_end, contract.division),
        "supply_start": contract.supply_start,
        "last_supply_day": contract.supply_end - timedelta(days=1) if contract.supply_end else None,
        "notice_period_days": contract.notice_period_days,
        "next_termination": letter_date + timedelta(days=contract.notice_period_days),
    }


def _location(parties: _Parties) -> dict[str, str]:
    """The supplied location; its address falls back to the customer's when the location has none."""
    location = parties.location
    holder = location if location.street else parties.customer
    return {
        "malo_id": location.malo_id,
        "street": f"{holder.street} {holder.house_number}".strip(),
        "postcode": holder.postcode,
        "city": holder.city,
    }


def _replaced(session: Session, bill: Bill) -> Bill | None:
    """The cancelled bill of the same contract, kind and period that `bill` replaces (a rebill), if any."""
    if bill.kind == BillKind.CANCELLATION:
        return None
    return session.exec(
        select(Bill)
        .where(
            Bill.contract_id == bill.contract_id,
            Bill.kind == bill.kind,
            Bill.period_start == bill.period_start,
            Bill.period_end == bill.period_end,
            Bill.state == BillState.CANCELLED,
            col(Bill.number).is_not(None),
            Bill.id != bill.id,
        )
        .order_by(col(Bill.id).desc())
    ).first()


def _bill_head(
    bill: Bill, cancelled: Bill | None, replaced: Bill | None, details: dict[str, Any], computation: billing.Bill
) -> dict[str, Any]:
    is_cancellation = bill.kind == BillKind.CANCELLATION
    return {
        "number": bill.number,
        "kind": bill.kind,
        "title": "Stornorechnung" if is_cancellation else TITLES.get(BillKind(bill.kind), "Rechnung"),
        "is_cancellation": is_cancellation,
        "cancelled_number": cancelled.number if cancelled else bill.details.get("cancelled_number"),
        "reason": bill.details.get("reason") if is_cancellation else None,
        "replaces_number": replaced.number if replaced else None,
        "previous_bill_number": None if is_cancellation else details.get("previous_bill_number"),
        "period_start": computation.start,
        "period_last_day": computation.end - timedelta(days=1),
        "days": computation.days,
        "estimated": computation.estimated,
    }


def _meter(session: Session, parties: _Parties, details: dict[str, Any], computation: billing.Bill) -> dict[str, Any]:
    """Meter number, readings with how they were obtained, and the register advance."""
    number = details.get("meter_number")
    if not number:
        meter = session.exec(select(Meter).where(Meter.location_id == parties.location.id)).first()
        number = meter.meter_number if meter else None
    unit = UNITS[details.get("unit") or "kWh"]
    readings = computation.readings
    return {
        "number": number,
        "unit": unit,
        "readings": [
            {"label": label, "on": r.on, "value": f"{_number(r.value)} {unit}", "how": READING_SOURCES[r.status]}
            for label, r in zip(("Anfangsstand", "Endstand"), readings or (), strict=False)
        ],
        "advance": f"{_number(readings[1].value - readings[0].value)} {unit}" if readings else None,
        "consumption_kwh": computation.consumption_kwh,
        "consumption": f"{_number(computation.consumption_kwh)} kWh",
    }


def _gas(gas: dict[str, str] | None, consumption_kwh: Decimal) -> dict[str, str] | None:
    """The m³ -> kWh conversion as shown: volume x Zustandszahl x Brennwert."""
    if gas is None:
        return None
    return {
        "volume_m3": f"{_number(Decimal(gas['volume_m3']))} m³",
        "z_number": _number(Decimal(gas["z_number"])),
        "calorific_value": f"{_number(Decimal(gas['calorific_value']))} kWh/m³",
        "kwh": f"{_number(consumption_kwh)} kWh",
    }


def _comparison(details: dict[str, Any], computation: billing.Bill) -> dict[str, Any]:
    """The period against the same period a year before, and the annualised kWh against comparable customers."""
    period = computation.consumption_kwh
    annual = (period * DAYS_PER_YEAR / computation.days).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    previous = Decimal(details["previous_year_kwh"]) if details.get("previous_year_kwh") else None
    typical = Decimal(details["comparison_kwh"]) if details.get("comparison_kwh") else None
    change = (period - previous) / previous if previous else None
    return {
        "period_kwh": period,
        "previous_year_kwh": previous,
        "change": abs(change).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) if change is not None else None,
        "more": change is not None and change > 0,
        "annual_kwh": annual,
        "comparison_kwh": typical,
        "bars": _bars([period, previous]) + _bars([annual, typical]),
    }


def _bars(values: list[Decimal | None]) -> list[int]:
    """Bar widths in percent of the larger of two values (0 for an unknown value)."""
    known = [v for v in values if v is not None]
    top = max(known, default=Decimal(0))
    return [int(v * 100 / top) if v is not None and top > 0 else 0 for v in values]


def _line(line: billing.BillLine, division: str, credit: bool) -> dict[str, Any]:
    per_kwh = line.kind in (LineKind.WORKING_PRICE, LineKind.CONCESSION_FEE, LineKind.ENERGY_TAX)
    if per_kwh:
        quantity = f"{_number(line.quantity)} kWh"
    elif line.kind is LineKind.BASE_PRICE:
        quantity = f"{_number(line.quantity)} Tage"
    else:
        quantity = f"{_number(line.quantity)} kW × {line.days} Tage"
    return {
        "label": ENERGY_TAX_LABELS[division] if line.kind is LineKind.ENERGY_TAX else LINE_LABELS[line.kind],
        "start": line.start,
        "last_day": line.end - timedelta(days=1),
        "quantity": quantity,
        "per_kwh": per_kwh,
        "unit_price": line.unit_price,
        "price_per": "Jahr" if line.kind is LineKind.BASE_PRICE else "kW und Jahr",
        "vat_rate": line.vat_rate,
        "amount": _credit(line.amount, credit),
    }


def _totals(computation: billing.Bill, credit: bool) -> dict[str, Any]:
    return {
        "net": _credit(computation.net, credit),
        "vat_groups": [
            {"rate": g.rate, "net": _credit(g.net, credit), "vat": _credit(g.vat, credit)}
            for g in computation.vat_groups
        ],
        "vat": _credit(computation.vat, credit),
        "gross": _credit(computation.gross, credit),
        "energy_tax": _credit(computation.energy_tax, credit),
    }


def _payment(session: Session, parties: _Parties, bill: Bill) -> dict[str, Any]:
    """Instalments paid, the balance with its due date, the new instalment and how the money moves."""
    mandate = session.get(SepaMandate, parties.contract.mandate_id) if parties.contract.mandate_id else None
    first_due = session.exec(
        select(col(BudgetInstalment.due_date))
        .join(BudgetPlan, col(BudgetPlan.id) == col(BudgetInstalment.plan_id))
        .where(BudgetPlan.contract_id == parties.contract.id, BudgetPlan.valid_from >= bill.period_end)
        .order_by(col(BudgetInstalment.due_date))
    ).first()
    return {
        "paid": bill.instalments_paid,
        "balance": bill.balance,
        "refund": bill.balance < 0,
        "balance_abs": abs(bill.balance),
        "due_date": bill.due_date,
        "next_instalment": bill.next_instalment,
        "next_instalment_due": first_due,
        "mandate": {"reference": mandate.reference, "iban_masked": mask_iban(mandate.iban)} if mandate else None,
    }


def _summary(session: Session, bill: Bill) -> dict[str, Any]:
    return {"number": bill.number, "date": _bill_date(session, bill), "gross": bill.gross}
