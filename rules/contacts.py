"""Customer-center rules: what a contact is about, which complaints are special, when it must be answered.

Pure functions; the service and the contact process apply them.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from rules.calendar import BERLIN, add_working_days, at_local_time, is_working_day, next_working_day
from rules.ids import validate_iban, validate_malo_id


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    WEB = "web"


class Category(StrEnum):
    METER_READING = "meter_reading"
    TARIFF_QUESTION = "tariff_question"
    BILL_QUESTION = "bill_question"
    PAYMENT = "payment"
    MOVE_CANCELLATION = "move_cancellation"
    MASTER_DATA = "master_data"
    COMPLAINT = "complaint"
    RETURNED_MAIL = "returned_mail"
    OTHER = "other"


class ComplaintKind(StrEnum):
    NONE = ""
    CUSTOMER = "customer"
    LEGAL = "legal"
    """From a lawyer, a court, an estate or insolvency administrator."""
    REGULATOR = "regulator"
    """Through the Bundesnetzagentur (Verbraucherservice Energie)."""
    ARBITRATION = "arbitration"
    """Through the Schlichtungsstelle Energie (§111b EnWG)."""


COMPLAINT_ANSWER_DAYS = 28
"""§111a EnWG: a consumer's complaint (Beanstandung) is answered within four weeks of its receipt."""
END_OF_BUSINESS_HOUR = 18

_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.COMPLAINT: (r"beschwer", r"beanstand", r"reklamation", r"unzufrieden", r"complain", r"frechheit"),
    Category.MOVE_CANCELLATION: (
        r"kündig",
        r"kuendig",
        r"umzug",
        r"ziehe\w* um",
        r"ausz(ug|iehe)",
        r"neue wohnung",
        r"\bmov(e|ing)\b",
        r"cancel",
    ),
    Category.METER_READING: (r"zähler\s*stand", r"zaehler\s*stand", r"ablesung", r"abgelesen", r"meter reading"),
    Category.PAYMENT: (
        r"abschlag",
        r"rate(n|nzahlung)\b",
        r"ratenplan",
        r"stundung",
        r"lastschrift",
        r"mahnung",
        r"überweis",
        r"zahlung",
        r"payment",
        r"instal+ment",
    ),
    Category.BILL_QUESTION: (r"rechnung", r"abrechnung", r"\bbill\b", r"invoice"),
    Category.TARIFF_QUESTION: (r"tarif", r"preis", r"grundpreis", r"arbeitspreis", r"\bprices?\b"),
    Category.MASTER_DATA: (
        r"bankverbindung",
        r"\biban\b",
        r"sepa",
        r"anschrift",
        r"adress(e|änderung)",
        r"namensänderung",
        r"geheiratet",
        r"telefonnummer",
        r"e-?mail-adresse",
    ),
}
_PRECEDENCE = list(_KEYWORDS)
"""On equal hits the earlier category wins."""

_REGULATOR = (r"bundesnetzagentur", r"\bbnetza\b", r"verbraucherservice energie")
_ARBITRATION = (r"schlichtungsstelle", r"schlichtungsverfahren", r"schlichtungsantrag")
_LEGAL = (
    r"rechtsanw(a|ä)lt",
    r"kanzlei",
    r"(amts|land|ober\w*)gericht",
    r"gerichtsvollzieher",
    r"insolvenzverwalt",
    r"nachlass(verwalt|pfleg)",
    r"testamentsvollstreck",
)


def _hits(patterns: tuple[str, ...], text: str) -> int:
    return sum(len(re.findall(pattern, text)) for pattern in patterns)


def classify(subject: str, text: str) -> Category:
    """The topic of a contact from its subject and text (German and English keywords); OTHER when none fits.

    Any complaint is a complaint, whatever it is about (it has its own deadline)."""
    content = f"{subject}\n{subject}\n{text}".lower()  # the subject counts twice
    if complaint_kind(subject, text, "") != ComplaintKind.NONE:
        return Category.COMPLAINT
    scores = {category: _hits(patterns, content) for category, patterns in _KEYWORDS.items()}
    best = max(scores.values())
    if best == 0:
        return Category.OTHER
    return next(category for category in _PRECEDENCE if scores[category] == best)


def complaint_kind(subject: str, text: str, sender: str) -> ComplaintKind:
    """Regulator and arbitration complaints first, then letters from lawyers, courts and administrators."""
    content = f"{subject}\n{text}".lower()
    if _hits(_REGULATOR, content):
        return ComplaintKind.REGULATOR
    if _hits(_ARBITRATION, content):
        return ComplaintKind.ARBITRATION
    if _hits(_LEGAL, f"{sender}\n{content}".lower()):
        return ComplaintKind.LEGAL
    if _hits(_KEYWORDS[Category.COMPLAINT], content):
        return ComplaintKind.CUSTOMER
    return ComplaintKind.NONE


@dataclass(frozen=True)
class Level:
    working_days: int
    priority: int


DEFAULT_LEVELS: dict[str, Level] = {
    Channel.PHONE: Level(1, 2),
    Channel.EMAIL: Level(2, 3),
    Channel.WEB: Level(2, 3),
    Channel.LETTER: Level(5, 3),
    ComplaintKind.CUSTOMER: Level(10, 2),
    ComplaintKind.LEGAL: Level(5, 2),
    ComplaintKind.REGULATOR: Level(3, 1),
    ComplaintKind.ARBITRATION: Level(3, 1),
    "address_research": Level(5, 3),
    "reading_check": Level(2, 3),
}
"""Answer times in working days (BDEW calendar) and task priority per topic; a tenant may set its own."""


def service_topic(channel: str, complaint: str) -> str:
    """The service level a contact is held to: its complaint kind, otherwise its channel."""
    return complaint or channel


def due_at(received_at: datetime, working_days: int) -> datetime:
    """End of business (18:00 Berlin) of the n-th working day after receipt; 0: the day of receipt (or the next
    working day when received on a holiday or weekend)."""
    received = received_at.astimezone(BERLIN).date()
    if working_days == 0:
        day = received if is_working_day(received) else next_working_day(received)
    else:
        day = add_working_days(received, working_days)
    return at_local_time(day, END_OF_BUSINESS_HOUR).astimezone(UTC)


def complaint_answer_by(received_at: datetime) -> date:
    """The last day a complaint may be answered (§111a EnWG: four weeks)."""
    return received_at.astimezone(BERLIN).date() + timedelta(days=COMPLAINT_ANSWER_DAYS)


@dataclass(frozen=True)
class CallbackWindow:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a callback window needs timezone-aware times")
        if self.end <= self.start:
            raise ValueError("a callback window must end after it starts")


CALLBACK_ATTEMPTS = 2
"""An unreached customer is called once more, then gets a letter."""


def next_callback_window(window: CallbackWindow, now: datetime) -> CallbackWindow:
    """The same local times on the next working day after ``now`` (the second attempt)."""
    start, end = window.start.astimezone(BERLIN), window.end.astimezone(BERLIN)
    day = next_working_day(now.astimezone(BERLIN).date())
    shift = day - start.date()
    return CallbackWindow(
        at_local_time(day, start.hour, start.minute).astimezone(UTC),
        at_local_time(end.date() + shift, end.hour, end.minute).astimezone(UTC),
    )


def callback_window_on(day: date, hours: tuple[int, int] = (9, 17)) -> CallbackWindow:
    """A default window on a day (business hours)."""
    return CallbackWindow(at_local_time(day, hours[0]).astimezone(UTC), at_local_time(day, hours[1]).astimezone(UTC))


_CUSTOMER_NUMBER = re.compile(r"kunden[-\s]?(?:nummer|nr\.?)\s*:?\s*([A-Za-z0-9./-]{3,40})", re.IGNORECASE)
_ACCOUNT_NUMBER = re.compile(r"vertragskonto(?:nummer|[-\s]?nr\.?)?\s*:?\s*([A-Za-z0-9./-]{3,40})", re.IGNORECASE)
_MALO = re.compile(r"(?<!\d)(\d{11})(?!\d)")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?)\b")


def extract_hints(text: str) -> dict[str, str]:
    """Customer number, contract account, MaLo and IBAN as written in a letter or an e-mail (checked ids only)."""
    hints: dict[str, str] = {}
    if match := _CUSTOMER_NUMBER.search(text):
        hints["customer_number"] = match.group(1).rstrip(".")
    if match := _ACCOUNT_NUMBER.search(text):
        hints["account_number"] = match.group(1).rstrip(".")
    for candidate in _MALO.findall(text):
        try:
            hints["malo_id"] = validate_malo_id(candidate)
            break
        except ValueError:
            continue
    for candidate in _IBAN.findall(text.upper()):
        try:
            hints["iban"] = validate_iban(candidate)
            break
        except ValueError:
            continue
    return hints
