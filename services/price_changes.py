"""Price adjustments of a tariff: the new price version, announced in time to every customer on the tariff."""

from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from models.base import utcnow
from models.contracts import Contract, PriceAdjustment, Tariff, TariffPrice
from rules.price_changes import earliest_change

AFFECTED_SQL = """
SELECT c.id FROM contract c
WHERE c.tenant_id = :tenant AND c.id > :after
  AND c.supply_start IS NOT NULL AND c.supply_start < :day AND (c.supply_end IS NULL OR c.supply_end > :day)
  AND c.state IN ('active', 'registered', 'confirmed')
  AND coalesce(
      (SELECT t.tariff_id FROM contract_tariff t WHERE t.contract_id = c.id AND t.valid_from <= :day
       ORDER BY t.valid_from DESC LIMIT 1),
      c.tariff_id
  ) = :tariff
  {only}
ORDER BY c.id
LIMIT :limit
"""
"""The contracts on the tariff on the day the prices change (product changes included), after ``after``."""


class PriceChangeRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def affected(session: Session, adjustment: PriceAdjustment, after: int, limit: int) -> list[int]:
    params = {
        "tenant": adjustment.tenant_id,
        "after": after,
        "day": adjustment.valid_from,
        "tariff": adjustment.tariff_id,
        "limit": limit,
    }
    return list(session.execute(text(AFFECTED_SQL.format(only="")), params).scalars())


def count_affected(session: Session, adjustment: PriceAdjustment) -> int:
    params = {
        "tenant": adjustment.tenant_id,
        "after": 0,
        "day": adjustment.valid_from,
        "tariff": adjustment.tariff_id,
        "limit": None,
    }
    query = f"SELECT count(*) FROM ({AFFECTED_SQL.format(only='')}) AS affected"
    return int(session.execute(text(query), params).scalar_one())


def concerns(session: Session, adjustment: PriceAdjustment, contract_id: int) -> bool:
    """Whether the contract is on the adjusted tariff on the day the prices change."""
    params = {
        "tenant": adjustment.tenant_id,
        "after": 0,
        "day": adjustment.valid_from,
        "tariff": adjustment.tariff_id,
        "limit": 1,
        "contract": contract_id,
    }
    return bool(session.execute(text(AFFECTED_SQL.format(only="AND c.id = :contract")), params).first())


def _any_basic_supply(session: Session, tenant_id: str, tariff_id: int, day: date) -> bool:
    params = {"tenant": tenant_id, "after": 0, "day": day, "tariff": tariff_id, "limit": 1}
    return bool(session.execute(text(AFFECTED_SQL.format(only="AND c.basic_supply")), params).first())


def announce(
    session: Session,
    tenant_id: str,
    tariff_code: str,
    valid_from: date,
    working_price: Decimal,
    base_price_per_year: Decimal,
    *,
    reason: str,
    announced_by: str,
    today: date,
) -> PriceAdjustment:
    """The new price version and its announcement (once per tariff and day). Refused when the customers could
    not hear of it within the notice period (six weeks if anyone on the tariff is in basic supply)."""
    tariff = session.exec(select(Tariff).where(Tariff.tenant_id == tenant_id, Tariff.code == tariff_code)).first()
    if tariff is None or tariff.id is None:
        raise PriceChangeRefused("tariff_code", f"tariff {tariff_code} does not exist")
    existing = session.exec(
        select(PriceAdjustment).where(PriceAdjustment.tariff_id == tariff.id, PriceAdjustment.valid_from == valid_from)
    ).first()
    if existing is not None:
        return existing
    if working_price <= 0 or base_price_per_year < 0:
        raise PriceChangeRefused("working_price", "prices must be positive")
    basic = _any_basic_supply(session, tenant_id, tariff.id, valid_from)
    earliest = earliest_change(today, basic)
    if valid_from < earliest:
        who = "basic-supply customers (six weeks)" if basic else "customers (one month)"
        raise PriceChangeRefused(
            "valid_from", f"the {who} must be told in time: the earliest day for this change is {earliest}"
        )
    if session.exec(
        select(TariffPrice.id).where(TariffPrice.tariff_id == tariff.id, TariffPrice.valid_from == valid_from)
    ).first():
        raise PriceChangeRefused("valid_from", f"tariff {tariff_code} has a price version from {valid_from} already")
    session.add(
        TariffPrice(
            tariff_id=tariff.id,
            valid_from=valid_from,
            working_price=working_price,
            base_price_per_year=base_price_per_year,
        )
    )
    session.execute(
        insert(PriceAdjustment)
        .values(
            tenant_id=tenant_id,
            tariff_id=tariff.id,
            valid_from=valid_from,
            reason=reason,
            announced_by=announced_by,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tariff_id", "valid_from"])
    )
    adjustment = session.exec(
        select(PriceAdjustment).where(PriceAdjustment.tariff_id == tariff.id, PriceAdjustment.valid_from == valid_from)
    ).one()
    adjustment.workflow_id = f"price-adjustment/{tenant_id}/{adjustment.id}"
    session.add(adjustment)
    session.flush()
    return adjustment


def pending_for(session: Session, contract: Contract, received_on: date) -> PriceAdjustment | None:
    """The announced price change of the contract's tariff that has not taken effect yet, if any."""
    assert contract.id is not None
    rows = session.exec(
        select(PriceAdjustment)
        .where(PriceAdjustment.tenant_id == contract.tenant_id, col(PriceAdjustment.valid_from) > received_on)
        .order_by(col(PriceAdjustment.valid_from))
    ).all()
    return next((adjustment for adjustment in rows if concerns(session, adjustment, contract.id)), None)
