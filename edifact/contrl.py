"""Typed CONTRL 2.0b (syntax and service report, UN syntax version 3): Syntaxfehlermeldung and Empfangsbestätigung.

Structure (EDI@Energy CONTRL MIG 2.0b, ISO 9735-4)::

    UCI+<interchange ref>+<sender>:<qual>+<receiver>:<qual>+<action 0083>[+<0085>+<0013>+<S011>]'
    SG1  UCM+<message ref>+<type:version:release:agency:assoc>+<action>[+<0085>+<0013>+<S011>]'
         SG2  UCS+<segment position, UNH = 1>[+<0085>]'
              UCD+<0085>+<element position>[:<component position>]'

UCI reports on the interchange and on UNA/UNB/UNZ, UCM on one message and its UNH/UNT, UCS on a
segment of that message, UCD on a data element of that segment. CONTRL has no NAD: sender and
receiver of a ContrlMessage are those of its own interchange (UNB ids and qualifiers 500/502/14).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel

from edifact.envelope import Interchange, Party, RawMessage
from edifact.errors import EdifactContentError, EdifactSyntaxError
from edifact.segments import element_value, make_segment

__all__ = [
    "ACKNOWLEDGED",
    "REJECTED",
    "SYNTAX_ERROR_CODES",
    "SYNTAX_ERROR_KINDS",
    "ContrlElementError",
    "ContrlMessage",
    "ContrlMessageReport",
    "ContrlSegmentError",
    "build_contrl",
    "contrl_acknowledgement",
    "contrl_for_syntax_error",
    "contrl_interchange",
    "parse_contrl",
    "sender_of_broken",
    "syntax_error_code",
]

ASSOCIATION = "2.0b"
#: Action codes (0083).
REJECTED = "4"  # this level and all lower levels rejected (Syntaxfehlermeldung)
ACKNOWLEDGED = "7"  # this level acknowledged (Empfangsbestätigung, Gas)

#: UN/EDIFACT service code list 0085 "Syntax error, coded".
SYNTAX_ERROR_CODES: dict[str, str] = {
    "2": "syntax version or level not supported",
    "7": "interchange recipient not actual recipient",
    "12": "invalid value",
    "13": "missing",
    "14": "value not supported in this position",
    "15": "not supported in this position",
    "16": "too many constituents",
    "17": "no agreement",
    "18": "unspecified error",
    "19": "invalid decimal notation",
    "20": "character invalid as service character",
    "21": "invalid character(s)",
    "22": "invalid service character(s)",
    "23": "unknown interchange sender",
    "24": "too old",
    "25": "test indicator not supported",
    "26": "duplicate detected",
    "27": "security function not supported",
    "28": "references do not match",
    "29": "control count does not match number of instances received",
    "30": "groups and messages/packages mixed",
    "31": "more than one message type in group",
    "32": "lower level empty",
    "33": "invalid occurrence outside message, package or group",
    "35": "too many data element or segment repetitions",
    "36": "too many segment group repetitions",
    "37": "invalid type of character(s)",
    "38": "missing digit in front of decimal sign",
    "39": "data element too long",
    "40": "data element too short",
}


class _Kind(NamedTuple):
    """How one kind of EdifactSyntaxError is reported."""

    pattern: str  # regex searched in the error detail written by edifact.envelope
    code: str  # 0085
    element: int | None = None  # S011 0098: position of the faulty data element in the segment
    tag: str | None = None  # the segment concerned when it is not the one the error names (e.g. the missing one)
    outside: bool = False  # the segment stands outside any message: always reported in UCI


#: EdifactSyntaxError detail -> 0085 code; the first match wins, anything else is 18 (unspecified).
SYNTAX_ERROR_KINDS: tuple[_Kind, ...] = (
    _Kind(r"input is empty|not an EDIFACT interchange|must start with UNB", "13", tag="UNB"),  # UNB missing
    _Kind(r"not closed by UNT", "13", tag="UNT"),  # next UNH/UNZ came before the UNT
    _Kind(r"\(truncated\?\)", "13"),  # file ends inside a segment or without UNT/UNZ
    _Kind(r"invalid service string advice", "20", tag="UNA"),
    _Kind(r"release character", "22"),  # release character before an ordinary character or the terminator
    _Kind(r"control character", "21"),
    _Kind(r"valid segment tag", "12"),
    _Kind(r"no data elements", "13"),
    _Kind(r"^preparation date/time", "12", element=4),
    _Kind(r"^sender id is missing", "13", element=2),
    _Kind(r"^receiver id is missing", "13", element=3),
    _Kind(r"^interchange control reference is missing", "13", element=5),
    _Kind(r"^message reference is missing", "13", element=1),
    _Kind(r"^message identifier", "13", element=2),
    _Kind(r"^count .* is not a number", "37", element=1),
    _Kind(r"^(message|interchange) reference .* does not match", "28", element=2),  # UNT/UNZ vs UNH/UNB
    _Kind(r"^(segment|message) count .* does not match", "29", element=1),  # UNT/UNZ count
    _Kind(r"^functional groups", "15", outside=True),
    _Kind(r"after UNZ|outside of a UNH\.\.UNT message", "33", outside=True),
)
_UNKNOWN_KIND = _Kind("", "18")
_INTERCHANGE_TAGS = ("UNA", "UNB", "UNZ")
_MESSAGE_TAGS = ("UNH", "UNT")
_WHITESPACE = " \t\r\n"


def syntax_error_code(error: EdifactSyntaxError) -> str:
    """The 0085 code for an error raised by parse_interchange (see SYNTAX_ERROR_KINDS)."""
    return _kind(error).code


def _kind(error: EdifactSyntaxError) -> _Kind:
    return next((kind for kind in SYNTAX_ERROR_KINDS if re.search(kind.pattern, error.detail)), _UNKNOWN_KIND)


# ---------------------------------------------------------------- model


class ContrlElementError(BaseModel):
    """UCD: a faulty data element. Positions are ints; non-numeric text (generated samples: ``X``) is kept."""

    error_code: str
    element: int | str
    component: int | str | None = None


class ContrlSegmentError(BaseModel):
    """UCS: a faulty or missing segment, by position in its message (UNH = 1)."""

    position: int | str
    error_code: str | None = None
    element_errors: list[ContrlElementError] = []


class ContrlMessageReport(BaseModel):
    """UCM: what happened to one message of the interchange, with its UNH/UNT error and segment errors."""

    message_reference: str
    message_type: str
    version: str
    release: str
    agency: str
    association: str = ""
    action: str
    error: str | None = None
    error_segment: str | None = None  # 0013: UNH or UNT
    error_element: int | str | None = None
    error_component: int | str | None = None
    segment_errors: list[ContrlSegmentError] = []


class ContrlMessage(BaseModel):
    """A CONTRL message about the interchange ``interchange_reference`` of ``interchange_sender``.

    ``action`` is UCI 0083 (4 rejected, 7 acknowledged); ``interchange_error`` (0085),
    ``interchange_error_segment`` (0013: UNA, UNB or UNZ) and the element position report an
    error of the interchange itself.
    """

    association: str = ASSOCIATION
    message_reference: str
    sender: str
    receiver: str
    sender_code_list: str = "500"
    receiver_code_list: str = "500"
    interchange_reference: str
    interchange_sender: Party
    interchange_receiver: Party
    action: str
    interchange_error: str | None = None
    interchange_error_segment: str | None = None
    interchange_error_element: int | str | None = None
    interchange_error_component: int | str | None = None
    message_reports: list[ContrlMessageReport] = []
    pruefidentifikator: None = None

    @property
    def rejected(self) -> bool:
        return self.action == REJECTED

    @property
    def segment_errors(self) -> list[ContrlSegmentError]:
        """All UCS of all message reports."""
        return [error for report in self.message_reports for error in report.segment_errors]

    @property
    def error_code(self) -> str | None:
        """The first 0085 code at any level (UCI, then UCM, UCS, UCD)."""
        codes = [self.interchange_error]
        for report in self.message_reports:
            codes.append(report.error)
            for segment in report.segment_errors:
                codes += [segment.error_code, *(element.error_code for element in segment.element_errors)]
        return next((code for code in codes if code), None)


# ---------------------------------------------------------------- parsing


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _optional_number(value: str) -> int | str | None:
    return _number(value) if value else None


def parse_contrl(msg: RawMessage, envelope: Interchange) -> ContrlMessage:
    """Read a CONTRL message of ``envelope`` (which supplies sender and receiver); raise EdifactContentError."""

    def fail(detail: str, segment: str = "UNH", index: int = -1) -> EdifactContentError:
        position = (msg.position or 1) + 1 + index
        return EdifactContentError(f"message {msg.reference}: {detail}", segment, position)

    if msg.type != "CONTRL":
        raise fail(f"is a {msg.type} message, not CONTRL")
    if not msg.segments or msg.segments[0].tag != "UCI":
        raise fail("the interchange response (UCI) must follow UNH", msg.segments[0].tag if msg.segments else "UNH")
    uci = msg.segments[0]
    if not element_value(uci, 0) or not element_value(uci, 3):
        raise fail("UCI needs the interchange reference and the action", "UCI", 0)
    reports: list[ContrlMessageReport] = []
    for index, segment in enumerate(msg.segments[1:], start=1):
        if segment.tag == "UCM":
            identifier = [element_value(segment, 1, i) for i in range(5)]
            reports.append(
                ContrlMessageReport(
                    message_reference=element_value(segment, 0),
                    message_type=identifier[0],
                    version=identifier[1],
                    release=identifier[2],
                    agency=identifier[3],
                    association=identifier[4],
                    action=element_value(segment, 2),
                    error=element_value(segment, 3) or None,
                    error_segment=element_value(segment, 4) or None,
                    error_element=_optional_number(element_value(segment, 5)),
                    error_component=_optional_number(element_value(segment, 5, 1)),
                )
            )
        elif segment.tag == "UCS":
            if not reports:
                raise fail("segment error (UCS) outside a message response (UCM)", "UCS", index)
            reports[-1].segment_errors.append(
                ContrlSegmentError(
                    position=_number(element_value(segment, 0)), error_code=element_value(segment, 1) or None
                )
            )
        elif segment.tag == "UCD":
            if not reports or not reports[-1].segment_errors:
                raise fail("data element error (UCD) without a segment error (UCS)", "UCD", index)
            reports[-1].segment_errors[-1].element_errors.append(
                ContrlElementError(
                    error_code=element_value(segment, 0),
                    element=_number(element_value(segment, 1)),
                    component=_optional_number(element_value(segment, 1, 1)),
                )
            )
        else:
            raise fail(f"segment {segment.tag} is not part of a CONTRL message", segment.tag, index)
    return ContrlMessage(
        association=msg.association,
        message_reference=msg.reference,
        sender=envelope.sender.id,
        receiver=envelope.receiver.id,
        sender_code_list=envelope.sender.qualifier,
        receiver_code_list=envelope.receiver.qualifier,
        interchange_reference=element_value(uci, 0),
        interchange_sender=Party(id=element_value(uci, 1), qualifier=element_value(uci, 1, 1)),
        interchange_receiver=Party(id=element_value(uci, 2), qualifier=element_value(uci, 2, 1)),
        action=element_value(uci, 3),
        interchange_error=element_value(uci, 4) or None,
        interchange_error_segment=element_value(uci, 5) or None,
        interchange_error_element=_optional_number(element_value(uci, 6)),
        interchange_error_component=_optional_number(element_value(uci, 6, 1)),
        message_reports=reports,
    )


# ---------------------------------------------------------------- building


def _text(value: int | str | None) -> str:
    return "" if value is None else str(value)


def build_contrl(m: ContrlMessage) -> RawMessage:
    """Write UCI, then per message report UCM, UCS and UCD."""
    segs = [
        make_segment(
            "UCI",
            m.interchange_reference,
            [m.interchange_sender.id, m.interchange_sender.qualifier],
            [m.interchange_receiver.id, m.interchange_receiver.qualifier],
            m.action,
            m.interchange_error or "",
            m.interchange_error_segment or "",
            [_text(m.interchange_error_element), _text(m.interchange_error_component)],
        )
    ]
    for report in m.message_reports:
        identifier = [report.message_type, report.version, report.release, report.agency, report.association]
        segs.append(
            make_segment(
                "UCM",
                report.message_reference,
                identifier,
                report.action,
                report.error or "",
                report.error_segment or "",
                [_text(report.error_element), _text(report.error_component)],
            )
        )
        for segment in report.segment_errors:
            segs.append(make_segment("UCS", str(segment.position), segment.error_code or ""))
            segs.extend(
                make_segment("UCD", element.error_code, [str(element.element), _text(element.component)])
                for element in segment.element_errors
            )
    return RawMessage(
        reference=m.message_reference,
        type="CONTRL",
        version="D",
        release="3",
        agency="UN",
        association=m.association,
        segments=segs,
    )


def contrl_interchange(messages: list[ContrlMessage], *, reference: str, prepared_at: datetime) -> Interchange:
    """Wrap CONTRL messages (all with the same sender and receiver) into an interchange."""
    if not messages:
        raise ValueError("an interchange needs at least one CONTRL message")
    parties = {(m.sender, m.sender_code_list, m.receiver, m.receiver_code_list) for m in messages}
    if len(parties) > 1:
        raise ValueError("CONTRL messages of one interchange must share sender and receiver")
    first = messages[0]
    return Interchange(
        sender=Party(id=first.sender, qualifier=first.sender_code_list),
        receiver=Party(id=first.receiver, qualifier=first.receiver_code_list),
        reference=reference,
        prepared_at=prepared_at,
        messages=[build_contrl(m) for m in messages],
    )


# ---------------------------------------------------------------- reading broken interchanges


class _Separators(NamedTuple):
    component: str
    data: str
    release: str  # empty when the UNA declares none
    terminator: str


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    else:
        text = data.removeprefix("\ufeff")
    return text.lstrip(_WHITESPACE)


def _separators(text: str) -> tuple[_Separators, str, int]:
    """Service characters, the text after UNA and the position of its first segment (as parse_interchange counts)."""
    if text.startswith("UNA") and len(text) >= 9:
        chars = text[3:9]
        release = "" if chars[3].isspace() else chars[3]
        return _Separators(chars[0], chars[1], release, chars[5]), text[9:].lstrip(_WHITESPACE), 2
    return _Separators(":", "+", "?", "'"), text, 1


def _split(text: str, separator: str, release: str) -> list[str]:
    """Split at every ``separator`` not preceded by the release character; values stay escaped."""
    parts, start, i = [], 0, 0
    while i < len(text):
        if release and text[i] == release:
            i += 2
            continue
        if text[i] == separator:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _unescape(value: str, release: str) -> str:
    return re.sub(re.escape(release) + "(.)", r"\1", value, flags=re.DOTALL) if release else value


def _elements(segment: str, chars: _Separators) -> list[list[str]]:
    """Data elements of one raw segment (tag included) as lists of unescaped components."""
    return [
        [_unescape(component, chars.release) for component in _split(element, chars.component, chars.release)]
        for element in _split(segment, chars.data, chars.release)
    ]


def _raw_segments(data: bytes | str) -> tuple[_Separators, list[tuple[int, str]]]:
    """Lenient split into (position, raw segment); an unterminated rest counts as a last segment."""
    chars, text, position = _separators(_decode(data))
    segments = []
    for raw in _split(text, chars.terminator, chars.release):
        if raw.strip(_WHITESPACE):
            segments.append((position, raw.lstrip(_WHITESPACE)))
            position += 1
    return chars, segments


_ID = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,35}")
_REFERENCE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,14}")


def sender_of_broken(data: bytes | str) -> tuple[Party, Party, str] | None:
    """UNB sender, receiver and interchange reference of an interchange that failed to parse.

    Best effort for addressing a CONTRL: the UNB (right after the optional UNA) must be complete up
    to its terminator; None when it is missing, cut off or its ids are implausible.
    """
    chars, text, _ = _separators(_decode(data))
    released = f"{re.escape(chars.release)}.|" if chars.release else ""
    body = f"(?:{released}[^{re.escape(chars.terminator + chars.release)}])*"
    match = re.match(f"UNB{re.escape(chars.data)}({body}){re.escape(chars.terminator)}", text, flags=re.DOTALL)
    if match is None:
        return None
    elements = _elements(match.group(1), chars)  # syntax, sender, receiver, date/time, reference, ...
    if len(elements) < 5:
        return None
    sender, receiver, reference = elements[1], elements[2], elements[4][0]
    if not (_ID.fullmatch(sender[0]) and _ID.fullmatch(receiver[0]) and _REFERENCE.fullmatch(reference)):
        return None
    return _party(sender), _party(receiver), reference


def _party(components: list[str]) -> Party:
    return Party(id=components[0], qualifier=components[1] if len(components) > 1 else "")


class _MessageHeader(NamedTuple):
    position: int
    reference: str
    identifier: list[str]


def _enclosing_message(data: bytes | str, position: int, *, strictly_before: bool) -> _MessageHeader | None:
    """The UNH of the message containing segment ``position`` (no UNT between them), if any."""
    chars, segments = _raw_segments(data)
    found: _MessageHeader | None = None
    for pos, raw in segments:
        if pos > position or (strictly_before and pos == position):
            break
        tag = raw[:3]
        if tag == "UNH":
            elements = _elements(raw, chars)
            reference = elements[1][0] if len(elements) > 1 else ""
            identifier = (elements[2] if len(elements) > 2 else []) + [""] * 5
            found = _MessageHeader(pos, reference, identifier[:5]) if reference else None
        elif tag in ("UNT", "UNZ") and pos < position:
            found = None
    return found


# ---------------------------------------------------------------- answering an interchange


def contrl_for_syntax_error(
    *,
    interchange_reference: str,
    original_sender: Party,
    original_receiver: Party,
    error: EdifactSyntaxError,
    reference: str,
    data: bytes | str | None = None,
) -> ContrlMessage:
    """Syntaxfehlermeldung (UCI action 4) for an interchange parse_interchange rejected with ``error``.

    The 0085 code follows SYNTAX_ERROR_KINDS. Errors of UNA/UNB/UNZ or outside any message go into
    UCI (with 0013 for UNA/UNB/UNZ). With the raw ``data`` an error inside a message is reported in
    the UCM of that message: UNH/UNT errors there with 0013, other segments as UCS with the position
    relative to UNH (= 1). Without ``data`` the message cannot be named, so UCI carries the code.
    The CONTRL goes from ``original_receiver`` to ``original_sender``.
    """
    kind = _kind(error)
    tag = kind.tag or error.segment
    header = None
    if data is not None and error.position is not None and tag not in _INTERCHANGE_TAGS and not kind.outside:
        header = _enclosing_message(data, error.position, strictly_before=kind.tag == "UNT")
    message = ContrlMessage(
        message_reference=reference,
        sender=original_receiver.id,
        receiver=original_sender.id,
        sender_code_list=original_receiver.qualifier,
        receiver_code_list=original_sender.qualifier,
        interchange_reference=interchange_reference,
        interchange_sender=original_sender,
        interchange_receiver=original_receiver,
        action=REJECTED,
    )
    if header is None or error.position is None:
        return message.model_copy(
            update={
                "interchange_error": kind.code,
                "interchange_error_segment": tag if tag in _INTERCHANGE_TAGS else None,
                "interchange_error_element": kind.element if tag in _INTERCHANGE_TAGS else None,
            }
        )
    report = ContrlMessageReport(
        message_reference=header.reference,
        message_type=header.identifier[0],
        version=header.identifier[1],
        release=header.identifier[2],
        agency=header.identifier[3],
        association=header.identifier[4],
        action=REJECTED,
    )
    if tag in _MESSAGE_TAGS:
        report.error, report.error_segment, report.error_element = kind.code, tag, kind.element
    else:
        elements = [ContrlElementError(error_code=kind.code, element=kind.element)] if kind.element else []
        segment_error = ContrlSegmentError(
            position=error.position - header.position + 1,
            error_code=None if elements else kind.code,
            element_errors=elements,
        )
        report.segment_errors.append(segment_error)
    return message.model_copy(update={"message_reports": [report]})


def contrl_acknowledgement(
    *, interchange_reference: str, original_sender: Party, original_receiver: Party, reference: str
) -> ContrlMessage:
    """Empfangsbestätigung (UCI action 7, Gas: every interchange except a CONTRL is acknowledged)."""
    return ContrlMessage(
        message_reference=reference,
        sender=original_receiver.id,
        receiver=original_sender.id,
        sender_code_list=original_receiver.qualifier,
        receiver_code_list=original_sender.qualifier,
        interchange_reference=interchange_reference,
        interchange_sender=original_sender,
        interchange_receiver=original_receiver,
        action=ACKNOWLEDGED,
    )
