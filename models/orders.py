"""The supply order a client sends to start a contract (API and CLI input), validated like intake."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from models.contracts import Division
from rules.ids import validate_iban, validate_malo_id, validate_market_partner_id

MaloId = Annotated[str, AfterValidator(validate_malo_id)]
PartnerId = Annotated[str, AfterValidator(validate_market_partner_id)]
Iban = Annotated[str, AfterValidator(validate_iban)]
Key = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Postcode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerData(Strict):
    customer_number: Key
    first_name: Text = ""
    last_name: Text = ""
    company: Text = ""
    street: Text
    house_number: Text = ""
    postcode: Postcode
    city: Text
    email: Text = ""
    phone: Text = ""


class CustomerFields(Strict):
    """Changed customer data: only the fields given change (validated like intake)."""

    first_name: Text | None = None
    last_name: Text | None = None
    company: Text | None = None
    street: Text | None = None
    house_number: Text | None = None
    postcode: Postcode | None = None
    city: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    billing_channel: Literal["email", "print", ""] | None = Field(
        None, description="how bills and letters go out; empty: by e-mail when an address is known"
    )

    def changes(self) -> dict[str, str]:
        return {name: value for name, value in self.model_dump(exclude_none=True).items() if name in FIELD_NAMES}


FIELD_NAMES = frozenset(CustomerFields.model_fields)


class LocationData(Strict):
    malo_id: MaloId
    grid_operator_id: PartnerId
    street: Text = ""
    house_number: Text = ""
    postcode: Postcode | None = None
    city: Text = ""
    meter_number: Key | None = None


class PreviousSupplier(Strict):
    partner_id: PartnerId
    customer_number: Key | None = None
    cancel: bool = Field(True, description="we cancel the customer's contract there (Kündigung)")


class SepaData(Strict):
    iban: Iban
    bic: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")] | None = None
    account_holder: Text
    signed_on: date
    mandate_reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+?/:().,' -]{1,35}$")] | None = None


class ContractOrder(Strict):
    contract_number: Key
    division: Division
    tariff_code: Key
    wished_start: date
    annual_consumption_kwh: Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]
    transaction_reason: Literal["E01", "E03"] = Field("E03", description="E01 move-in, E03 supplier switch")
    customer: CustomerData
    account_number: Key | None = None
    location: LocationData
    previous_supplier: PreviousSupplier | None = None
    sepa: SepaData | None = None
