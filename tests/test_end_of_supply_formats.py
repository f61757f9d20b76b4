"""Our end-of-supply messages have the segments of the EDI@Energy samples (skipped without ../shared).

The requests are the shared samples themselves, stored as received; the answers and the Abmeldung are made by
the activities the processes use. Each of our messages must carry the sample's segments in the sample's order
and nothing the sample does not have (optional contact segments aside).
"""

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from activities.market import AnswerActivities, DropFolderTransport, MarketActivities
from edifact.envelope import parse_interchange
from edifact.utilmd import parse_utilmd
from models.messages import MarketMessage
from models.process import AnswerRequest, SendUtilmd
from tests.conftest import samples_dir
from tests.end_of_supply import Supplied

OPTIONAL = {"CTA", "COM"}
"""The sender's contact: optional, the samples carry it, we do not."""


def shape(raw: bytes) -> list[str]:
    [message] = parse_interchange(raw).messages
    shapes = []
    for segment in message.segments:
        first = segment.elements[0] if segment.elements else ""
        shapes.append(f"{segment.tag}+{first if isinstance(first, str) else first[0]}")
    return [s for s in shapes if s.split("+")[0] not in OPTIONAL]


def sample(name: str) -> bytes:
    [path] = sorted(samples_dir().glob(f"{name}_*.edi"))
    return path.read_bytes().replace(b"{{date}}:{{time}}", b"251001:1200")


def stored_request(engine: Engine, tenant_id: str, raw: bytes) -> tuple[int, str]:
    with Session(engine) as session:
        row = MarketMessage(
            tenant_id=tenant_id, direction="in", state="processed", raw=raw, sha256=hashlib.sha256(raw).hexdigest()
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        [message] = parse_interchange(raw).messages
        return row.id, parse_utilmd(message).transaction_id


@pytest.mark.parametrize(
    ("request_name", "answer_pid", "fields"),
    [
        (
            "55016",
            "55017",
            {
                "answer_code": "A09",
                "answer_code_list": "E_0614",
                "end": date(2025, 12, 1),
                "annual_consumption_kwh": Decimal("3500"),
            },
        ),
        (
            "55016",
            "55018",
            {
                "answer_code": "A06",
                "answer_code_list": "E_0614",
                "next_possible_date": date(2026, 1, 1),
                "notice_period": "01MQ",
                "valid_from": date(2025, 12, 1),
            },
        ),
        ("55007", "55008", {"answer_code": "A10", "answer_code_list": "E_0609", "end": date(2025, 12, 1)}),
        ("55010", "55011", {"answer_code": "A36", "answer_code_list": "E_0624", "end": date(2025, 12, 1)}),
        ("55010", "55012", {"answer_code": "A35", "answer_code_list": "E_0624"}),
    ],
)
def test_answers_have_the_sample_segments(
    engine: Engine, tmp_path: Path, request_name: str, answer_pid: str, fields: dict[str, object]
) -> None:
    expected = shape(sample(answer_pid))
    supplied = Supplied.create(engine, None, None, start=date(2025, 1, 1))  # type: ignore[arg-type]
    message_id, transaction = stored_request(engine, supplied.world.tenant.id, sample(request_name))
    answers = AnswerActivities(engine, DropFolderTransport(tmp_path))
    sent = answers.answer_request(
        AnswerRequest(
            request_message_id=message_id,
            request_transaction=transaction,
            pruefidentifikator=answer_pid,
            business_key=f"test:{message_id}:{answer_pid}",
            workflow_id="test",
            **fields,  # type: ignore[arg-type]
        )
    )
    with Session(engine) as session:
        row = session.get(MarketMessage, sent.message_id)
        assert row is not None
        ours = shape(row.raw)
        answer = parse_utilmd(parse_interchange(row.raw).messages[0])
    assert ours == expected, f"ours {ours}\nsample {expected}"
    assert answer.reference_transaction == transaction and answer.answer_code == fields["answer_code"]


def test_abmeldung_has_the_sample_segments(engine: Engine, tmp_path: Path) -> None:
    expected = shape(sample("55004"))
    supplied = Supplied.create(engine, None, None, start=date(2025, 1, 1))  # type: ignore[arg-type]
    market = MarketActivities(engine, DropFolderTransport(tmp_path))
    sent = market.send_utilmd(
        SendUtilmd(
            tenant_id=supplied.world.tenant.id,
            contract_id=supplied.contract_id,
            kind="deregistration",
            start=date(2026, 3, 1),
            transaction_reason="E01",
            business_key=f"test:abmeldung:{supplied.contract_id}",
            workflow_id="test",
        )
    )
    with Session(engine) as session:
        row = session.get(MarketMessage, sent.message_id)
        assert row is not None and row.pruefidentifikator == "55004"
        ours = shape(row.raw)
    assert ours == expected, f"ours {ours}\nsample {expected}"
