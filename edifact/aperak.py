"""Typed APERAK 2.1i (no Prüfidentifikator): Verarbeitbarkeitsfehlermeldung (BGM+313) and Anerkennungsmeldung (BGM+312).

Segment layout (EDI@Energy APERAK MIG 2.1i)::

    BGM+313|312+<document no>'             DTM+137:<message date>:303'
    SG2  RFF+ACE:<interchange ref (UNB 0020) of the checked file>'  DTM+171:<its date>:303'
         RFF+AGO:<document no>'  RFF+TN:<transaction>'               (Anerkennungsmeldung only)
    SG3  NAD+MS+<id>::293'  [CTA+IC+:<name>'  COM+<number>:<channel>']   NAD+MR+<id>::293'
    SG4  ERC+<code>'  [FTX+ABO+++<text>:<text>...']
         SG5 RFF+ACW:<message ref (UNH 0062)>'  RFF+AGO:<document no (BGM)>'  RFF+TN:<transaction (IDE)>'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError, field_validator, model_validator
from pydifact import Segment

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError
from edifact.segments import element_components, element_value, format_date, make_segment, parse_date

__all__ = [
    "ACKNOWLEDGEMENT",
    "ERC_CODES",
    "PROCESSING_ERROR",
    "AperakCommunication",
    "AperakError",
    "AperakMessage",
    "MessageHeader",
    "aperak_interchange",
    "build_aperak",
    "negative_aperak",
    "parse_aperak",
    "positive_aperak",
]

ASSOCIATION = "2.1i"
#: BGM document name codes.
PROCESSING_ERROR = "313"  # Verarbeitbarkeitsfehlermeldung
ACKNOWLEDGEMENT = "312"  # Anerkennungsmeldung (Strom)

#: ERC codes (selection, REFERENCE 5.3 / APERAK AHB) -> German meaning. ZO = Zuordnungsfehler, OE =
#: Objekteigenschaftsfehler, ÜN = Übernahmefehler, AHB = AHB-Fehler.
ERC_CODES: dict[str, str] = {
    "Z10": "ZO Objekt: ID unbekannt (z. B. MaLo-ID im System des Empfängers nicht vorhanden)",
    "Z14": "ZO Objekt: Objekt über die angegebenen Attribute nicht gefunden",
    "Z15": "ZO Objekt: Objekt über die angegebenen Attribute nicht eindeutig",
    "Z16": "ZO Objekt: Objekt nicht mehr im Netzgebiet des Netzbetreibers",
    "Z17": "ZO Objekt: Absender ist zum angegebenen Zeitpunkt dem Objekt nicht zugeordnet",
    "Z18": "ZO Objekt: Empfänger ist zum angegebenen Zeitpunkt dem Objekt nicht zugeordnet",
    "Z19": "ZO Objekt: Gerätenummer für den angegebenen Zeitraum unbekannt",
    "Z20": "ZO Objekt: OBIS-Kennzahl für den angegebenen Zeitraum unbekannt",
    "Z21": "AHB: interne Referenz im Geschäftsvorfall fehlerhaft",
    "Z24": "ZO Objekt: Zuordnungs-Tupel unbekannt",
    "Z25": "ZO Objekt: Absender dem Zuordnungs-Tupel nicht zugeordnet",
    "Z26": "ZO Objekt: Empfänger dem Zuordnungs-Tupel nicht zugeordnet",
    "Z27": "ÜN: zu viele Vorkommastellen",
    "Z29": "AHB: für diesen Prüfidentifikator erforderliche Angabe fehlt",
    "Z30": "AHB: Zeitreihe unvollständig",
    "Z31": "AHB: Prüfidentifikator wird in der Marktrolle des Empfängers nicht verarbeitet",
    "Z33": "ZO Geschäftsvorfall: referenzierter Geschäftsvorfall nicht vorhanden",
    "Z34": "AHB: negativer Zeitraum (Ende vor Beginn)",
    "Z35": "AHB: Formatfehler",
    "Z37": "AHB: Prüfidentifikator darf in der Marktrolle des Absenders nicht gesendet werden",
    "Z38": "AHB: unzulässige Anzahl von Codes",
    "Z39": "AHB: Code nicht zulässig",
    "Z40": "AHB: unzulässige Wiederholung",
    "Z41": "AHB: Zeitangabe unplausibel",
    "Z42": "ZO Objekt: Konfigurations-ID unbekannt",
    "Z43": "OE: Geschäftsvorfall für ein Objekt mit dieser Eigenschaft nicht erlaubt",
    "Z44": "OE: Eigenschaft des Objekts weicht von der im Geschäftsvorfall codierten Eigenschaft ab",
}

#: NAD code list (293 BDEW, 332 DVGW, 9 GS1) -> UNB identification code qualifier (500, 502, 14).
_UNB_QUALIFIER = {"293": "500", "332": "502", "9": "14"}


class AperakError(BaseModel):
    """One error group (SG4): ERC code, FTX+ABO text and the references (SG5 RFF) of the faulty transaction.

    ``references`` maps the RFF qualifier to its value: ACW message reference (UNH), AGO document
    number (BGM), TN transaction (Vorgangsnummer). ``text`` is the first FTX+ABO line, ``further_text``
    the following ones (up to four more).
    """

    code: str
    text: str | None = None
    further_text: list[str] = []
    references: dict[str, str] = {}

    @field_validator("code")
    @classmethod
    def _code_given(cls, value: str) -> str:
        if not value:
            raise ValueError("ERC code is empty")
        return value

    @property
    def meaning(self) -> str | None:
        """German meaning of the ERC code when it is one of ``ERC_CODES``."""
        return ERC_CODES.get(self.code)


class AperakCommunication(BaseModel):
    """COM segment of the sender's contact: number and channel (TE phone, EM e-mail, FX fax)."""

    number: str
    channel: str


class AperakMessage(BaseModel):
    """An APERAK message; datetimes are timezone-aware and stored in UTC.

    ``referenced_interchange`` is RFF+ACE, the interchange reference (UNB 0020) of the file the
    answer is about, ``referenced_at`` the DTM+171 belonging to it. ``references`` holds the other
    message-level references (RFF+AGO, RFF+TN of an Anerkennungsmeldung).
    """

    association: str = ASSOCIATION
    message_reference: str
    category: str
    document_number: str
    document_date: datetime
    sender: str
    receiver: str
    sender_code_list: str = "293"
    receiver_code_list: str = "293"
    referenced_interchange: str | None = None
    referenced_at: datetime | None = None
    references: dict[str, str] = {}
    contact_name: str | None = None
    contact: list[AperakCommunication] = []
    errors: list[AperakError] = []
    pruefidentifikator: None = None

    @field_validator("document_date", "referenced_at")
    @classmethod
    def _aware_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _category_matches_errors(self) -> AperakMessage:
        if self.category == PROCESSING_ERROR and not self.errors:
            raise ValueError("a Verarbeitbarkeitsfehlermeldung (BGM+313) needs at least one error (ERC)")
        if self.category == ACKNOWLEDGEMENT and self.errors:
            raise ValueError("an Anerkennungsmeldung (BGM+312) carries no errors (ERC)")
        if self.category not in (PROCESSING_ERROR, ACKNOWLEDGEMENT):
            raise ValueError(f"APERAK category {self.category!r} is neither 313 nor 312")
        return self

    @property
    def positive(self) -> bool:
        return self.category == ACKNOWLEDGEMENT


class MessageHeader(Protocol):
    """What an APERAK needs from the message it answers (UtilmdMessage and similar typed messages).

    A ``transaction_id`` attribute (IDE Vorgangsnummer) is used when the message has one.
    """

    @property
    def sender(self) -> str: ...
    @property
    def receiver(self) -> str: ...
    @property
    def sender_code_list(self) -> str: ...
    @property
    def receiver_code_list(self) -> str: ...
    @property
    def message_reference(self) -> str: ...
    @property
    def document_number(self) -> str: ...


# ---------------------------------------------------------------- parsing


class _Reader:
    """Walks the segments of one APERAK message and collects the fields."""

    def __init__(self, msg: RawMessage) -> None:
        self.msg = msg
        self.fields: dict[str, Any] = {"references": {}, "contact": [], "errors": []}
        self.last_reference: str | None = None
        self.last_party: str | None = None
        self.error: dict[str, Any] | None = None

    def fail(self, detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError:
        """Content error at body segment ``index`` (-1 is the UNH of the message)."""
        position = (self.msg.position or 1) + 1 + index
        return EdifactContentError(f"message {self.msg.reference}: {detail}", segment, position)

    def read(self, index: int, segment: Segment) -> None:
        tag, qualifier = segment.tag, element_value(segment, 0)
        if tag == "BGM":
            self.fields.setdefault("category", qualifier)
            self.fields.setdefault("document_number", element_value(segment, 1))
        elif tag == "DTM":
            self._dtm(segment)
        elif tag == "RFF":
            self._rff(segment)
        elif tag == "NAD" and qualifier in ("MS", "MR"):
            role = "sender" if qualifier == "MS" else "receiver"
            self.fields.setdefault(role, element_value(segment, 1))
            self.fields.setdefault(f"{role}_code_list", element_value(segment, 1, 2))
            self.last_party = qualifier
        elif tag == "CTA" and self.last_party == "MS":
            self.fields.setdefault("contact_name", element_value(segment, 1, 1) or None)
        elif tag == "COM" and self.last_party == "MS":
            channel = element_value(segment, 0, 1)
            self.fields["contact"].append({"number": element_value(segment, 0), "channel": channel})
        elif tag == "ERC":
            self.error = {"code": element_value(segment, 0), "references": {}}
            self.fields["errors"].append(self.error)
        elif tag == "FTX" and qualifier == "ABO":
            if self.error is None:
                raise self.fail("FTX+ABO outside an error group (ERC)", "FTX", index)
            lines = element_components(segment, 3)
            self.error["text"] = lines[0] if lines else None
            self.error["further_text"] = lines[1:]

    def _dtm(self, segment: Segment) -> None:
        qualifier, value, fmt = (element_value(segment, 0, i) for i in range(3))
        if qualifier == "137":
            self.fields.setdefault("document_date", parse_date(value, fmt))
        elif qualifier == "171" and self.last_reference == "ACE":
            self.fields.setdefault("referenced_at", parse_date(value, fmt))

    def _rff(self, segment: Segment) -> None:
        qualifier, value = element_value(segment, 0), element_value(segment, 0, 1)
        self.last_reference = qualifier
        if self.error is not None:
            self.error["references"][qualifier] = value
        elif qualifier == "ACE":
            self.fields.setdefault("referenced_interchange", value)
        else:
            self.fields["references"][qualifier] = value


def parse_aperak(msg: RawMessage) -> AperakMessage:
    """Read an APERAK message; raise EdifactContentError if it is not usable."""
    reader = _Reader(msg)
    if msg.type != "APERAK":
        raise reader.fail(f"is a {msg.type} message, not APERAK")
    for index, segment in enumerate(msg.segments):
        try:
            reader.read(index, segment)
        except ValueError as exc:
            raise reader.fail(str(exc), segment.tag, index) from exc
    required = {
        "category": "BGM",
        "document_number": "BGM",
        "document_date": "DTM+137",
        "sender": "NAD+MS",
        "receiver": "NAD+MR",
    }
    missing = sorted({segment for name, segment in required.items() if not reader.fields.get(name)})
    if missing:
        raise reader.fail(f"mandatory data missing: {', '.join(missing)}")
    try:
        return AperakMessage(association=msg.association, message_reference=msg.reference, **reader.fields)
    except ValidationError as exc:
        details = "; ".join(error["msg"] for error in exc.errors())
        raise reader.fail(details) from None


# ---------------------------------------------------------------- building


def build_aperak(m: AperakMessage) -> RawMessage:
    """Write the message segments in MIG order; only set fields are emitted."""
    segs = [
        make_segment("BGM", m.category, m.document_number),
        make_segment("DTM", ["137", format_date(m.document_date), "303"]),
    ]
    if m.referenced_interchange:
        segs.append(make_segment("RFF", ["ACE", m.referenced_interchange]))
        if m.referenced_at:
            segs.append(make_segment("DTM", ["171", format_date(m.referenced_at), "303"]))
    segs.extend(make_segment("RFF", [qualifier, value]) for qualifier, value in m.references.items())
    segs.append(make_segment("NAD", "MS", [m.sender, "", m.sender_code_list]))
    if m.contact_name:
        segs.append(make_segment("CTA", "IC", ["", m.contact_name]))
    segs.extend(make_segment("COM", [com.number, com.channel]) for com in m.contact)
    segs.append(make_segment("NAD", "MR", [m.receiver, "", m.receiver_code_list]))
    for error in m.errors:
        segs.append(make_segment("ERC", error.code))
        if error.text or error.further_text:
            segs.append(make_segment("FTX", "ABO", "", "", [error.text or "", *error.further_text]))
        segs.extend(make_segment("RFF", [qualifier, value]) for qualifier, value in error.references.items())
    return RawMessage(
        reference=m.message_reference,
        type="APERAK",
        version="D",
        release="07B",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def _unb_party(party_id: str, code_list: str) -> Party:
    return Party(id=party_id, qualifier=_UNB_QUALIFIER.get(code_list, code_list))


def aperak_interchange(
    messages: list[AperakMessage],
    *,
    reference: str,
    prepared_at: datetime,
    sender: Party | None = None,
    receiver: Party | None = None,
) -> Interchange:
    """Wrap APERAK messages into an interchange; the UNB parties default to the NAD parties of the first message."""
    if not messages:
        raise ValueError("an interchange needs at least one APERAK message")
    first = messages[0]
    return Interchange(
        sender=sender or _unb_party(first.sender, first.sender_code_list),
        receiver=receiver or _unb_party(first.receiver, first.receiver_code_list),
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_aperak(m) for m in messages],
    )


# ---------------------------------------------------------------- answering a message


def _answer(
    original: MessageHeader,
    category: str,
    *,
    interchange_reference: str,
    interchange_date: datetime,
    at: datetime,
    reference: str,
    document_number: str | None,
    references: dict[str, str],
    errors: list[AperakError],
) -> AperakMessage:
    return AperakMessage(
        message_reference=reference,
        category=category,
        document_number=document_number or reference,
        document_date=at.replace(second=0, microsecond=0),
        sender=original.receiver,
        receiver=original.sender,
        sender_code_list=original.receiver_code_list,
        receiver_code_list=original.sender_code_list,
        referenced_interchange=interchange_reference,
        referenced_at=interchange_date.replace(second=0, microsecond=0),
        references=references,
        errors=errors,
    )


def negative_aperak(
    original: MessageHeader,
    errors: list[AperakError],
    *,
    interchange_reference: str,
    interchange_date: datetime,
    at: datetime,
    reference: str,
    document_number: str | None = None,
) -> AperakMessage:
    """Verarbeitbarkeitsfehlermeldung (BGM+313) answering ``original`` with sender and receiver swapped.

    ``interchange_reference``/``interchange_date`` identify the received file (UNB 0020 and its
    date: RFF+ACE, DTM+171). Every error group gets RFF+ACW (message reference), RFF+AGO (document
    number) and RFF+TN (transaction, when the original has one); references given in an error win.
    ``reference`` is the new message reference and, unless ``document_number`` is given, the BGM number.
    """
    if not errors:
        raise ValueError("a negative APERAK needs at least one error")
    defaults = {"ACW": original.message_reference, "AGO": original.document_number}
    transaction = getattr(original, "transaction_id", None)
    if transaction:
        defaults["TN"] = transaction
    answered = [error.model_copy(update={"references": defaults | error.references}) for error in errors]
    return _answer(
        original,
        PROCESSING_ERROR,
        interchange_reference=interchange_reference,
        interchange_date=interchange_date,
        at=at,
        reference=reference,
        document_number=document_number,
        references={},
        errors=answered,
    )


def positive_aperak(
    original: MessageHeader,
    *,
    interchange_reference: str,
    interchange_date: datetime,
    at: datetime,
    reference: str,
    document_number: str | None = None,
) -> AperakMessage:
    """Anerkennungsmeldung (BGM+312, Strom only): RFF+ACE/DTM+171 plus RFF+AGO and RFF+TN of ``original``."""
    references = {"AGO": original.document_number}
    transaction = getattr(original, "transaction_id", None)
    if transaction:
        references["TN"] = transaction
    return _answer(
        original,
        ACKNOWLEDGEMENT,
        interchange_reference=interchange_reference,
        interchange_date=interchange_date,
        at=at,
        reference=reference,
        document_number=document_number,
        references=references,
        errors=[],
    )
