"""A contact as the API and the e-mail import receive it, and the actions a contact (or a clerk) asks for."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, Base64Bytes, Field, StringConstraints, TypeAdapter, model_validator

from models.orders import CustomerFields, Iban, Key, MaloId, PartnerId, Postcode, Strict, Text
from rules.contacts import Category, Channel, ComplaintKind

CLOCK_SKEW = timedelta(minutes=5)
"""Senders' clocks may be a little ahead."""
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ReadingRequest(Strict):
    action: Literal["meter_reading"]
    value: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=3)]
    read_on: date


class CancellationRequest(Strict):
    action: Literal["cancellation"]
    requested_end: date | None = Field(None, description="first day without supply; empty: the next possible day")


class NewSupply(Strict):
    """Supply at the new address (a move-in, E01); the tariff stays."""

    malo_id: MaloId
    grid_operator_id: PartnerId
    meter_number: Key | None = None
    annual_consumption_kwh: Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)] | None = None


class MoveRequest(Strict):
    action: Literal["move"]
    moved_out_on: date = Field(description="first day the customer no longer lives at the supplied address")
    street: Text
    house_number: Text = ""
    postcode: Postcode
    city: Text
    new_supply: NewSupply | None = Field(None, description="supply the new address from moved_out_on")


class BankDetailsRequest(Strict):
    action: Literal["bank_details"]
    iban: Iban
    account_holder: Text
    signed_on: date


class InstalmentRequest(Strict):
    action: Literal["instalment_plan"]
    rates: int = Field(ge=2, le=24)
    first_due: date


class MasterDataRequest(CustomerFields):
    action: Literal["master_data"]


class CallbackRequest(Strict):
    action: Literal["callback"]
    phone: Text = ""
    window_start: AwareDatetime
    window_end: AwareDatetime


class AnsweredRequest(Strict):
    action: Literal["answered"]
    note: str = Field("", max_length=2000)


ContactRequest = Annotated[
    ReadingRequest
    | CancellationRequest
    | MoveRequest
    | BankDetailsRequest
    | InstalmentRequest
    | MasterDataRequest
    | CallbackRequest
    | AnsweredRequest,
    Field(discriminator="action"),
]
ACTIONS = ("meter_reading", "cancellation", "move", "bank_details", "instalment_plan", "master_data", "callback")
"""What a clerk may do with a contact besides answering it."""
REQUEST = TypeAdapter[ContactRequest](ContactRequest)


class CustomerHints(Strict):
    """Whatever the sender gave to recognise them; the first that matches wins (in this order)."""

    customer_number: Key | None = None
    account_number: Key | None = None
    malo_id: MaloId | None = None
    iban: Iban | None = None


class Sender(Strict):
    name: Line = ""
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    email: Line = ""
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = ""


class AttachmentIn(Strict):
    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    media_type: Annotated[str, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$")] = "application/octet-stream"
    content: Base64Bytes = Field(description="base64", max_length=10 * 1024 * 1024)


class ContactIn(Strict):
    channel: Channel
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="your id of the contact; sending it again returns the stored contact"
    )
    received_at: AwareDatetime | None = None
    customer: CustomerHints = CustomerHints()
    sender: Sender = Sender()
    subject: Line = ""
    text: str = Field("", max_length=100_000)
    category: Category | None = Field(None, description="empty: classified from subject and text")
    complaint: ComplaintKind | None = Field(None, description="empty: recognised from the text and the sender")
    settled: bool = Field(False, description="phone: settled in the call")
    answer_by: date | None = Field(None, description="a deadline set by the regulator or the arbitration body")
    request: ContactRequest | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _has_content(self) -> "ContactIn":
        if not (self.subject or self.text or self.request or self.attachments or self.category):
            raise ValueError("a contact needs a subject, a text, a request or an attachment")
        if self.settled and self.channel != Channel.PHONE:
            raise ValueError("only a phone contact can be settled in the call")
        if self.received_at is not None and self.received_at > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("a contact cannot be received in the future")
        return self
