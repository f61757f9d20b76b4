"""The tax rates billing applies: those the law had when the software was written, plus every dated rate an
operator has added since (a new rate needs no code change and no manual step in the billing run)."""

from datetime import date
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from models.base import utcnow
from models.taxes import TaxRate
from rules.billing import ENERGY_TAX_RATES, Rates
from rules.budget import VAT_RATES
from rules.calendar import normalise_division

KINDS = ("vat", "energy_tax")


def _defaults(kind: str, division: str) -> Rates:
    return (VAT_RATES if kind == "vat" else ENERGY_TAX_RATES)[division]


def rates(session: Session, kind: str, division: str) -> list[tuple[date, Decimal]]:
    """Ascending by day; a stored rate replaces a built-in one of the same day."""
    division = normalise_division(division)
    merged = dict(_defaults(kind, division))
    for row in session.exec(select(TaxRate).where(TaxRate.kind == kind, TaxRate.division == division)):
        merged[row.valid_from] = row.rate
    return sorted(merged.items())


def set_rate(
    session: Session, kind: str, division: str, valid_from: date, rate: Decimal, note: str, created_by: str
) -> TaxRate:
    """Add (or correct) the rate from ``valid_from``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if rate < 0 or (kind == "vat" and rate >= 1):
        raise ValueError("a VAT rate is a fraction below 1 (e.g. 0.19), an energy tax EUR per kWh (e.g. 0.0205)")
    division = normalise_division(division)
    session.execute(
        insert(TaxRate)
        .values(
            kind=kind,
            division=division,
            valid_from=valid_from,
            rate=rate,
            note=note,
            created_by=created_by,
            created_at=utcnow(),
        )
        .on_conflict_do_update(index_elements=["kind", "division", "valid_from"], set_={"rate": rate, "note": note})
    )
    return session.exec(
        select(TaxRate).where(TaxRate.kind == kind, TaxRate.division == division, TaxRate.valid_from == valid_from)
    ).one()
