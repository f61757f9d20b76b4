"""SEPA files for the bank: CORE direct debits (pain.008) and refunds of credit balances (pain.001).

Built with sepaxml and validated against the XSD it ships; a file that does not validate is never returned
(REFERENCE §8.5). Amounts are Decimal with two places and reach sepaxml as exact integer cents. Free text is
transliterated into the SEPA character set (ä → ae, ß → ss, & → +); identifiers are rejected instead.

Schemas are the ISO 2019 versions (DK format standard since November 2023): sepaxml does not ship the German
pain.008.003.02, so that could not be validated, and pain.008.001.02 would make the creditor's BIC mandatory.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from dateutil.easter import easter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from schwifty import BIC
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaDD, SepaTransfer
from sepaxml.validation import ValidationError as SepaXmlValidationError
from text_unidecode import unidecode

from rules.ids import InvalidIdentifier, validate_iban

DIRECT_DEBIT_SCHEMA = "pain.008.001.08"
CREDIT_TRANSFER_SCHEMA = "pain.001.001.09"
SEQUENCES = ("FRST", "RCUR", "OOFF", "FNAL")
MAX_AMOUNT = Decimal("999999999.99")
CENT = Decimal("0.01")

SequenceType = Literal["FRST", "RCUR", "OOFF", "FNAL"]

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"})
_IN_CAPITALS = re.compile(r"(?<=[A-ZÄÖÜ])[ÄÖÜ]|[ÄÖÜ](?=[A-ZÄÖÜ])|(?<=[A-ZÄÖÜ])ß(?![a-zäöü])")
"""An umlaut or ß inside a word in capitals: MÜLLER → MUELLER, STRAßE → STRASSE."""
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_SEPA_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]+")
_CREDITOR_ID = re.compile(r"DE([0-9]{2})[A-Z0-9]{3}([0-9]{11})")


class SepaFileError(ValueError):
    """The generated file does not validate against the XSD; the message names the schema and the reason."""


# --- text and identifiers ------------------------------------------------------------------------


def sepa_text(value: str) -> str:
    """Free text in the SEPA character set: German umlauts spelt out, other letters without accents, & as +,
    any other character outside the set as a space; runs of white space collapsed."""
    text = _IN_CAPITALS.sub(lambda m: m.group().translate(_UMLAUTS).upper(), value).translate(_UMLAUTS)
    text = _NOT_SEPA.sub(" ", unidecode(text).replace("&", "+"))
    return " ".join(text.split())


def _sepa_id(value: str) -> str:
    """An identifier (message, end-to-end, mandate): 1–35 SEPA characters, no leading/trailing or double '/'."""
    if not 1 <= len(value) <= 35:
        raise ValueError(f"'{value}' must be 1 to 35 characters long, not {len(value)}")
    if not _SEPA_ID.fullmatch(value):
        raise ValueError(f"'{value}' may only contain A-Z a-z 0-9 / - ? : ( ) . , ' + and space")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"'{value}' must not start or end with '/' or contain '//'")
    return value


def _name(value: str) -> str:
    """A party name: SEPA text, cut to the 70 characters the format allows."""
    name = sepa_text(value)[:70].rstrip()
    if not name:
        raise ValueError(f"name '{value}' is empty in the SEPA character set")
    return name


def _remittance(value: str) -> str:
    text = sepa_text(value)
    if not 1 <= len(text) <= 140:
        raise ValueError(f"remittance text must be 1 to 140 characters after transliteration, not {len(text)}")
    return text


def _bic(value: str) -> str:
    try:
        return str(BIC(value).compact)
    except SchwiftyException as exc:
        raise ValueError(f"BIC '{value}' is invalid: {exc}") from exc


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite() or not CENT <= value <= MAX_AMOUNT or value != value.quantize(CENT):
        raise ValueError(f"amount must be between 0.01 and {MAX_AMOUNT} EUR with at most two decimals, not {value}")
    return value


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 remainder, letters counted A=10 … Z=35 (as for IBAN)."""
    return int("".join(str(int(char, 36)) for char in text)) % 97


def validate_creditor_id(value: str) -> str:
    """Return the German creditor identifier (Gläubiger-ID) compact and in upper case.

    DE, 2 check digits, a 3-character business code (not checked, often ZZZ), 11 digits. The check digits
    are ISO 7064 MOD 97-10 over the national id followed by DE and the check digits, as for IBAN.
    """
    compact = re.sub(r"\s+", "", value).upper()
    match = _CREDITOR_ID.fullmatch(compact)
    if match is None:
        raise InvalidIdentifier(
            f"Gläubiger-ID '{value}' must be DE, 2 check digits, a 3-character business code and 11 digits"
        )
    check, national = match.groups()
    if _mod97(national + "DE" + check) != 1:
        expected = 98 - _mod97(national + "DE00")
        raise InvalidIdentifier(f"Gläubiger-ID {compact}: check digits should be {expected:02d}")
    return compact


SepaId = Annotated[str, AfterValidator(_sepa_id)]
Name = Annotated[str, AfterValidator(_name)]
Remittance = Annotated[str, AfterValidator(_remittance)]
Iban = Annotated[str, AfterValidator(validate_iban)]
Bic = Annotated[str, AfterValidator(_bic)]
Amount = Annotated[Decimal, Field(strict=True), AfterValidator(_amount)]
"""EUR, a Decimal (never a float) from 0.01 with at most two decimals."""
CreditorId = Annotated[str, AfterValidator(validate_creditor_id)]


# --- input models --------------------------------------------------------------------------------


class Creditor(BaseModel):
    """The collecting supplier (tenant): its account and Gläubiger-ID."""

    model_config = ConfigDict(frozen=True)

    name: Name
    iban: Iban
    creditor_id: CreditorId
    bic: Bic | None = None


class Collection(BaseModel):
    """One direct debit under a CORE mandate."""

    model_config = ConfigDict(frozen=True)

    end_to_end_id: SepaId
    """Comes back with a return (R-transaction): the key to match it to the open item."""
    amount: Amount
    mandate_reference: SepaId
    mandate_signed_on: date
    debtor_name: Name
    debtor_iban: Iban
    sequence: SequenceType
    remittance: Remittance
    debtor_bic: Bic | None = None


class Debtor(BaseModel):
    """The paying supplier (tenant) of refunds. The BIC is required: without it sepaxml writes an empty
    debtor agent, which the XSD accepts but the SEPA credit transfer guidelines do not foresee."""

    model_config = ConfigDict(frozen=True)

    name: Name
    iban: Iban
    bic: Bic


class Transfer(BaseModel):
    """One refund of a credit balance to a customer."""

    model_config = ConfigDict(frozen=True)

    end_to_end_id: SepaId
    amount: Amount
    creditor_name: Name
    creditor_iban: Iban
    remittance: Remittance
    creditor_bic: Bic | None = None


# --- files ---------------------------------------------------------------------------------------


def _cents(amount: Decimal) -> int:
    """Exact integer cents of an amount with at most two decimals (no float on the way)."""
    return int(amount * 100)


def _check_file_ids(message_id: str, end_to_end_ids: Iterable[str]) -> None:
    try:
        _sepa_id(message_id)
    except ValueError as exc:
        raise ValueError(f"message_id: {exc}") from exc
    duplicates = sorted(key for key, count in Counter(end_to_end_ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"end_to_end_id must be unique within a file: {', '.join(duplicates)} repeated")


def _export(document: Any, message_id: str) -> bytes:
    """The validated XML of a sepaxml document, with our message id instead of sepaxml's random one."""
    document._xml.find(f"{document.root_el}/GrpHdr/MsgId").text = message_id
    try:
        xml: bytes = document.export(validate=True)
    except SepaXmlValidationError as exc:
        reason = getattr(exc.__cause__, "reason", None) or exc.__cause__ or exc
        raise SepaFileError(f"{document.schema} {message_id} does not validate against the XSD: {reason}") from exc
    return xml


def direct_debit_file(
    creditor: Creditor, collections: Sequence[Collection], collection_date: date, message_id: str
) -> bytes:
    """A pain.008 CORE file: one payment information block per sequence type, all due on collection_date."""
    _check_file_ids(message_id, (c.end_to_end_id for c in collections))
    for c in collections:
        if c.mandate_signed_on > collection_date:
            raise ValueError(
                f"{c.end_to_end_id}: mandate_signed_on {c.mandate_signed_on} is after the collection date"
                f" {collection_date}"
            )
    config: dict[str, Any] = {
        "name": creditor.name,
        "IBAN": creditor.iban,
        "creditor_id": creditor.creditor_id,
        "currency": "EUR",
        "instrument": "CORE",
        "batch": True,
    }
    if creditor.bic:
        config["BIC"] = creditor.bic
    document = SepaDD(config, schema=DIRECT_DEBIT_SCHEMA, clean=False)
    for c in collections:
        payment: dict[str, Any] = {
            "endtoend_id": c.end_to_end_id,
            "amount": _cents(c.amount),
            "type": c.sequence,
            "collection_date": collection_date,
            "mandate_id": c.mandate_reference,
            "mandate_date": c.mandate_signed_on,
            "name": c.debtor_name,
            "IBAN": c.debtor_iban,
            "description": c.remittance,
        }
        if c.debtor_bic:
            payment["BIC"] = c.debtor_bic
        document.add_payment(payment)
    return _export(document, message_id)


def credit_transfer_file(debtor: Debtor, transfers: Sequence[Transfer], execution_date: date, message_id: str) -> bytes:
    """A pain.001 SEPA credit transfer file (refunds), all to be executed on execution_date."""
    _check_file_ids(message_id, (t.end_to_end_id for t in transfers))
    config = {"name": debtor.name, "IBAN": debtor.iban, "BIC": debtor.bic, "currency": "EUR", "batch": True}
    document = SepaTransfer(config, schema=CREDIT_TRANSFER_SCHEMA, clean=False)
    for t in transfers:
        payment: dict[str, Any] = {
            "endtoend_id": t.end_to_end_id,
            "amount": _cents(t.amount),
            "execution_date": execution_date,
            "name": t.creditor_name,
            "IBAN": t.creditor_iban,
            "description": t.remittance,
        }
        if t.creditor_bic:
            payment["BIC"] = t.creditor_bic
        document.add_payment(payment)
    return _export(document, message_id)


# --- TARGET calendar -----------------------------------------------------------------------------


@cache
def _target_holidays(year: int) -> frozenset[date]:
    """TARGET2 closing days besides weekends: 1 Jan, Good Friday, Easter Monday, 1 May, 25 and 26 Dec."""
    sunday = easter(year)
    fixed = (date(year, 1, 1), date(year, 5, 1), date(year, 12, 25), date(year, 12, 26))
    return frozenset((*fixed, sunday - timedelta(days=2), sunday + timedelta(days=1)))


def is_target_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _target_holidays(day.year)


def next_target_business_day(day: date) -> date:
    """The first TARGET business day after day."""
    day += timedelta(days=1)
    while not is_target_business_day(day):
        day += timedelta(days=1)
    return day


def earliest_collection_date(submitted_on: date, sequence: str) -> date:
    """The earliest due date of a CORE direct debit submitted on submitted_on.

    The file must reach the bank one TARGET business day before the due date (D-1 for every sequence type
    since November 2016; sequence is checked but changes nothing). A file submitted on a closing day counts
    as received on the next business day. The bank's cut-off time is not modelled: after it, pass the next day.
    """
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence must be one of {', '.join(SEQUENCES)}, not '{sequence}'")
    received = submitted_on if is_target_business_day(submitted_on) else next_target_business_day(submitted_on)
    return next_target_business_day(received)
