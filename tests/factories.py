"""Master data and orders for tests: valid, unique identifiers every time."""

import random
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from models.contracts import Tariff, TariffPrice
from models.parties import MarketPartner, PartnerCommunication
from models.tenancy import Tenant
from rules.ids import malo_check_digit, market_partner_check_digit

_random = random.Random()


def malo_id() -> str:
    base = str(_random.randint(1, 9)) + "".join(str(_random.randint(0, 9)) for _ in range(9))
    return base + str(malo_check_digit(base))


def partner_id(prefix: str = "99") -> str:
    base = prefix + "".join(str(_random.randint(0, 9)) for _ in range(12 - len(prefix)))
    return base + str(market_partner_check_digit(base))


def short_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class World:
    """One tenant with its grid operator, previous supplier and a Strom and a Gas tariff."""

    def __init__(self, session: Session) -> None:
        self.tenant = Tenant(
            id=short_id("sw"),
            name="Stadtwerke Musterstadt GmbH",
            market_partner_id=partner_id("99"),
            gas_market_partner_id=partner_id("98"),
            street="Hauptstraße 1",
            postcode="12345",
            city="Musterstadt",
            phone="0800 1234567",
            email="service@sw-musterstadt.de",
        )
        self.grid_operator = MarketPartner(id=partner_id("99"), name="Netz Musterstadt GmbH", role="grid_operator")
        self.gas_grid_operator = MarketPartner(id=partner_id("98"), name="Gasnetz Musterstadt", role="grid_operator")
        self.previous_supplier = MarketPartner(id=partner_id("99"), name="Altlieferant AG", role="supplier")
        self.previous_gas_supplier = MarketPartner(id=partner_id("98"), name="Altgas AG", role="supplier")
        session.add_all(
            [
                self.tenant,
                self.grid_operator,
                self.gas_grid_operator,
                self.previous_supplier,
                self.previous_gas_supplier,
            ]
        )
        session.flush()
        session.add_all(  # every partner can be reached (by file transfer) since long ago
            PartnerCommunication(partner_id=p.id, valid_from=date(2000, 1, 1), channel="drop", address=f"outbox/{p.id}")
            for p in (self.grid_operator, self.gas_grid_operator, self.previous_supplier, self.previous_gas_supplier)
        )
        session.flush()
        self.strom_tariff = Tariff(tenant_id=self.tenant.id, code="STROM-BASIS", name="Strom Basis", division="strom")
        self.gas_tariff = Tariff(tenant_id=self.tenant.id, code="GAS-BASIS", name="Erdgas Basis", division="gas")
        session.add_all([self.strom_tariff, self.gas_tariff])
        session.flush()
        assert self.strom_tariff.id is not None and self.gas_tariff.id is not None
        session.add_all(
            [
                TariffPrice(
                    tariff_id=self.strom_tariff.id,
                    valid_from=date(2020, 1, 1),
                    working_price=Decimal("0.3245"),
                    base_price_per_year=Decimal("120.00"),
                ),
                TariffPrice(
                    tariff_id=self.gas_tariff.id,
                    valid_from=date(2020, 1, 1),
                    working_price=Decimal("0.0950"),
                    base_price_per_year=Decimal("150.00"),
                ),
            ]
        )
        session.commit()

    def order(self, wished_start: date, *, division: str = "strom", **overrides: Any) -> dict[str, Any]:
        """A valid order as JSON-like dict (switch from the previous supplier, with SEPA mandate)."""
        gas = division == "gas"
        order: dict[str, Any] = {
            "contract_number": short_id("V"),
            "division": division,
            "tariff_code": "GAS-BASIS" if gas else "STROM-BASIS",
            "wished_start": wished_start.isoformat(),
            "annual_consumption_kwh": "3500",
            "transaction_reason": "E03",
            "customer": {
                "customer_number": short_id("K"),
                "first_name": "Erika",
                "last_name": "Mustermann",
                "street": "Lindenweg",
                "house_number": "7",
                "postcode": "12345",
                "city": "Musterstadt",
            },
            "location": {
                "malo_id": malo_id(),
                "grid_operator_id": (self.gas_grid_operator if gas else self.grid_operator).id,
            },
            "previous_supplier": {
                "partner_id": (self.previous_gas_supplier if gas else self.previous_supplier).id,
                "customer_number": "ALT-4711",
                "cancel": True,
            },
            "sepa": {
                "iban": "DE89370400440532013000",
                "account_holder": "Erika Mustermann",
                "signed_on": "2026-11-01",
            },
        }
        order.update(overrides)
        return order
