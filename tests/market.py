"""The other side of the market in tests: read what we sent, answer as grid operator or previous supplier."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from edifact.envelope import Party, parse_interchange, serialize_interchange
from edifact.utilmd import UtilmdMessage, build_utilmd, parse_utilmd, utilmd_interchange
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
    answer_code: str | None = None,
    answer_code_list: str | None = None,
    start: date | None = None,
    end: date | None = None,
    next_possible_date: date | None = None,
    malo_id: str | None = None,
) -> bytes:
    """Our own builder answers the request in ``row`` (sender and receiver swapped, RFF+TN set)."""
    request = request_of(row)
    division = request.division.value
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    message = UtilmdMessage(
        division=request.division,
        association=request.association,
        pruefidentifikator=pruefidentifikator,
        message_reference=short_id("M").replace("-", ""),
        category=request.category,
        document_number=short_id("D").replace("-", ""),
        document_date=now,
        sender=request.receiver,
        receiver=request.sender,
        sender_code_list=request.receiver_code_list,
        receiver_code_list=request.sender_code_list,
        transaction_id=short_id("T").replace("-", ""),
        transaction_reason=request.transaction_reason,
        answer_code=answer_code,
        answer_code_list=answer_code_list,
        malo_id=malo_id or request.malo_id,
        reference_transaction=request.transaction_id,
        start=day_start(start, division) if start else None,
        end_at=day_start(end, division) if end else None,
        next_possible_date=day_start(next_possible_date, division) if next_possible_date else None,
    )
    qualifier = "500" if division == "strom" else "502"
    interchange = utilmd_interchange(
        [message],
        sender=Party(id=request.receiver, qualifier=qualifier),
        receiver=Party(id=request.sender, qualifier=qualifier),
        reference=short_id("I").replace("-", "")[:14],
        prepared_at=now,
    )
    assert build_utilmd(message)
    return serialize_interchange(interchange)


def from_sample(path: Path, row: MarketMessage, *, malo_id: str | None = None) -> bytes:
    """A shared sample answer with our ids substituted: parties, RFF+TN, MaLo, UNB date and reference."""
    request = request_of(row)
    text = path.read_text(encoding="utf-8")
    unb = re.search(r"UNB\+[^+]+\+([0-9]+):([0-9]+)\+([0-9]+):([0-9]+)\+[^+]+\+([^'+]+)", text)
    assert unb is not None, f"{path.name} has no UNB"
    old_sender, old_receiver, old_reference = unb.group(1), unb.group(3), unb.group(5)
    new_reference = short_id("S").replace("-", "")[:14]
    text = text.replace("{{date}}:{{time}}", datetime.now(UTC).strftime("%y%m%d:%H%M"))
    text = text.replace(f"+{old_sender}:", f"+{request.receiver}:").replace(f"+{old_receiver}:", f"+{request.sender}:")
    text = text.replace(f"NAD+MS+{old_sender}:", f"NAD+MS+{request.receiver}:")
    text = text.replace(f"NAD+MR+{old_receiver}:", f"NAD+MR+{request.sender}:")
    text = re.sub(r"\+" + re.escape(old_reference) + r"'", f"+{new_reference}'", text)
    text = re.sub(r"RFF\+TN:[^']*'", f"RFF+TN:{request.transaction_id}'", text)
    malo = malo_id or request.malo_id
    text = re.sub(r"LOC\+(Z16|172)\+[0-9]{11}'", lambda m: f"LOC+{m.group(1)}+{malo}'", text)
    return text.encode("utf-8")
