"""Streaming reader for large interchanges, e.g. MSCONS load profiles of 50 MB and more.

The input is read in chunks and yielded as the UNB header followed by one RawMessage per UNH..UNT, so memory
depends on the chunk size and the largest message, not on the file size. Segments are cut with ``str.split``
instead of pydifact's per-character tokenizer and only segments containing the release character are unescaped.
Anything unusual (control characters, bad release characters, odd tags) goes through the tokenising of
``edifact.envelope``, and its helpers check the envelope, so errors carry the same message, segment and position
as with ``parse_interchange``.

Runs of QTY + DTM+163 + DTM+164 groups, most of a load profile, are read by one regular expression into tuples
(``edifact.profile.read_run``); a message with such runs is yielded as a ``CompactMessage``, whose segments are
built only when asked for. ``compact=False`` reads them segment by segment.

Two differences to ``parse_interchange``, both due to reading the input once from the start:

* With several defects, the first one in the file is reported (``parse_interchange`` reports tokenising
  errors anywhere in the file before envelope errors such as a wrong UNT count).
* The text is decoded as UTF-8 up to the first byte that is not UTF-8 and as Latin-1 from there on
  (``parse_interchange`` then decodes the whole file as Latin-1); both agree if the text before that byte is ASCII.
"""

from __future__ import annotations

import codecs
import io
import itertools
from collections.abc import Generator, Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, TypeAlias

from pydantic import BaseModel
from pydifact import Characters, Segment

from edifact.envelope import (
    _TAG,
    _WHITESPACE,
    UNA_CHARACTERS,
    Party,
    RawMessage,
    _check_unz,
    _component,
    _count,
    _decode,
    _read_una,
    _read_unb,
    _split,
    _tokenize,
)
from edifact.errors import EdifactSyntaxError
from edifact.profile import CompactMessage, QuantityRun, read_run

__all__ = ["Envelope", "StreamItem", "iter_interchange", "read_envelope"]

#: Chunks are decoded and split in windows of this many bytes, which bounds the temporary lists of one split.
_WINDOW = 1 << 12
#: Stand-ins for the released release character, data separator, component separator, segment terminator and
#: reserved character while a segment is split; they are control characters, which never pass the checks.
_PLACEHOLDERS = "\x01\x02\x03\x04\x05"
_SEPARATOR_STAND_IN = _PLACEHOLDERS[1]
#: Stands in for the unreleased data separators while the released ones are put back.
_SPLIT = "\x1f"


class Envelope(BaseModel):
    """The interchange header (UNB), yielded before the messages; ``decimal_mark`` comes from UNA."""

    sender: Party
    receiver: Party
    prepared_at: datetime
    reference: str
    syntax: str = "UNOC:3"
    decimal_mark: str = "."


StreamItem: TypeAlias = Envelope | RawMessage
_Item: TypeAlias = Segment | QuantityRun
"""What the tokenizer yields: a segment, or a run of QTY/DTM/DTM groups standing for three segments each."""
_Batch: TypeAlias = list[tuple[int, _Item]]
"""Items with the position of their (first) segment."""


def iter_interchange(
    source: BinaryIO | bytes, chunk_size: int = 1 << 20, *, compact: bool = True
) -> Iterator[StreamItem]:
    """Yield the Envelope, then each RawMessage, checking the envelope rules of ``parse_interchange``.

    ``source`` is a binary file object (read from its current position, ``chunk_size`` bytes at a time) or
    bytes. Messages are yielded as soon as their UNT is checked and UNZ is checked at the end of the input, so an
    EdifactSyntaxError can be raised at any step of the iteration, after the messages before the defect.
    With ``compact``, messages with QTY/DTM/DTM runs come as CompactMessage (same segments, built on demand).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    return _stream(source, chunk_size, compact)


def read_envelope(source: BinaryIO | bytes) -> Envelope:
    """The UNB header; the input is read only as far as UNB (in 64 KiB chunks) and the rest is not checked."""
    items = _stream(source, 1 << 16, compact=False)
    try:
        header = next(items)
    finally:
        items.close()
    assert isinstance(header, Envelope)
    return header


# ---------------------------------------------------------------- envelope


def _stream(source: BinaryIO | bytes, chunk_size: int, compact: bool) -> Generator[StreamItem, None, None]:
    chars, first_position, texts = _service_string_advice(_texts(source, chunk_size))
    items = itertools.chain.from_iterable(_Tokenizer(chars, compact).batches(texts, first_position))

    first = next(items, None)
    if first is None or first[1].tag != "UNB":
        found = first[1].tag if first else None
        raise EdifactSyntaxError("the interchange must start with UNB", segment=found, position=first_position)
    unb_position, unb = first
    assert isinstance(unb, Segment)
    header = _read_unb(unb, unb_position)
    yield Envelope(decimal_mark=chars.decimal_point, **header)

    count, last = 0, unb_position
    for position, segment in items:
        last = position
        if isinstance(segment, QuantityRun):
            raise EdifactSyntaxError("segment outside of a UNH..UNT message", segment=segment.tag, position=position)
        if segment.tag == "UNH":
            message, last = _read_message(segment, position, items)
            count += 1
            yield message
        elif segment.tag == "UNZ":
            _check_unz(segment, position, header["reference"], count)
            trailing = next(items, None)
            if trailing is not None:
                raise EdifactSyntaxError(
                    "segment after UNZ; an interchange ends with UNZ", segment=trailing[1].tag, position=trailing[0]
                )
            return
        elif segment.tag == "UNG":
            raise EdifactSyntaxError("functional groups (UNG/UNE) are not supported", segment="UNG", position=position)
        else:
            raise EdifactSyntaxError("segment outside of a UNH..UNT message", segment=segment.tag, position=position)
    raise EdifactSyntaxError("the interchange ends without UNZ (truncated?)", segment="UNZ", position=last + 1)


def _read_message(unh: Segment, unh_position: int, items: Iterator[tuple[int, _Item]]) -> tuple[RawMessage, int]:
    """The message from UNH to its UNT, with the position of UNT; runs next to each other are merged."""
    reference = _component(unh, 0)
    if not reference:
        raise EdifactSyntaxError("message reference is missing", segment="UNH", position=unh_position)
    identifier = [_component(unh, 1, i) for i in range(5)]
    if not all(identifier[:4]):
        raise EdifactSyntaxError(
            f"message identifier {':'.join(identifier)!r} is incomplete (type:version:release:agency)",
            segment="UNH",
            position=unh_position,
        )
    body: list[_Item] = []
    count, following = 0, unh_position + 1
    for position, item in items:
        if isinstance(item, QuantityRun):
            count, following = count + item.segment_count, position + item.segment_count
            if body and isinstance(body[-1], QuantityRun):
                body[-1].extend(item)
            else:
                body.append(item)
            continue
        if item.tag == "UNT":
            _check_unt(item, position, reference, unh_position, count + 2)
            return _message(reference, identifier, body, unh_position), position
        if item.tag in ("UNH", "UNZ", "UNB"):
            raise EdifactSyntaxError(
                f"message {reference} (UNH at segment {unh_position}) is not closed by UNT",
                segment=item.tag,
                position=position,
            )
        count, following = count + 1, position + 1
        body.append(item)
    raise EdifactSyntaxError(
        f"message {reference} (UNH at segment {unh_position}) ends without UNT (truncated?)",
        segment="UNT",
        position=following,
    )


def _message(reference: str, identifier: list[str], body: list[_Item], position: int) -> RawMessage:
    """A CompactMessage if the body has runs (its segments are built on demand), else a RawMessage."""
    names = ("type", "version", "release", "agency", "association")
    fields: dict[str, Any] = {"reference": reference, "position": position, **dict(zip(names, identifier, strict=True))}
    if any(isinstance(item, QuantityRun) for item in body):
        return CompactMessage.model_construct(body=body, **fields)
    return RawMessage(segments=body, **fields)


def _check_unt(unt: Segment, position: int, reference: str, unh_position: int, segments: int) -> None:
    count, unt_reference = _count(unt, position), _component(unt, 1)
    if unt_reference != reference:
        raise EdifactSyntaxError(
            f"message reference {unt_reference!r} does not match {reference!r} of UNH at segment {unh_position}",
            segment="UNT",
            position=position,
        )
    if count != segments:
        raise EdifactSyntaxError(
            f"segment count {count} does not match {segments} segments of message {reference}",
            segment="UNT",
            position=position,
        )


# ---------------------------------------------------------------- decoding


def _texts(source: BinaryIO | bytes, chunk_size: int) -> Iterator[str]:
    """The decoded input, read in chunks and decoded in windows."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    decoder = _Decoder()
    while chunk := stream.read(chunk_size):
        for start in range(0, len(chunk), _WINDOW):
            yield decoder.decode(chunk[start : start + _WINDOW])
        del chunk  # so that two chunks are never held at once
    yield decoder.decode(b"", final=True)


class _Decoder:
    """UTF-8 (characters may span chunks), Latin-1 from the first byte that is not UTF-8 on."""

    def __init__(self) -> None:
        self.utf8: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()

    def decode(self, data: bytes, final: bool = False) -> str:
        if self.utf8 is None:
            return data.decode("latin-1")
        try:
            return self.utf8.decode(data, final)
        except UnicodeDecodeError as exc:
            self.utf8 = None
            return exc.object[: exc.start].decode("utf-8") + exc.object[exc.start :].decode("latin-1")


def _service_string_advice(texts: Iterator[str]) -> tuple[Characters, int, Iterator[str]]:
    """Read UNA, if present, from the start of the text: the service characters, the position of the first
    segment and the text after UNA."""
    head = ""
    for text in texts:
        head += text
        if len(head.removeprefix("\ufeff").lstrip(_WHITESPACE)) >= len("UNA:+.? '"):
            break
    chars, rest, first_position = _read_una(_decode(head))
    return chars, first_position, itertools.chain((rest,), texts)


# ---------------------------------------------------------------- tokenising


class _Tokenizer:
    """Cuts text into pydifact Segments (and QTY/DTM/DTM runs) with the service characters of one interchange."""

    def __init__(self, chars: Characters, compact: bool) -> None:
        self.chars = chars
        self.terminator, self.release = chars.segment_terminator, chars.escape_character
        self.separator, self.component = chars.data_separator, chars.component_separator
        releasable = [self.release, self.separator, self.component, self.terminator]
        if not chars.reserved_character.isspace():
            releasable.append(chars.reserved_character)
        stand_ins = _PLACEHOLDERS[: len(releasable)]
        self.escapes = [(self.release + char, stand_in) for char, stand_in in zip(releasable, stand_ins, strict=True)]
        self.unescape = str.maketrans(dict(zip(stand_ins, releasable, strict=True)))
        self.tags: dict[str, str] = {}  # "TAG+" prefixes seen to be valid -> "TAG", shared by their segments
        self.runs = compact and str(chars) == UNA_CHARACTERS  # read_run knows these (EDI@Energy prescribes them)

    def batches(self, texts: Iterable[str], position: int) -> Iterator[_Batch]:
        """Yield the segments in batches, one per window of text; ``position`` is that of the first segment.

        Segments before a malformed one are yielded before its error is raised, so errors come in file order.
        """
        rest = ""
        for text in itertools.chain(texts, [None]):
            if text is not None and self.terminator not in text:  # no segment ends here (a long one, or no EDIFACT)
                rest += text
                continue
            batch: _Batch = []
            try:
                rest, position = self.cut(rest + (text or ""), batch, position, final=text is None)
            except EdifactSyntaxError:
                yield batch
                raise
            yield batch
        if rest.strip(_WHITESPACE):
            list(_split(rest.lstrip(_WHITESPACE), self.chars, position))  # raises: the file ends inside this segment
            raise AssertionError("unterminated segment was not reported")

    def cut(self, text: str, batch: _Batch, position: int, final: bool) -> tuple[str, int]:
        """Append the segments and runs that end in ``text`` to ``batch``; return the text after them and the
        position of the next segment.

        A terminator after an odd run of release characters is released and joins two parts of the split. Where a
        run may begin but its first group does not end in ``text``, the rest is left for the next window.
        """
        parts = text.split(self.terminator)
        rest = parts.pop()
        raw: str | None = None
        index, offset, count = 0, 0, len(parts)  # the next part and where it starts in text
        while index < count:
            part = parts[index]
            if raw is not None:
                raw += self.terminator + part
            else:
                raw = part.lstrip(_WHITESPACE)
                if self.runs and raw[:4] == "QTY+":
                    found = read_run(text, offset + len(part) - len(raw))
                    if found is None and not final and count - index < 3:
                        return text[offset:], position
                    if found is not None:
                        run, offset = found
                        batch.append((position, run))
                        position, index, raw = position + run.segment_count, index + run.segment_count, None
                        continue
            index, offset = index + 1, offset + len(part) + 1
            segment = self.segment(raw, position)
            if segment is not None:  # else a released terminator: the segment goes on
                batch.append((position, segment))
                position, raw = position + 1, None
        rest = rest.lstrip(_WHITESPACE) if raw is None else raw + self.terminator + rest
        return rest, position

    def segment(self, raw: str, position: int) -> Segment | None:
        """The segment ``raw`` (without terminator), or None if it ends with a released terminator."""
        release, separator, component = self.release, self.separator, self.component
        if release not in raw:
            values: list[str] | None = raw[4:].split(separator)
        elif raw[-1] == release and (len(raw) - len(raw.rstrip(release))) % 2:
            return None
        else:
            # The usual case: only data separators are released (UTC offsets such as ?+00). They are
            # swapped with the unreleased ones for the split, which also unescapes them.
            body = raw[4:].replace(release + separator, _SEPARATOR_STAND_IN)
            values = (
                None
                if release in body
                else body.replace(separator, _SPLIT).replace(_SEPARATOR_STAND_IN, separator).split(_SPLIT)
            )
        tag = self.tags.get(raw[:4])
        if values is None:
            return self.unescaped(raw, position)
        if tag is None or not raw.isprintable():
            return self.checked(raw, position)
        segment = Segment.__new__(Segment)
        segment.tag = tag
        segment.elements = [
            value
            if component not in value
            else value.split(component)
            if value[-1] != component
            else _components(value, component)
            for value in values
        ]
        return segment

    def unescaped(self, raw: str, position: int) -> Segment:
        """A segment with any released characters: placeholders stand in for them during the split."""
        text = raw
        for escape, stand_in in self.escapes:
            text = text.replace(escape, stand_in)
        tag = self.tag(raw)
        if self.release in text or not raw.isprintable() or tag is None:
            return self.checked(raw, position)
        component, table = self.component, self.unescape
        segment = Segment.__new__(Segment)
        segment.tag = tag
        segment.elements = [_restored(_components(value, component), table) for value in text[4:].split(self.separator)]
        return segment

    def checked(self, raw: str, position: int) -> Segment:
        """A segment the paths above do not take: a tag seen for the first time, or something unusual, which
        gets the tokenising of ``parse_interchange`` and, if malformed, its error."""
        tag = self.tag(raw)
        if tag is not None and raw.isprintable() and self.release not in raw:
            segment = Segment.__new__(Segment)
            segment.tag = tag
            segment.elements = [_components(value, self.component) for value in raw[4:].split(self.separator)]
            return segment
        if self.release in raw:
            list(_split(raw + self.terminator, self.chars, position))  # raises for a bad release character
        return _tokenize(raw, position, self.chars)

    def tag(self, raw: str) -> str | None:
        """The tag of the segment if it is followed by the data separator and both envelope.py and pydifact
        accept it (pydifact wants a letter in it)."""
        head = raw[:4]
        valid = len(head) == 4 and head[3] == self.separator and _TAG.fullmatch(head[:3]) and head.isupper()
        if valid and head not in self.tags:
            self.tags[head] = head[:3]
        return self.tags.get(head)


def _components(value: str, component: str) -> str | list[str]:
    """An element as pydifact reads it: a list of components without trailing empty ones, or a str if at most
    one is left."""
    parts = value.split(component)
    while parts and not parts[-1]:
        parts.pop()
    return parts if len(parts) > 1 else (parts[0] if parts else "")


def _restored(element: str | list[str], table: dict[int, str]) -> str | list[str]:
    """The element with the released characters put back for their placeholders."""
    if isinstance(element, str):
        return element.translate(table)
    return [part.translate(table) for part in element]
