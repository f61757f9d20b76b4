"""Load profiles read fast: runs of QTY + DTM+163 + DTM+164 groups as tuples, regular profiles as one series.

Most of a load-profile interchange is groups like ``QTY+220:1.234'DTM+163:202601010000?+00:303'DTM+164:...``.
``read_run`` reads a run of them (in the service characters ``UNA:+.? '``) as tuples of their text, which
``edifact.stream`` keeps in a ``CompactMessage`` instead of three pydifact Segments per value. The segments are
built only when something asks for them and are then equal to those of the segment-by-segment reading.

``read_profile`` turns a CompactMessage of the plain form (one location without meter number, one position, a
gapless run of equidistant values without statuses) into one ProfileSeries. For any other form it returns None
and the caller uses ``edifact.mscons.parse_mscons``, which reads every form and gives the same values.
"""

import itertools
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, TypeAlias

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer
from pydifact import Segment

from edifact.envelope import RawMessage
from edifact.errors import EdifactContentError
from edifact.mscons import MsconsLocation, MsconsMessage, parse_mscons
from edifact.segments import parse_date

__all__ = ["CompactMessage", "ProfileSeries", "QuantityRun", "leading_segments", "read_profile", "read_run"]

Group: TypeAlias = tuple[str, str, str, str, str]
"""One QTY + DTM+163 + DTM+164 group as written: qualifier, value, unit ("" if none), start and end (e.g.
``202601010000?+00``, with the release character)."""

_DATE = r"([0-9]{12}(?:\?\+|-)[0-9]{2}):303'"
_GROUP_PATTERN = (
    r"QTY\+([A-Z0-9]{1,3}):(-?[0-9]{1,15}(?:\.[0-9]{1,3})?)(?::([A-Z0-9]{1,5}))?'[ \t\r\n]*"
    rf"DTM\+163:{_DATE}[ \t\r\n]*DTM\+164:{_DATE}"
)
_GROUP = re.compile(_GROUP_PATTERN)
_UNCAPTURED = re.sub(r"\((?!\?)", "(?:", _GROUP_PATTERN)  # a run is matched without groups, which is faster
_RUN = re.compile(f"{_UNCAPTURED}(?:[ \t\r\n]*{_UNCAPTURED})*")


class QuantityRun(list[Group]):
    """Consecutive groups, three segments each; ``tag`` is that of its first segment, for the envelope checks."""

    tag: ClassVar[str] = "QTY"

    @property
    def segment_count(self) -> int:
        return 3 * len(self)

    def segments(self) -> Iterator[Segment]:
        """The segments as the segment-by-segment reading gives them."""
        for qualifier, value, unit, start, end in self:
            yield _segment("QTY", [qualifier, value, unit] if unit else [qualifier, value])
            yield _segment("DTM", ["163", start.replace("?", ""), "303"])
            yield _segment("DTM", ["164", end.replace("?", ""), "303"])


def read_run(text: str, start: int) -> tuple[QuantityRun, int] | None:
    """The run of complete groups at ``start`` (a segment start) and where it ends, or None if there is none.

    Only for the service characters ``UNA:+.? '``; whitespace is allowed between segments, not after the run.
    """
    match = _RUN.match(text, start)
    if match is None:
        return None
    return QuantityRun(_GROUP.findall(text, start, match.end())), match.end()


class CompactMessage(RawMessage):
    """A RawMessage whose groups are kept as QuantityRuns in ``body``; ``segments`` is built on first use.

    ``edifact.stream`` makes it with ``model_construct`` and without ``segments``.
    """

    body: list[Any] = Field(exclude=True, repr=False)
    """Segments and QuantityRuns in message order, adjacent runs merged."""

    def __getattr__(self, name: str) -> Any:
        """``segments`` is built when it is first read (until then it is not in ``__dict__``)."""
        if name != "segments":
            return super().__getattr__(name)  # type: ignore[misc]
        return self._segments()

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Dumped like a RawMessage: pydantic reads the fields from ``__dict__``, so the segments are built first."""
        self._segments()
        return handler(self)

    def _segments(self) -> list[Segment]:
        if "segments" not in self.__dict__:
            self.__dict__["segments"] = list(_expanded(self.body))
        segments: list[Segment] = self.__dict__["segments"]
        return segments


def leading_segments(msg: RawMessage, count: int) -> list[Segment]:
    """The first ``count`` segments of a message; of a CompactMessage without building the others."""
    if isinstance(msg, CompactMessage) and "segments" not in msg.__dict__:
        return list(itertools.islice(_expanded(msg.body), count))
    return msg.segments[:count]


class ProfileSeries(BaseModel):
    """Equidistant values of one location and OBIS; ``values[i]`` covers ``[start + i*interval, +interval)``.

    ``values`` are the decimals as written (``-?digits[.digits]``), ``qualities`` the QTY qualifiers.
    """

    pruefidentifikator: str
    message_reference: str
    document_number: str
    sender: str
    receiver: str
    sender_code_list: str
    receiver_code_list: str
    location_id: str
    obis: str | None
    start: datetime
    end: datetime
    interval_minutes: int
    unit: str | None
    values: list[str]
    qualities: list[str]


def read_profile(msg: RawMessage) -> ProfileSeries | None:
    """The series of a plain profile message read by the stream, or None for any other form or message."""
    if not isinstance(msg, CompactMessage) or not msg.body or not isinstance(msg.body[-1], QuantityRun):
        return None
    head, run = msg.body[:-1], msg.body[-1]
    qualities, values, units, starts, ends = zip(*run, strict=True)
    timing = _timing(starts, ends)
    if timing is None or len(set(units)) != 1:
        return None
    found = _location(msg, head)
    if found is None:
        return None
    header, location = found
    start, interval = timing
    return ProfileSeries(
        pruefidentifikator=header.pruefidentifikator,
        message_reference=msg.reference,
        document_number=header.document_number,
        sender=header.sender,
        receiver=header.receiver,
        sender_code_list=header.sender_code_list,
        receiver_code_list=header.receiver_code_list,
        location_id=location.location_id,
        obis=location.positions[0].obis,
        start=start,
        end=start + interval * len(run),
        interval_minutes=interval // timedelta(minutes=1),
        unit=units[0] or None,
        values=values,
        qualities=qualities,
    )


def _location(msg: RawMessage, head: list[Any]) -> tuple[MsconsMessage, MsconsLocation] | None:
    """The message read by parse_mscons up to its run, and its location, if the run belongs to its only location
    and only position (without values before the run) and readings of that location carry nothing else."""
    if any(isinstance(item, QuantityRun) for item in head):
        return None
    try:
        header = parse_mscons(_with_segments(msg, head))
    except EdifactContentError:
        return None
    if len(header.locations) != 1:
        return None
    location = header.locations[0]
    if location.meter_number or len(location.positions) != 1 or location.positions[0].values:
        return None
    return header, location


def _timing(starts: tuple[str, ...], ends: tuple[str, ...]) -> tuple[datetime, timedelta] | None:
    """Start (UTC) and interval if every group follows the one before, at the interval of the first."""
    try:
        first = _instant(starts[0])
        interval = _instant(ends[0]) - first
    except ValueError:  # not a date
        return None
    if interval <= timedelta(0):
        return None
    instants = _instants(starts[0], interval // timedelta(minutes=1), len(starts))
    if starts != instants[:-1] or ends != instants[1:]:
        return None
    return first, interval


@lru_cache(maxsize=1024)
def _instant(written: str) -> datetime:
    """A date as written in a group, in UTC."""
    return parse_date(written.replace("?", ""), "303")


@lru_cache(maxsize=64)
def _instants(first: str, minutes: int, count: int) -> tuple[str, ...]:
    """``count + 1`` dates as written from ``first`` on, ``minutes`` apart, with the UTC offset of ``first``.

    Cached: the profiles of one day for many locations share them.
    """
    local, offset = datetime.strptime(first[:12], "%Y%m%d%H%M"), first[12:]
    step = timedelta(minutes=minutes)
    return tuple(f"{local + i * step:%Y%m%d%H%M}{offset}" for i in range(count + 1))


def _with_segments(msg: RawMessage, segments: list[Segment]) -> RawMessage:
    """A plain RawMessage with the header of ``msg`` and the given segments."""
    fields = {name: getattr(msg, name) for name in RawMessage.model_fields if name != "segments"}
    return RawMessage.model_construct(segments=segments, **fields)


def _segment(tag: str, components: list[str]) -> Segment:
    segment = Segment.__new__(Segment)
    segment.tag = tag
    segment.elements = [components]
    return segment


def _expanded(body: Iterable[Any]) -> Iterator[Segment]:
    for item in body:
        if isinstance(item, QuantityRun):
            yield from item.segments()
        else:
            yield item
