"""Generic EDIFACT interchange (UNA/UNB ... UNZ), independent of the message type.

pydifact does the tokenising, unescaping and escaping; this module adds the strict envelope checks
(segment counts and control references) and error positions a clerk can follow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydifact import Characters, Parser, Segment, Serializer, Tokenizer
from pydifact.exceptions import EDISyntaxError

from edifact.errors import EdifactContentError, EdifactSyntaxError

__all__ = ["Interchange", "Party", "RawMessage", "parse_interchange", "serialize_interchange"]

UNA_CHARACTERS = ":+.? '"
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
_WHITESPACE = " \t\r\n"


class Party(BaseModel):
    """UNB sender or receiver: market partner id and its code qualifier (500 BDEW, 502 DVGW, 14 GS1)."""

    id: str
    qualifier: str


class RawMessage(BaseModel):
    """One UNH..UNT message; ``segments`` excludes UNH and UNT.

    ``position`` is the index of UNH in the parsed interchange (None for messages built in code);
    it only serves error messages and is ignored when comparing messages.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str
    segments: list[Segment]
    position: int | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RawMessage):
            return NotImplemented
        fields = ("reference", "type", "version", "release", "agency", "association", "segments")
        return all(getattr(self, name) == getattr(other, name) for name in fields)


class Interchange(BaseModel):
    """A complete interchange with its messages."""

    sender: Party
    receiver: Party
    prepared_at: datetime
    reference: str
    syntax: str = "UNOC:3"
    messages: list[RawMessage]


# ---------------------------------------------------------------- reading


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    else:
        text = data.removeprefix("\ufeff")
    text = text.lstrip(_WHITESPACE)
    if not text:
        raise EdifactSyntaxError("the input is empty; expected an EDIFACT interchange starting with UNA or UNB")
    return text


def _read_una(text: str) -> tuple[Characters, str, int]:
    """Return the control characters, the text after UNA and the position of the first segment."""
    if not text.startswith("UNA"):
        if not text.startswith("UNB"):
            raise EdifactSyntaxError(
                f"not an EDIFACT interchange: expected UNA or UNB at the start, found {text[:3]!r}",
                position=1,
            )
        return Characters.from_str(UNA_CHARACTERS), text, 1
    chars = text[3:9]
    service = chars[0:2] + chars[3:4] + chars[5:6]
    if len(set(service)) != 4 or any(c.isalnum() or c in _WHITESPACE for c in service):
        raise EdifactSyntaxError(f"invalid service string advice {text[:9]!r}", segment="UNA", position=1)
    return Characters.from_str(chars), text[9:].lstrip(_WHITESPACE), 2


def _split(text: str, chars: Characters, first_position: int) -> Iterator[tuple[int, str]]:
    """Yield (position, segment text without terminator), honouring the release character."""
    release, terminator = chars.escape_character, chars.segment_terminator
    releasable = {chars.component_separator, chars.data_separator, release, terminator}
    if not chars.reserved_character.isspace():
        releasable.add(chars.reserved_character)
    position, start, i, n = first_position, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == release:
            if i + 1 >= n:
                raise EdifactSyntaxError(
                    f"the file ends with the release character {release!r} (truncated?)",
                    segment=text[start : start + 3] or None,
                    position=position,
                )
            if text[i + 1] not in releasable:
                raise EdifactSyntaxError(
                    f"invalid release character {release!r} before {text[i + 1]!r} "
                    f"(only {''.join(sorted(releasable))!r} may be released)",
                    segment=text[start : start + 3],
                    position=position,
                )
            i += 2
            continue
        if c == terminator:
            yield position, text[start:i]
            position += 1
            i += 1
            while i < n and text[i] in _WHITESPACE:
                i += 1
            start = i
            continue
        i += 1
    rest = text[start:].rstrip(_WHITESPACE)
    if rest:
        hint = (
            f"; its terminator is cancelled by the release character {release!r} before it"
            if rest.endswith(release + terminator)
            else " (truncated?)"
        )
        raise EdifactSyntaxError(
            f"the file ends inside this segment without the terminator {terminator!r}{hint}",
            segment=rest[:3],
            position=position,
        )


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _is_control(char: str) -> bool:
    return ord(char) < 32 or 127 <= ord(char) < 160


def _tokenize(raw: str, position: int, chars: Characters) -> Segment:
    tag = raw[:3]
    if not _TAG.fullmatch(tag) or (len(raw) > 3 and raw[3] != chars.data_separator):
        raise EdifactSyntaxError(f"{raw[:12]!r} does not start with a valid segment tag", position=position)
    if len(raw) == 3:
        raise EdifactSyntaxError("segment has no data elements", segment=tag, position=position)
    bad = next((i for i, c in enumerate(raw) if _is_control(c)), None)
    if bad is not None:
        hint = ""
        if raw[:bad].rstrip("\r").endswith(chars.escape_character + chars.segment_terminator):
            hint = (
                f" - a release character {chars.escape_character!r} directly before the terminator "
                f"{chars.segment_terminator!r} joins this segment with the next line"
            )
        raise EdifactSyntaxError(
            f"control character {raw[bad]!r} inside the segment{hint}", segment=tag, position=position
        )
    try:
        tokens = Tokenizer().get_tokens(raw + chars.segment_terminator, chars)
        raw_segments = list(Parser().convert_tokens_to_raw_segments(tokens))
    except EDISyntaxError as exc:
        raise EdifactSyntaxError(str(exc), segment=tag, position=position) from exc
    if len(raw_segments) != 1:
        raise EdifactSyntaxError("segment could not be read", segment=tag, position=position)
    return Segment(tag, *raw_segments[0][1:])


def _component(segment: Segment, element: int, component: int = 0) -> str:
    value = segment[element]
    if isinstance(value, list):
        return value[component] if component < len(value) else ""
    if value is None:
        return ""
    return value if component == 0 else ""


def _prepared_at(segment: Segment, position: int) -> datetime:
    date, time = _component(segment, 3, 0), _component(segment, 3, 1)
    if re.fullmatch(r"\d{6}|\d{8}", date) and re.fullmatch(r"\d{4}", time):
        try:
            return datetime.strptime(date + time, "%y%m%d%H%M" if len(date) == 6 else "%Y%m%d%H%M").replace(tzinfo=UTC)
        except ValueError:
            pass
    hint = " (unfilled template placeholder)" if "{" in date + time else ""
    raise EdifactSyntaxError(
        f"preparation date/time {date}:{time!s} is not a valid YYMMDD:HHMM value{hint}",
        segment="UNB",
        position=position,
    )


def _read_unb(segment: Segment, position: int) -> dict[str, Any]:
    def party(element: int, role: str) -> Party:
        party_id = _component(segment, element, 0)
        if not party_id:
            raise EdifactSyntaxError(f"{role} id is missing", segment="UNB", position=position)
        return Party(id=party_id, qualifier=_component(segment, element, 1))

    syntax = segment[0]
    reference = _component(segment, 4)
    if not reference:
        raise EdifactSyntaxError("interchange control reference is missing", segment="UNB", position=position)
    return {
        "syntax": ":".join(syntax) if isinstance(syntax, list) else (syntax or ""),
        "sender": party(1, "sender"),
        "receiver": party(2, "receiver"),
        "prepared_at": _prepared_at(segment, position),
        "reference": reference,
    }


def _count(segment: Segment, position: int) -> int:
    value = _component(segment, 0)
    if not value.isdigit():
        raise EdifactSyntaxError(f"count {value!r} is not a number", segment=segment.tag, position=position)
    return int(value)


def parse_interchange(data: bytes | str) -> Interchange:
    """Parse and strictly check one interchange; raise EdifactSyntaxError with segment and position.

    The streaming reader does the work, so with several defects the first one in the file is reported.
    """
    from edifact.stream import Envelope, iter_interchange

    items = iter_interchange(data.encode("utf-8") if isinstance(data, str) else data)
    envelope = next(items)
    assert isinstance(envelope, Envelope)
    messages = [item for item in items if isinstance(item, RawMessage)]
    return Interchange(
        sender=envelope.sender,
        receiver=envelope.receiver,
        prepared_at=envelope.prepared_at,
        reference=envelope.reference,
        syntax=envelope.syntax,
        messages=messages,
    )


def _check_unz(segment: Segment, position: int, reference: str, message_count: int) -> None:
    count, unz_reference = _count(segment, position), _component(segment, 1)
    if unz_reference != reference:
        raise EdifactSyntaxError(
            f"interchange reference {unz_reference!r} does not match {reference!r} of UNB",
            segment="UNZ",
            position=position,
        )
    if count != message_count:
        raise EdifactSyntaxError(
            f"message count {count} does not match the {message_count} message(s) in the interchange",
            segment="UNZ",
            position=position,
        )


# ---------------------------------------------------------------- writing


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_values(segment: Segment) -> None:
    for element in segment.elements:
        for value in element if isinstance(element, list) else [element]:
            if _CONTROL.search(value):
                raise EdifactContentError(f"value {value!r} contains a control character", segment=segment.tag)


def serialize_interchange(ic: Interchange) -> bytes:
    """Write ``UNA:+.? '`` and UNB..UNZ, one segment per line, UTF-8; UNT/UNZ counts are computed."""
    return wrap_messages(ic, [serialize_message(message) for message in ic.messages])


def serialize_message(message: RawMessage) -> str:
    """One message UNH..UNT as text (for writing many messages without holding them all)."""
    identifier = [message.type, message.version, message.release, message.agency, message.association]
    segments = [
        Segment("UNH", message.reference, identifier),
        *message.segments,
        Segment("UNT", str(len(message.segments) + 2), message.reference),
    ]
    for segment in segments:
        _check_values(segment)
    return _SERIALIZER.serialize(segments, with_una_header=False, break_lines=True)


def wrap_messages(header: Interchange, messages: list[str]) -> bytes:
    """UNA, UNB from ``header`` (its own messages are ignored), the serialised messages, UNZ."""
    prepared = _utc(header.prepared_at)
    unb = Segment(
        "UNB",
        header.syntax.split(":"),
        [header.sender.id, header.sender.qualifier],
        [header.receiver.id, header.receiver.qualifier],
        [prepared.strftime("%y%m%d"), prepared.strftime("%H%M")],
        header.reference,
    )
    unz = Segment("UNZ", str(len(messages)), header.reference)
    for segment in (unb, unz):
        _check_values(segment)
    opening = _SERIALIZER.serialize([unb], with_una_header=True, break_lines=True)
    closing = _SERIALIZER.serialize([unz], with_una_header=False, break_lines=True)
    return (opening + "".join(messages) + closing).encode("utf-8")


_SERIALIZER = Serializer(Characters.from_str(UNA_CHARACTERS))
