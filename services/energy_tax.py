"""Energy-tax bases and the month-end accrual (Abgrenzung) of delivered but unbilled consumption.

Stromsteuer and Energiesteuer arise when the energy is delivered, but a yearly bill (Turnusabrechnung) comes
months later. At each month end the consumption since each contract's last bill is estimated (annual forecast,
linear by days) and priced with the bill rules; one accrual document per division books the net revenue and the
tax (no VAT: it arises with the bill), with its kWh, and is reversed on the first day of the next month.

The declaration figures per month and division: kWh and tax billed in the month, the accrual at its end, the
accrual reversed from the month before, and the delivered quantity = billed + accrued - reversed.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session, col, select

from models.contracts import TariffPrice
from rules.billing import BillingPrice, compute_bill
from services import tax_rates
from services.chart import book
from services.ledger import LedgerError, closed_periods, last_day, reverse

ACCRUAL = "accrual"
KWH = Decimal("0.001")

UNBILLED_SQL = """
SELECT c.division, c.tariff_id, greatest(coalesce(c.billed_until, c.supply_start), c.supply_start) AS since,
       least(coalesce(c.supply_end, :until), :until) AS until,
       count(*) AS contracts, sum(c.annual_consumption_kwh) AS annual_kwh
FROM contract c
WHERE c.tenant_id = :tenant AND c.supply_start IS NOT NULL AND c.supply_start < :until
  AND greatest(coalesce(c.billed_until, c.supply_start), c.supply_start) < least(coalesce(c.supply_end, :until), :until)
GROUP BY 1, 2, 3, 4
"""
"""Contracts supplied but not billed up to the key date, grouped so each group is priced once: the same tariff
and the same unbilled days give the same price per kWh and the same base price per contract."""

TAX_BASES_SQL = """
SELECT d.division,
       coalesce(sum(d.quantity_kwh) FILTER (WHERE d.doc_type <> 'accrual' AND o.doc_type IS DISTINCT FROM 'accrual'),
                0) AS billed_kwh,
       coalesce(sum(d.quantity_kwh) FILTER (WHERE d.doc_type = 'accrual'), 0) AS accrued_kwh,
       coalesce(-sum(d.quantity_kwh) FILTER (WHERE o.doc_type = 'accrual'), 0) AS reversed_kwh,
       coalesce(sum(t.tax) FILTER (WHERE d.doc_type <> 'accrual' AND o.doc_type IS DISTINCT FROM 'accrual'),
                0) AS billed_tax,
       coalesce(sum(t.tax), 0) AS tax
FROM posting_document d
LEFT JOIN posting_document o ON o.id = d.reversal_of_id
LEFT JOIN LATERAL (
    SELECT sum(l.credit - l.debit) AS tax FROM posting_line l JOIN ledger_account a ON a.id = l.account_id
    WHERE l.document_id = d.id AND a.gl_role IN ('electricity_tax', 'energy_tax')
) t ON true
WHERE d.tenant_id = :tenant AND d.period = :period AND (d.quantity_kwh IS NOT NULL OR t.tax IS NOT NULL)
GROUP BY d.division ORDER BY d.division
"""


class TaxBase(BaseModel):
    """A month's energy-tax figures of one division (kWh; tax in EUR as booked on the tax account)."""

    division: str
    billed_kwh: Decimal
    billed_tax: Decimal
    accrued_kwh: Decimal
    reversed_kwh: Decimal
    delivered_kwh: Decimal
    tax: Decimal
    """The movement of the tax account in the month: billed, accrued and reversed."""


class Accrual(BaseModel):
    division: str
    document_id: int
    reversal_id: int
    quantity_kwh: Decimal
    net: Decimal
    tax: Decimal


def accrue(session: Session, tenant_id: str, period: str) -> list[Accrual]:
    """Book the month-end accrual per division and its reversal on the 1st of the next month; idempotent."""
    key_date = last_day(period)
    until = key_date + timedelta(days=1)
    if period in closed_periods(session, tenant_id):
        raise LedgerError(f"{period} is closed; its accrual can no longer be booked")
    totals: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    for group in session.execute(text(UNBILLED_SQL), {"tenant": tenant_id, "until": until}).all():
        kwh = (Decimal(group.annual_kwh) * (group.until - group.since).days / 365).quantize(KWH, ROUND_HALF_UP)
        prices = _prices(session, group.tariff_id, group.contracts)
        bill = compute_bill(
            group.division,
            group.since,
            group.until,
            kwh,
            prices,
            energy_tax_rates=tax_rates.rates(session, "energy_tax", group.division),
            vat_rates=tax_rates.rates(session, "vat", group.division),
        )
        energy, net, tax = totals.get(group.division, (Decimal(0), Decimal(0), Decimal(0)))
        totals[group.division] = (energy + kwh, net + bill.net - bill.energy_tax, tax + bill.energy_tax)
    result = []
    for division, (energy, net, tax) in sorted(totals.items()):
        key = f"accrual:{division}:{period}"
        document_id = book(
            session,
            tenant_id=tenant_id,
            division=division,
            doc_type=ACCRUAL,
            key=key,
            posting_date=key_date,
            amounts={"net": net, "tax": tax},
            quantity_kwh=energy,
            origin=f"month-end:{period}",
            text=f"Abgrenzung nicht abgerechneter Verbrauch {period}",
        )
        reversal_id = reverse(session, document_id, until, key=f"{key}:reversal")
        result.append(
            Accrual(
                division=division,
                document_id=document_id,
                reversal_id=reversal_id,
                quantity_kwh=energy,
                net=net,
                tax=tax,
            )
        )
    return result


def _prices(session: Session, tariff_id: int, contracts: int) -> list[BillingPrice]:
    """The tariff's price versions, the base price counted once per contract of the group."""
    versions = session.exec(
        select(TariffPrice).where(TariffPrice.tariff_id == tariff_id).order_by(col(TariffPrice.valid_from))
    ).all()
    return [
        BillingPrice(
            valid_from=v.valid_from,
            working_price=v.working_price,
            base_price_per_year=v.base_price_per_year * contracts,
        )
        for v in versions
    ]


def tax_bases(session: Session, tenant_id: str, period: str) -> list[TaxBase]:
    """The month's energy-tax figures per division, from the documents booked in it."""
    rows = session.execute(text(TAX_BASES_SQL), {"tenant": tenant_id, "period": period}).all()
    return [
        TaxBase(
            division=r.division,
            billed_kwh=r.billed_kwh,
            billed_tax=r.billed_tax,
            accrued_kwh=r.accrued_kwh,
            reversed_kwh=r.reversed_kwh,
            delivered_kwh=r.billed_kwh + r.accrued_kwh - r.reversed_kwh,
            tax=r.tax,
        )
        for r in rows
    ]
