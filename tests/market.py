"""The other side of the market in tests: read what we sent, answer as grid operator or previous supplier."""

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from edifact.envelope import parse_interchange
from edifact.replies import reply_interchange, reply_to
from edifact.utilmd import UtilmdMessage, parse_utilmd
from models.messages import Direction, MarketMessage
from rules.calendar import day_start
from tests.factories import short_id


def sent(engine: Engine, workflow_id: str, pruefidentifikator: str | None = None) -> list[MarketMessage]:
    """Outbound messages of a process, oldest first."""
    with Session(engine) as session:
        query = select(MarketMessage).where(
            MarketMessage.workflow_id == workflow_id, MarketMessage.direction == Direction.OUTBOUND
        )
        if pruefidentifikator:
            query = query.where(MarketMessage.pruefidentifikator == pruefidentifikator)
        return list(session.exec(query.order_by(col(MarketMessage.id))).all())


def request_of(row: MarketMessage) -> UtilmdMessage:
    return parse_utilmd(parse_interchange(row.raw).messages[0])


def answer(
    row: MarketMessage,
    pruefidentifikator: str,
    *,
    start: date | None = None,
    end: date | None = None,
    next_possible_date: date | None = None,
    **fields: Any,
) -> bytes:
    """Our own builder answers the request in ``row`` (sender and receiver swapped, RFF+TN set)."""
    request = request_of(row)
    division = request.division.value
    dates = {
        "start": day_start(start, division) if start else None,
        "end_at": day_start(end, division) if end else None,
        "next_possible_date": day_start(next_possible_date, division) if next_possible_date else None,
    }
    now = datetime.now(UTC)
    return reply_interchange(reply_to(request, pruefidentifikator, now, **dates, **fields), now)


def from_sample(
    path: Path, row: MarketMessage, *, malo_id: str | None = None, dates: dict[str, date] | None = None
) -> bytes:
    """A shared sample answer with our ids substituted: parties, RFF+TN, MaLo, UNB date and reference.

    The UNB and NAD+MS/MR parties are replaced by position (a sample may name the same partner as sender and
    receiver). ``dates`` maps DTM qualifiers (e.g. "92", "Z06") to supply days written as day starts.
    """
    request = request_of(row)
    division = request.division.value
    text = path.read_text(encoding="utf-8")
    unb = re.search(r"UNB\+([^+]+)\+[0-9]+:([0-9]+)\+[0-9]+:([0-9]+)\+([^+]+)\+([^'+]+)'", text)
    assert unb is not None, f"{path.name} has no UNB"
    syntax, sender_qualifier, receiver_qualifier, old_reference = unb.group(1, 2, 3, 5)
    new_reference = short_id("S").replace("-", "")[:14]
    prepared = datetime.now(UTC).strftime("%y%m%d:%H%M")
    new_unb = (
        f"UNB+{syntax}+{request.receiver}:{sender_qualifier}+{request.sender}:{receiver_qualifier}"
        f"+{prepared}+{new_reference}'"
    )
    text = text[: unb.start()] + new_unb + text[unb.end() :]
    text = re.sub(r"UNZ\+([0-9]+)\+" + re.escape(old_reference) + r"'", rf"UNZ+\g<1>+{new_reference}'", text)
    text = re.sub(r"NAD\+MS\+[0-9]+:", f"NAD+MS+{request.receiver}:", text)
    text = re.sub(r"NAD\+MR\+[0-9]+:", f"NAD+MR+{request.sender}:", text)
    text = re.sub(r"RFF\+TN:[^']*'", f"RFF+TN:{request.transaction_id}'", text)
    malo = malo_id or request.malo_id
    text = re.sub(r"LOC\+(Z16|172)\+[0-9]{11}'", lambda m: f"LOC+{m.group(1)}+{malo}'", text)
    for qualifier, day in (dates or {}).items():
        value = day_start(day, division).strftime("%Y%m%d%H%M")
        pattern = rf"DTM\+{qualifier}:[0-9]{{12}}\?\+[0-9]{{2}}:303'"
        text, count = re.subn(pattern, f"DTM+{qualifier}:{value}?+00:303'", text)
        assert count, f"{path.name} has no DTM+{qualifier}"
    return text.encode("utf-8")
