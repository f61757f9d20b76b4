"""Streaming reader: same messages and same errors as parse_interchange, in flat memory."""

import io
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydifact import Characters, Parser, Serializer
from pydifact.exceptions import MissingImplementationWarning

from edifact import (
    Division,
    EdifactSyntaxError,
    Party,
    RawMessage,
    UtilmdMessage,
    UtilmdParty,
    parse_interchange,
    parse_utilmd,
    serialize_interchange,
    utilmd_interchange,
)
from edifact.profile import CompactMessage
from edifact.stream import Envelope, iter_interchange, read_envelope
from tests.conftest import samples_dir

CHUNK_SIZES = [1 << 20, 7, 1]
FREE_TEXT = "Vertragsbindung bis 31.12.? Kunde's Frist: 3 Monate + 14 Tage ?? :: ++ ''"


# ---------------------------------------------------------------- helpers


def utilmd(reference: str, pid: str, category: str, **fields: Any) -> UtilmdMessage:
    return UtilmdMessage(
        division=Division.STROM,
        association="S2.1",
        pruefidentifikator=pid,
        message_reference=reference,
        category=category,
        document_number=f"DOC-{reference}",
        document_date=datetime(2025, 3, 27, 16, 5, tzinfo=UTC),
        sender="9900000000003",
        receiver="9900000000010",
        **fields,
    )


@cache
def good() -> bytes:
    """Two UTILMD messages with every released character (``?' ?? ?+ ?:``) and umlauts (two UTF-8 bytes)."""
    messages = [
        utilmd(
            "M1",
            "55001",
            "E01",
            transaction_id="A-1+2:3'4?5",
            transaction_reason="E01",
            malo_id="50363198100",
            start=datetime(2025, 3, 29, 23, 0, tzinfo=UTC),
            customer=UtilmdParty(last_name="Müller-Lüdenscheidt", first_name="Jürgen"),
        ),
        utilmd(
            "M2",
            "55018",
            "E35",
            transaction_id="T2",
            answer_code="A14",
            answer_code_list="E_0614",
            reference_transaction="KDG123456",
            free_text=FREE_TEXT,
        ),
    ]
    interchange = utilmd_interchange(
        messages,
        sender=Party(id="9900000000003", qualifier="500"),
        receiver=Party(id="9900000000010", qualifier="500"),
        reference="ICREF1",
        prepared_at=datetime(2025, 10, 1, 12, 0, tzinfo=UTC),
    )
    data = serialize_interchange(interchange)
    assert all(escape in data for escape in (b"?'", b"??", b"?+", b"?:", b"?''"))
    return data


def load_profile(size: int) -> bytes:
    """An MSCONS interchange of about ``size`` bytes: one message per day of quarter-hour values."""
    out = ["UNA:+.? '\nUNB+UNOC:3+9900000000010:500+9900000000003:500+251001:1200+LP1'\n"]
    total, count, day = len(out[0]), 0, datetime(2025, 1, 1)
    while total < size:
        count += 1
        segments = [
            f"UNH+LP{count}+MSCONS:D:04B:UN:2.4c",
            f"BGM+7+DOC{count}+9",
            "DTM+137:202501020800?+00:303",
            "RFF+Z13:13025",
            "NAD+MS+9900000000010::293",
            "NAD+MR+9900000000003::293",
            "UNS+D",
            "NAD+DP",
            "LOC+172+50363198100",
            "LIN+1",
            "PIA+5+1-1?:1.29.0:SRW",
        ]
        for quarter in range(96):
            start = day + timedelta(minutes=15 * quarter)
            segments += [
                f"QTY+220:{(count * 97 + quarter) % 4000 / 7:.3f}",
                f"DTM+163:{start:%Y%m%d%H%M}?+00:303",
                f"DTM+164:{start + timedelta(minutes=15):%Y%m%d%H%M}?+00:303",
            ]
        segments.append(f"UNT+{len(segments) + 1}+LP{count}")
        text = "".join(f"{segment}'\n" for segment in segments)
        out.append(text)
        total += len(text)
        day += timedelta(days=1)
    out.append(f"UNZ+{count}+LP1'\n")
    return "".join(out).encode()


def stream(data: bytes, chunk_size: int = 1 << 20, compact: bool = True) -> tuple[Envelope, list[RawMessage]]:
    header, *items = iter_interchange(io.BytesIO(data), chunk_size, compact=compact)
    messages = [item for item in items if isinstance(item, RawMessage)]
    assert isinstance(header, Envelope)
    assert len(messages) == len(items)
    return header, messages


def assert_streams_like_parse_interchange(data: bytes, chunk_size: int = 1 << 20) -> None:
    expected = parse_interchange(data)
    header, messages = stream(data, chunk_size)
    assert header.model_dump(exclude={"decimal_mark"}) == expected.model_dump(exclude={"messages"})
    assert messages == expected.messages
    assert [m.position for m in messages] == [m.position for m in expected.messages]


def error_of(call: Callable[[], object]) -> tuple[type[Exception], str | None, int | None, str]:
    with pytest.raises(EdifactSyntaxError) as info:
        call()
    return type(info.value), info.value.segment, info.value.position, str(info.value)


def sample_params() -> list[Any]:
    try:
        folder = samples_dir()
    except pytest.skip.Exception as missing:
        return [pytest.param(None, marks=pytest.mark.skip(reason=str(missing)))]
    return [pytest.param(path, id=path.stem) for path in sorted(folder.glob("*.edi"))]


def with_characters(data: bytes, una: str) -> bytes:
    """The same interchange written with other service characters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingImplementationWarning)
        segments = [segment for segment in Parser().parse(data.decode()) if segment.tag != "UNA"]
    return Serializer(Characters.from_str(una)).serialize(segments, with_una_header=True, break_lines=True).encode()


# ---------------------------------------------------------------- same messages as parse_interchange


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("path", sample_params())
def test_every_sample_streams_like_parse_interchange(path: Path, chunk_size: int) -> None:
    data = path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")
    assert_streams_like_parse_interchange(data, chunk_size)


@pytest.mark.parametrize("chunk_size", [*range(1, 17), 100, 1 << 20])
def test_release_characters_and_umlauts_at_every_chunk_edge(chunk_size: int) -> None:
    assert_streams_like_parse_interchange(good(), chunk_size)


def test_streamed_messages_are_read_by_the_message_parsers() -> None:
    _, messages = stream(good(), 5)
    expected = parse_interchange(good()).messages
    assert [parse_utilmd(m) for m in messages] == [parse_utilmd(m) for m in expected]
    assert parse_utilmd(messages[0]).transaction_id == "A-1+2:3'4?5"
    assert parse_utilmd(messages[1]).free_text == FREE_TEXT


def test_header() -> None:
    header = read_envelope(good())
    assert header == Envelope(
        sender=Party(id="9900000000003", qualifier="500"),
        receiver=Party(id="9900000000010", qualifier="500"),
        prepared_at=datetime(2025, 10, 1, 12, 0, tzinfo=UTC),
        reference="ICREF1",
        syntax="UNOC:3",
        decimal_mark=".",
    )
    assert stream(good())[0] == header


def test_read_envelope_does_not_check_the_rest() -> None:
    broken_later = good()[: good().index(b"UNZ")]
    assert read_envelope(io.BytesIO(broken_later)).reference == "ICREF1"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("una", ["|*,# ~", ":+,? '", "/&.!*#"])
def test_service_string_advice_is_honoured(una: str, chunk_size: int) -> None:
    data = with_characters(good(), una)
    assert data.startswith(f"UNA{una}".encode())
    assert_streams_like_parse_interchange(data, chunk_size)
    assert stream(data, chunk_size)[1] == stream(good())[1]
    assert read_envelope(data).decimal_mark == una[2]


def test_released_reserved_character() -> None:
    data = with_characters(good(), "/&.!*#").replace(b"KDG123456", b"KDG!*123456")
    assert_streams_like_parse_interchange(data, 3)
    assert parse_utilmd(stream(data)[1][1]).reference_transaction == "KDG*123456"


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.split(b"\n", 1)[1],
        lambda data: data.replace(b"'\n", b"'"),
        lambda data: data.replace(b"'\n", b"'\r\n"),
        lambda data: data.replace(b"'\n", b"' \t\r\n\n"),
        lambda data: b"\xef\xbb\xbf\r\n" + data + b"\r\n\r\n",
        lambda data: data.decode().encode("latin-1"),
    ],
    ids=["without-una", "one-line", "crlf", "whitespace", "bom-and-blank-lines", "latin-1"],
)
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_layouts_and_encodings(change: Callable[[bytes], bytes], chunk_size: int) -> None:
    assert_streams_like_parse_interchange(change(good()), chunk_size)


def test_latin1_after_utf8_keeps_both() -> None:
    """Decoding switches to Latin-1 at the first byte that is not UTF-8 (parse_interchange reads it all as Latin-1)."""
    first, second = good().split(b"UNH+M2")
    data = first + b"UNH+M2" + second.replace(b"Monate", "Mönate".encode("latin-1"))
    _, messages = stream(data, 64)
    assert parse_utilmd(messages[0]).customer == UtilmdParty(last_name="Müller-Lüdenscheidt", first_name="Jürgen")
    assert "Mönate" in (parse_utilmd(messages[1]).free_text or "")


@pytest.mark.parametrize("source", ["bytes", "bytesio", "file"])
def test_sources(source: str, tmp_path: Path) -> None:
    path = tmp_path / "interchange.edi"
    path.write_bytes(good())
    expected = parse_interchange(good()).messages
    if source == "file":
        with path.open("rb") as file:
            assert list(iter_interchange(file, 100))[1:] == expected
    else:
        data = good() if source == "bytes" else io.BytesIO(good())
        assert list(iter_interchange(data))[1:] == expected


def test_load_profile_streams_like_parse_interchange() -> None:
    """Some 50 windows of 4 KiB, with released separators at their edges."""
    data = load_profile(200_000)
    assert_streams_like_parse_interchange(data)
    assert_streams_like_parse_interchange(data, 1000)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("path", sample_params())
def test_every_sample_reads_the_same_segment_by_segment(path: Path, chunk_size: int) -> None:
    """Runs of QTY/DTM/DTM groups read as tuples give the segments of the segment-by-segment reading."""
    data = path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")
    fast, slow = list(iter_interchange(data, chunk_size)), list(iter_interchange(data, chunk_size, compact=False))
    assert fast == slow
    assert [getattr(item, "position", None) for item in fast] == [getattr(item, "position", None) for item in slow]


def test_load_profile_is_read_in_runs() -> None:
    _, messages = stream(load_profile(200_000))
    assert all(isinstance(message, CompactMessage) for message in messages)
    _, plain = stream(load_profile(200_000), compact=False)
    assert not any(isinstance(message, CompactMessage) for message in plain) and messages == plain


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        iter_interchange(good(), 0)


# ---------------------------------------------------------------- same errors as parse_interchange


def _insert_before(marker: bytes, text: bytes) -> Callable[[bytes], bytes]:
    return lambda data: data.replace(marker, text + marker, 1)


MALFORMED: list[Any] = [
    pytest.param(lambda d: d[: d.index(b"RFF+TN") + 8], "truncated", id="truncated"),
    pytest.param(lambda d: d[: d.rindex(b"UNT")], "without UNT", id="truncated-before-unt"),
    pytest.param(lambda d: d.replace(b"UNT+11+M2", b"UNT+10+M2"), "segment count 10", id="unt-count"),
    pytest.param(lambda d: d.replace(b"UNT+11+M2", b"UNT+X+M2"), "is not a number", id="unt-count-not-a-number"),
    pytest.param(lambda d: d.replace(b"UNT+11+M2", b"UNT+11+M3"), "'M3' does not match 'M2'", id="unt-reference"),
    pytest.param(lambda d: d.replace(b"UNT+12+M1'\n", b""), "not closed by UNT", id="unh-before-unt"),
    pytest.param(lambda d: d[: d.index(b"UNZ")], "without UNZ", id="missing-unz"),
    pytest.param(lambda d: d.replace(b"UNZ+2+", b"UNZ+3+"), "message count 3", id="unz-count"),
    pytest.param(lambda d: d.replace(b"UNZ+2+ICREF1", b"UNZ+2+ICREF2"), "interchange reference", id="unz-reference"),
    pytest.param(lambda d: d + b"UNH+M3+UTILMD:D:11A:UN:S2.1'\n", "after UNZ", id="segment-after-unz"),
    pytest.param(_insert_before(b"UNH+M2", b"RFF+Z13:1'\n"), "outside of a UNH..UNT", id="segment-outside-message"),
    pytest.param(_insert_before(b"UNH+M1", b"UNG+X'\n"), "functional groups", id="functional-group"),
    pytest.param(lambda d: d.replace(b"UNH+M1+", b"UNH++"), "reference is missing", id="unh-without-reference"),
    pytest.param(lambda d: d.replace(b"UTILMD:D:11A:UN:S2.1", b"UTILMD:D", 1), "incomplete", id="unh-identifier"),
    pytest.param(lambda d: d.replace(b"KDG123456'", b"KDG123456?'"), "joins this segment", id="release-joins-lines"),
    pytest.param(lambda d: d.rstrip()[:-1] + b"?'", "cancelled by the release", id="release-before-last-terminator"),
    pytest.param(lambda d: d.rstrip() + b"?", "ends with the release character", id="ends-with-release"),
    pytest.param(lambda d: d.replace(b"KDG123456", b"KDG?123456"), "invalid release character", id="release-ordinary"),
    pytest.param(lambda d: d.replace(b"31.12.??", b"31.12.?\n"), "invalid release character", id="release-newline"),
    pytest.param(lambda d: d.replace(b"KDG123456", b"KDG\x00\x01"), "control character", id="control-character"),
    pytest.param(lambda d: d.replace(b"Vertrag", b"Ver\x02trag"), "control character", id="control-in-escaped"),
    pytest.param(lambda d: d.replace(b"RFF+TN", b"rf+TN"), "valid segment tag", id="invalid-tag"),
    pytest.param(lambda d: d.replace(b"FTX+ACB", b"FTXX+ACB"), "valid segment tag", id="long-tag-escaped"),
    pytest.param(lambda d: d.replace(b"RFF+TN:KDG123456'", b"RFF'"), "no data elements", id="no-data-elements"),
    pytest.param(lambda d: d.replace(b"RFF+TN:KDG123456'", b"'"), "valid segment tag", id="empty-segment"),
    pytest.param(lambda d: d.replace(b"251001:1200", b"{{date}}:{{time}}"), "placeholder", id="placeholder-date"),
    pytest.param(lambda d: d.replace(b"+9900000000003:500", b"+:500", 1), "sender id", id="unb-without-sender"),
    pytest.param(lambda d: d.replace(b"UNA:+.? '", b"UNA:::? '"), "service string advice", id="invalid-una"),
    pytest.param(lambda d: d[: d.index(b"UNB")], "must start with UNB", id="una-only"),
    pytest.param(lambda d: d.replace(d[d.index(b"UNB") : d.index(b"UNH")], b""), "must start with UNB", id="no-unb"),
    pytest.param(lambda d: b"", "empty", id="empty"),
    pytest.param(lambda d: b" \r\n\t", "empty", id="whitespace"),
    pytest.param(lambda d: bytes(range(256)), "not an EDIFACT interchange", id="all-bytes"),
    pytest.param(lambda d: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an EDIFACT interchange", id="png"),
    pytest.param(lambda d: b"UNA:+.? '\nUNB+UNOC:3" + b"x" * 10_000, "truncated", id="no-terminator"),
]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize(("change", "detail"), MALFORMED)
def test_malformed_interchange_raises_the_error_of_parse_interchange(
    change: Callable[[bytes], bytes], detail: str, chunk_size: int
) -> None:
    data = change(good())
    expected = error_of(lambda: parse_interchange(data))
    assert detail in expected[3]
    assert error_of(lambda: list(iter_interchange(data, chunk_size))) == expected


def _group(day: int) -> bytes:
    return f"QTY+220:1.5'DTM+163:202501{day:02d}0000?+00:303'DTM+164:202501{day:02d}0015?+00:303'\n".encode()


PROFILE_DEFECTS: list[Any] = [
    pytest.param(lambda d: d.replace(b"UNT+300+LP2'", b"UNT+299+LP2'"), "segment count 299", id="unt-count"),
    pytest.param(lambda d: d[: d.index(b"QTY", 20_000)], "without UNT", id="truncated-after-a-group"),
    pytest.param(lambda d: d[: d.index(b"QTY", 20_000) - 20], "truncated", id="truncated-inside-a-group"),
    pytest.param(lambda d: d.replace(b"QTY+220:", b"QTY+220:\x01", 40), "control character", id="control-in-run"),
    pytest.param(lambda d: d.replace(b"UNT+300+LP2'\n", b""), "not closed by UNT", id="unt-missing"),
    pytest.param(_insert_before(b"UNH+LP3", _group(3)), "outside of a UNH..UNT", id="group-outside-message"),
    pytest.param(lambda d: d + _group(3), "after UNZ", id="group-after-unz"),
    pytest.param(_insert_before(b"UNB+", _group(3)), "must start with UNB", id="group-before-unb"),
]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize(("change", "detail"), PROFILE_DEFECTS)
def test_defects_of_a_load_profile_are_reported_as_segment_by_segment(
    change: Callable[[bytes], bytes], detail: str, chunk_size: int
) -> None:
    data = change(load_profile(40_000))
    expected = error_of(lambda: list(iter_interchange(data, chunk_size, compact=False)))
    assert detail in expected[3]
    assert error_of(lambda: list(iter_interchange(data, chunk_size))) == expected


def test_messages_before_a_defect_are_yielded_first() -> None:
    items: list[object] = []
    with pytest.raises(EdifactSyntaxError, match="without UNZ"):
        for item in iter_interchange(good()[: good().index(b"UNZ")], 7):
            items.append(item)
    assert len(items) == 3


def test_with_several_defects_the_first_in_the_file_is_reported() -> None:
    """Both read in file order: a wrong UNT of the first message is reported before a bad segment in the second."""
    data = good().replace(b"UNT+12+M1", b"UNT+10+M1").replace(b"KDG123456", b"KDG\x00")
    assert error_of(lambda: parse_interchange(data))[1] == "UNT"
    assert error_of(lambda: list(iter_interchange(data)))[1] == "UNT"


# ---------------------------------------------------------------- memory


def peak_memory(data: bytes, chunk_size: int) -> tuple[int, int]:
    """Peak of traced memory while streaming, and the number of segments streamed."""
    segments = 0
    tracemalloc.start()
    try:
        for item in iter_interchange(io.BytesIO(data), chunk_size):
            segments += len(item.segments) if isinstance(item, RawMessage) else 0
        return tracemalloc.get_traced_memory()[1], segments
    finally:
        tracemalloc.stop()


def test_memory_is_flat_and_well_below_the_file_size() -> None:
    data = load_profile(5_000_000)
    peak, segments = peak_memory(data, 1 << 16)
    assert segments > 150_000
    assert peak < len(data) * 0.2
    small_peak, _ = peak_memory(load_profile(1_000_000), 1 << 16)
    assert peak < small_peak * 1.3
