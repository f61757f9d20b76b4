"""``bpo edifact inspect`` on every shared sample, on the own fixtures, and on files it must refuse."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import SAMPLES, samples_dir

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "edifact"
PREPARED = "251001:1200"
WITHOUT_PID = {"APERAK", "CONTRL"}
PARTY_ID = re.compile(r"[0-9]{13}")
UNH = re.compile(r"(?:^|(?<!\?)')\s*UNH\+")
"""A UNH segment tag (not the text ``UNH+`` inside a segment, as a CONTRL's UCM may hold)."""


def sample_names() -> list[str]:
    return sorted(path.name for path in SAMPLES.glob("*.edi")) if SAMPLES.is_dir() else []


def fixture_names() -> list[str]:
    return sorted(str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.edi"))


def filled(sample: Path, tmp_path: Path) -> Path:
    """The sample with its UNB date placeholder filled in, as a file of its own."""
    target = tmp_path / sample.name
    target.write_text(sample.read_text(encoding="utf-8").replace("{{date}}:{{time}}", PREPARED), encoding="utf-8")
    return target


def inspect(path: Path, *options: str) -> Any:
    result = runner.invoke(app, ["edifact", "inspect", str(path), *options])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def json_view(path: Path) -> dict[str, Any]:
    view = json.loads(inspect(path, "--json").output)
    assert isinstance(view, dict)
    return view


def assert_messages(view: dict[str, Any], raw: str) -> None:
    """Every message has its type, Prüfidentifikator, document number and, where NAD names them, its parties."""
    messages = view["messages"]
    assert isinstance(messages, list) and messages
    assert len(messages) == len(UNH.findall(raw))
    for message in messages:
        assert message["type"] in raw and "document_number" in message
        if message["type"] in WITHOUT_PID:
            assert message["pruefidentifikator"] is None
        else:
            assert re.fullmatch(r"[0-9]{5}", message["pruefidentifikator"] or ""), message
            assert f"RFF+Z13:{message['pruefidentifikator']}'" in raw
        if message["type"] != "CONTRL":  # CONTRL has no NAD; its parties are those of the UNB
            assert message["document_number"], message
        if "NAD+MS+" in raw or message["type"] == "CONTRL":
            assert PARTY_ID.fullmatch(message["sender"] or ""), message
            assert PARTY_ID.fullmatch(message["receiver"] or ""), message
    assert PARTY_ID.fullmatch(view["sender"]) and PARTY_ID.fullmatch(view["receiver"])


@pytest.mark.parametrize("name", sample_names() or ["(no shared samples)"])
def test_every_shared_sample_is_described(name: str, tmp_path: Path) -> None:
    sample = samples_dir() / name
    path = filled(sample, tmp_path)
    raw = path.read_text(encoding="utf-8")
    text = inspect(path).output
    view = json_view(path)
    assert_messages(view, raw)
    assert view["reference"] in text and view["sender"] in text
    for message in view["messages"]:
        assert message["type"] in text
        if message["pruefidentifikator"]:
            assert message["pruefidentifikator"] in text


def test_the_samples_are_all_there() -> None:
    """Guards the parametrisation above: a moved sample directory must not make it pass with nothing."""
    names = [path.name for path in samples_dir().glob("*.edi")]
    assert len(names) >= 80 and any(n.startswith("nopid_CONTRL") for n in names)


@pytest.mark.parametrize("name", fixture_names())
def test_every_own_fixture_is_described(name: str) -> None:
    path = FIXTURES / name
    assert_messages(json_view(path), path.read_text(encoding="utf-8"))


def test_json_holds_the_business_content() -> None:
    """A meter reading: location, OBIS, quantity as an exact decimal string, the reading's dates and status."""
    view = json_view(FIXTURES / "mscons" / "13017_zaehlerstand_kundenselbstablesung.edi")
    assert (view["sender"], view["receiver"], view["reference"]) == ("9900000000029", "9900000000003", "MS17KSA01")
    [message] = view["messages"]
    assert (message["type"], message["pruefidentifikator"], message["format_version"]) == ("MSCONS", "13017", "FV2510")
    assert (message["sender"], message["receiver"], message["document_number"]) == (
        "9900000000029",
        "9900000000003",
        "MS17KSA01D",
    )
    [location] = message["locations"]
    assert location["location_id"] == "DE0001234567890000000000004711081"
    assert [(p["obis"], p["values"][0]["quantity"]) for p in location["positions"]] == [
        ("1-1:1.8.1", "4711.2"),
        ("1-1:1.8.2", "1022.85"),
    ]
    value = location["positions"][0]["values"][0]
    assert (value["reading_date"], value["used_at"]) == ("2025-09-30T00:00:00Z", "2025-09-30T22:00:00Z")
    assert value["statuses"] == [{"category": "Z33", "code": "Z83"}]


# ---------------------------------------------------------------- files it must refuse

GOOD = """UNA:+.? '
UNB+UNOC:3+9900000000029:500+9900000000003:500+251002:0815+MS17KSA01'
UNH+MS17KSA01M+MSCONS:D:04B:UN:2.4c'
BGM+7+MS17KSA01D+9'
DTM+137:202510020815?+00:303'
RFF+Z13:13017'
NAD+MS+9900000000029::293'
NAD+MR+9900000000003::293'
UNS+D'
NAD+DP'
LOC+172+DE0001234567890000000000004711081'
RFF+MG:1ESY1160123456'
LIN+1'
PIA+5+1-1?:1.8.1:SRW'
QTY+220:4711.2'
DTM+9:20250930:102'
DTM+7:202509302200?+00:303'
STS+Z33++Z83'
UNT+17+MS17KSA01M'
UNZ+1+MS17KSA01'
"""


def _filled_sample(name: str) -> str:
    return (samples_dir() / name).read_text(encoding="utf-8").replace("{{date}}:{{time}}", PREPARED)


def _raw_sample(_: str) -> str:
    """The shared sample as it is stored: its UNB still holds the ``{{date}}:{{time}}`` placeholder."""
    return (samples_dir() / "13017_MSCONS_zaehlerstand-strom.edi").read_text(encoding="utf-8")


BROKEN = [
    # (how the good file is broken, "TAG at segment N" expected in the message, a word of the explanation)
    pytest.param(lambda s: s[: s.index("LIN+1'")], "UNT at segment 13", "truncated", id="truncated"),
    pytest.param(lambda s: s.replace("UNT+17+", "UNT+16+"), "UNT at segment 19", "count", id="wrong-unt-count"),
    pytest.param(lambda s: s[: s.index("UNZ+")], "UNZ at segment 20", "UNZ", id="missing-unz"),
    pytest.param(
        lambda s: s.replace("RFF+MG:1ESY", "RFF+MG:1E?SY"), "RFF at segment 12", "release", id="bad-release-character"
    ),
    pytest.param(
        lambda s: s.replace("RFF+Z13:13017'", "RFF+Z13:99999'"), "RFF at segment 6", "99999", id="pid-of-no-type"
    ),
    pytest.param(
        lambda s: _filled_sample("55001_UTILMD_anmeldung-verb-malo.edi").replace("RFF+Z13:55001'", "RFF+Z13:44001'"),
        "RFF at segment",
        "44001",
        id="gas-pid-in-strom-utilmd",
    ),
    pytest.param(
        lambda s: s.replace("RFF+Z13:13017'", "RFF+Z13:13999'"),
        "RFF at segment 6",
        "13999",
        id="unknown-mscons-pid",
    ),
    pytest.param(
        lambda s: _filled_sample("55001_UTILMD_anmeldung-verb-malo.edi").replace("RFF+Z13:55001'", "RFF+Z13:55999'"),
        "RFF at segment",
        "55999",
        id="unknown-utilmd-pid",
    ),
    pytest.param(_raw_sample, "UNB at segment 2", "placeholder", id="date-placeholder"),
    pytest.param(
        lambda s: b"\x00\x01\x02\xff\xfe" * 40, "segment 1", "not an EDIFACT interchange", id="binary-garbage"
    ),
    pytest.param(lambda s: "", None, "empty", id="empty"),
]


@pytest.mark.parametrize(("damage", "where", "word"), BROKEN)
def test_malformed_files_are_refused_with_segment_and_position(
    damage: Callable[[str], str | bytes], where: str | None, word: str, tmp_path: Path
) -> None:
    content = damage(GOOD)
    assert content != GOOD
    path = tmp_path / "broken.edi"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    for options in ([], ["--json"]):
        result = runner.invoke(app, ["edifact", "inspect", str(path), *options])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output, result.exception
        assert "invalid interchange" in result.output and str(path) in result.output
        if where:
            assert where in result.output, result.output
        assert word.lower() in result.output.lower(), result.output
        assert "{" not in result.output.replace("{{date}}:{{time}}", "")  # no JSON on failure


def test_good_file_of_the_malformed_tests_is_good(tmp_path: Path) -> None:
    path = tmp_path / "good.edi"
    path.write_text(GOOD, encoding="utf-8")
    assert json_view(path)["messages"][0]["pruefidentifikator"] == "13017"


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["edifact", "inspect", str(tmp_path / "nowhere.edi")])
    assert result.exit_code == 2 and "Traceback" not in result.output
