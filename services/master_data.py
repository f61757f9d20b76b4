"""Master data an operator maintains: tariffs with dated price versions."""

from datetime import date
from decimal import Decimal

from sqlmodel import Session, select

from models.contracts import Tariff, TariffPrice


def save_tariff_price(
    session: Session,
    tenant_id: str,
    code: str,
    name: str,
    division: str,
    valid_from: date,
    working_price: Decimal,
    base_price_per_year: Decimal,
) -> Tariff:
    """Create the tariff if needed and add (or replace) its price version valid from ``valid_from``."""
    tariff = session.exec(select(Tariff).where(Tariff.tenant_id == tenant_id, Tariff.code == code)).first()
    if tariff is None:
        tariff = Tariff(tenant_id=tenant_id, code=code, name=name, division=division)
        session.add(tariff)
        session.flush()
    assert tariff.id is not None
    price = session.exec(
        select(TariffPrice).where(TariffPrice.tariff_id == tariff.id, TariffPrice.valid_from == valid_from)
    ).first()
    if price is None:
        price = TariffPrice(
            tariff_id=tariff.id,
            valid_from=valid_from,
            working_price=working_price,
            base_price_per_year=base_price_per_year,
        )
    else:
        price.working_price, price.base_price_per_year = working_price, base_price_per_year
    session.add(price)
    session.flush()
    return tariff
