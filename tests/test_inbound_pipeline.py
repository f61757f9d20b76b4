"""The inbound pipeline on the real servers: store, check, answer (CONTRL/APERAK), store readings, route, clear.

Every test has its own tenant and partners and delivers interchanges built for it (or own fixtures with its
ids substituted) through ``services.inbox``, exactly as the API does; the worker runs in-process.
"""

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

import worker
from activities.inbound import READING_BATCH
from core.settings import Settings
from edifact.aperak import AperakError, AperakMessage, aperak_interchange, negative_aperak, parse_aperak
from edifact.contrl import ContrlMessage, ContrlMessageReport, contrl_interchange, parse_contrl
from edifact.envelope import Interchange, Party, parse_interchange, serialize_interchange
from edifact.mscons import (
    MsconsLocation,
    MsconsMessage,
    MsconsPosition,
    MsconsStatus,
    MsconsValue,
    mscons_interchange,
)
from edifact.utilmd import Division, UtilmdMessage, utilmd_interchange
from models.contracts import MarketLocation, Meter
from models.messages import Direction, MarketMessage, MessageState
from models.process import ProcessStatus, ReadingsArrived
from models.readings import LoadProfile, MeterReading, ReadingWait
from models.tasks import Task
from rules.calendar import day_start
from services.inbox import inbound_workflow_id, start_processing
from tests import market
from tests.cases import Case, message_row
from tests.factories import World, malo_id, partner_id
from tests.flow import deliver, eventually, open_task
from worker import build_worker
from workflows.inbound import InboundMessageWorkflow

FIXTURES = Path(__file__).parent / "fixtures" / "edifact"
QUARTER = timedelta(minutes=15)
PROFILE_DAY = date(2025, 10, 6)
"""A Strom day of 96 quarter hours (no clock change)."""


# ---------------------------------------------------------------- master data and interchanges


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine, expire_on_commit=False) as session:
        return World(session)


def reference() -> str:
    return uuid.uuid4().hex.upper()[:14]


def melo_id() -> str:
    return "DE" + uuid.uuid4().hex.upper()[:31]


def supplied_location(engine: Engine, world: World, *, meter_number: str | None = None) -> tuple[str, str, str]:
    """A MaLo of the tenant with one meter and its MeLo: (malo_id, melo_id, meter_number)."""
    malo, melo, meter = malo_id(), melo_id(), meter_number or f"1ESY{uuid.uuid4().hex[:10].upper()}"
    with Session(engine) as session:
        location = MarketLocation(
            tenant_id=world.tenant.id, malo_id=malo, division="strom", grid_operator_id=world.grid_operator.id
        )
        session.add(location)
        session.flush()
        assert location.id is not None
        session.add(Meter(tenant_id=world.tenant.id, location_id=location.id, meter_number=meter, melo_id=melo))
        session.commit()
    return malo, melo, meter


def strom(party_id: str) -> Party:
    return Party(id=party_id, qualifier="500")


def now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def mscons(sender: str, receiver: str, pruefidentifikator: str, locations: list[MsconsLocation]) -> bytes:
    message = MsconsMessage(
        association="2.4c",
        pruefidentifikator=pruefidentifikator,
        message_reference=reference(),
        category="7" if pruefidentifikator == "13017" else "Z48",
        document_number=f"MS{reference()}",
        document_date=now(),
        sender=sender,
        receiver=receiver,
        locations=locations,
    )
    interchange = mscons_interchange(
        [message], sender=strom(sender), receiver=strom(receiver), reference=reference(), prepared_at=now()
    )
    return serialize_interchange(interchange)


READ_AT = datetime(2025, 9, 30, 22, 0, tzinfo=UTC)
"""Nutzungszeitpunkt of the meter readings: 1 October 2025 00:00 Berlin."""


def meter_readings(melo: str, meter: str) -> MsconsLocation:
    """13017: two registers (HT/NT) read by the customer."""

    def value(quantity: str) -> MsconsValue:
        return MsconsValue(
            quantity=Decimal(quantity),
            quality="220",
            reading_date=datetime(2025, 9, 30, tzinfo=UTC),
            used_at=READ_AT,
            statuses=[MsconsStatus(category="Z33", code="Z83")],
        )

    return MsconsLocation(
        location_id=melo,
        meter_number=meter,
        positions=[
            MsconsPosition(line="1", obis="1-1:1.8.1", values=[value("4711.2")]),
            MsconsPosition(line="2", obis="1-1:1.8.2", values=[value("1022.855")]),
        ],
    )


SUBSTITUTE = 40
"""The quarter hour an irregular profile carries as Ersatzwert (QTY+67 with STS), which the fast path leaves alone."""


def load_profile(malo: str, *, substitute: bool = False, day: date = PROFILE_DAY) -> MsconsLocation:
    """13025: the quarter-hour energy quantities of one Strom day (value i = i.125 kWh).

    A regular profile (true values only) is stored as one ``load_profile`` row; with ``substitute`` one value
    is an Ersatzwert with its statuses and the profile goes through the full parser into ``meter_reading``.
    """
    start = day_start(day, "strom")
    end = day_start(day + timedelta(days=1), "strom")
    count = int((end - start) / QUARTER)
    values = [
        MsconsValue(
            quantity=Decimal(f"{i}.125"),
            quality="220",
            unit="KWH",
            period_start=start + i * QUARTER,
            period_end=start + (i + 1) * QUARTER,
        )
        for i in range(count)
    ]
    if substitute:
        values[SUBSTITUTE] = values[SUBSTITUTE].model_copy(
            update={
                "quality": "67",
                "statuses": [MsconsStatus(category="Z32", code="Z88"), MsconsStatus(category="Z40", code="Z74")],
            }
        )
    return MsconsLocation(
        location_id=malo,
        period_start=start,
        period_end=end,
        positions=[MsconsPosition(line="1", obis="1-1:1.29.0", values=values)],
    )


def utilmd(world: World, pruefidentifikator: str, **fields: Any) -> bytes:
    """A Strom UTILMD from the grid operator to the tenant."""
    values: dict[str, Any] = {
        "division": Division.STROM,
        "association": "S2.1",
        "pruefidentifikator": pruefidentifikator,
        "message_reference": reference(),
        "category": "E01",
        "document_number": f"DOC{reference()}",
        "document_date": now(),
        "sender": world.grid_operator.id,
        "receiver": world.tenant.market_partner_id,
        "transaction_id": uuid.uuid4().hex.upper(),
        "transaction_reason": "E03",
        "malo_id": malo_id(),
        "start": day_start(date(2026, 1, 1), "strom"),
    }
    message = UtilmdMessage(**(values | fields))
    interchange = utilmd_interchange(
        [message],
        sender=strom(message.sender),
        receiver=strom(message.receiver),
        reference=reference(),
        prepared_at=now(),
    )
    return serialize_interchange(interchange)


def addressed(path: Path, sender: str, receiver: str) -> tuple[bytes, str]:
    """An own fixture from ``sender`` to ``receiver`` (UNB and NAD+MS/MR) with a fresh interchange reference."""
    text = path.read_text(encoding="utf-8")
    unb = re.search(r"UNB\+([^+]+)\+[0-9]+:([0-9]+)\+[0-9]+:([0-9]+)\+([^+]+)\+([^'+]+)'", text)
    assert unb is not None, f"{path.name} has no UNB"
    syntax, sender_qualifier, receiver_qualifier, prepared, old = unb.groups()
    new = reference()
    text = text.replace(
        unb.group(0), f"UNB+{syntax}+{sender}:{sender_qualifier}+{receiver}:{receiver_qualifier}+{prepared}+{new}'"
    )
    text = re.sub(r"UNZ\+([0-9]+)\+" + re.escape(old) + "'", rf"UNZ+\g<1>+{new}'", text)
    text = re.sub(r"NAD\+MS\+[0-9]{13}:", f"NAD+MS+{sender}:", text)
    text = re.sub(r"NAD\+MR\+[0-9]{13}:", f"NAD+MR+{receiver}:", text)
    return text.encode("utf-8"), new


# ---------------------------------------------------------------- waiting and reading the outcome


async def settled(client: Client, tenant_id: str, message_id: int) -> ProcessStatus:
    """The result of the inbound process of a message that needs no clerk."""
    handle = client.get_workflow_handle_for(InboundMessageWorkflow.run, inbound_workflow_id(tenant_id, message_id))
    return await asyncio.wait_for(handle.result(), timeout=30)


async def clearing_task(engine: Engine, tenant_id: str, message_id: int) -> Task:
    workflow_id = inbound_workflow_id(tenant_id, message_id)
    return await eventually(
        lambda: open_task(engine, workflow_id, "inbound_message_clearing"), what=f"clearing task of {message_id}"
    )


def replies(engine: Engine, message_id: int) -> list[MarketMessage]:
    """Our CONTRL/APERAK answers to an inbound message, oldest first."""
    with Session(engine) as session:
        query = select(MarketMessage).where(
            MarketMessage.in_reply_to_id == message_id, MarketMessage.direction == Direction.OUTBOUND
        )
        return list(session.exec(query.order_by(col(MarketMessage.id))).all())


def sent_file(settings: Settings, row: MarketMessage) -> Interchange:
    """The interchange the drop-folder transport wrote for an outbound row (it must be the stored bytes)."""
    assert row.tenant_id and row.receiver and row.interchange_ref
    path = settings.outbox_path / row.tenant_id / row.receiver / f"{row.interchange_ref}.edi"
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes() == row.raw
    return parse_interchange(path.read_bytes())


def only_reply(engine: Engine, settings: Settings, message_id: int, message_type: str) -> Interchange:
    rows = replies(engine, message_id)
    assert [r.message_type for r in rows] == [message_type], [(r.message_type, r.business_key) for r in rows]
    assert rows[0].state == MessageState.SENT and rows[0].answer_due_at is None
    return sent_file(settings, rows[0])


def aperaks(interchange: Interchange) -> list[AperakMessage]:
    assert {m.type for m in interchange.messages} == {"APERAK"}
    return [parse_aperak(m) for m in interchange.messages]


def contrl(interchange: Interchange) -> ContrlMessage:
    assert [m.type for m in interchange.messages] == ["CONTRL"]
    return parse_contrl(interchange.messages[0], interchange)


def readings(engine: Engine, message_id: int) -> list[MeterReading]:
    with Session(engine) as session:
        query = select(MeterReading).where(MeterReading.message_id == message_id)
        return list(session.exec(query.order_by(col(MeterReading.at), col(MeterReading.obis))).all())


def profiles(engine: Engine, message_id: int) -> list[LoadProfile]:
    with Session(engine) as session:
        query = select(LoadProfile).where(LoadProfile.message_id == message_id)
        return list(session.exec(query.order_by(col(LoadProfile.start))).all())


def values_of(engine: Engine, tenant_id: str) -> int:
    """Every value stored for the tenant: meter_reading rows and the values of load_profile series."""
    with Session(engine) as session:
        rows = session.exec(
            select(func.count()).select_from(MeterReading).where(MeterReading.tenant_id == tenant_id)
        ).one()
        series = session.exec(select(LoadProfile).where(LoadProfile.tenant_id == tenant_id)).all()
        return rows + sum(len(s.values) for s in series)


async def received_ok(engine: Engine, client: Client, settings: Settings, world: World, raw: bytes) -> int:
    received = await deliver(engine, client, settings.task_queue, world.tenant, raw)
    assert received.state == MessageState.RECEIVED and received.error is None, received
    return received.message_id


# ---------------------------------------------------------------- MSCONS: readings stored, APERAK, duplicates


async def test_meter_reading_is_stored_and_acknowledged(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    _, melo, meter = supplied_location(engine, world)
    msb = partner_id("99")
    raw = mscons(msb, world.tenant.market_partner_id, "13017", [meter_readings(melo, meter)])
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.PROCESSED

    stored = readings(engine, message_id)
    assert [(r.obis, r.value, r.quality, r.statuses) for r in stored] == [
        ("1-1:1.8.1", Decimal("4711.200"), "220", "Z33:Z83"),
        ("1-1:1.8.2", Decimal("1022.855"), "220", "Z33:Z83"),
    ]
    assert all(isinstance(r.value, Decimal) for r in stored)
    assert {(r.tenant_id, r.location_id, r.meter_number, r.at, r.pruefidentifikator) for r in stored} == {
        (world.tenant.id, melo, meter, READ_AT, "13017")
    }

    row = message_row(engine, message_id)
    interchange = parse_interchange(raw)
    assert row.state == MessageState.PROCESSED and row.error is None and row.processed_at is not None
    assert (row.message_type, row.pruefidentifikator, row.sender) == ("MSCONS", "13017", msb)
    assert row.interchange_ref == interchange.reference and row.message_count == 1

    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert aperak.category == "312" and aperak.positive and not aperak.errors
    assert aperak.referenced_interchange == interchange.reference
    assert aperak.sender == world.tenant.market_partner_id and aperak.receiver == msb
    assert aperak.references["AGO"] == row.document_number


async def test_load_profile_is_stored_as_one_series_and_a_repeat_stores_nothing(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    malo, _, _ = supplied_location(engine, world)
    msb = partner_id("99")
    raw = mscons(msb, world.tenant.market_partner_id, "13025", [load_profile(malo)])
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.PROCESSED

        repeat = await deliver(engine, client, settings.task_queue, world.tenant, raw)
        assert repeat.state == MessageState.DUPLICATE and repeat.duplicate_of == message_id
        # Even a processing started for the duplicate (say, by hand) must not store or answer anything.
        await start_processing(client, settings.task_queue, world.tenant.id, repeat.message_id)
        assert (await settled(client, world.tenant.id, repeat.message_id)).state == MessageState.DUPLICATE

    start = day_start(PROFILE_DAY, "strom")
    [series] = profiles(engine, message_id)
    assert (series.tenant_id, series.location_id, series.obis, series.unit, series.pruefidentifikator) == (
        world.tenant.id,
        malo,
        "1-1:1.29.0",
        "KWH",
        "13025",
    )
    assert (series.start, series.end, series.interval_minutes) == (start, start + timedelta(days=1), 15)
    assert series.values == [Decimal(f"{i}.125") for i in range(96)]
    assert all(isinstance(v, Decimal) for v in series.values) and series.qualities == ["220"] * 96
    assert readings(engine, message_id) == [] and values_of(engine, world.tenant.id) == 96
    row = message_row(engine, message_id)
    assert (row.state, row.pruefidentifikator, row.malo_id) == (MessageState.PROCESSED, "13025", malo)
    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert aperak.category == "312" and aperak.referenced_interchange == row.interchange_ref
    assert aperak.references["AGO"] == row.document_number and aperak.receiver == msb

    duplicate = message_row(engine, repeat.message_id)
    assert duplicate.state == MessageState.DUPLICATE and duplicate.processed_at is None
    assert readings(engine, repeat.message_id) == [] and profiles(engine, repeat.message_id) == []
    assert replies(engine, repeat.message_id) == [] and len(replies(engine, message_id)) == 1


async def test_irregular_load_profile_stores_every_quarter_hour(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    malo, _, _ = supplied_location(engine, world)
    raw = mscons(partner_id("99"), world.tenant.market_partner_id, "13025", [load_profile(malo, substitute=True)])
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.PROCESSED

    stored = readings(engine, message_id)
    start = day_start(PROFILE_DAY, "strom")
    assert len(stored) == 96 and profiles(engine, message_id) == [] and values_of(engine, world.tenant.id) == 96
    assert [r.at for r in stored] == [start + (i + 1) * QUARTER for i in range(96)]
    assert [r.period_start for r in stored] == [start + i * QUARTER for i in range(96)]
    assert [r.value for r in stored] == [Decimal(f"{i}.125") for i in range(96)]
    assert [(r.quality, r.statuses) for r in stored if r.quality != "220"] == [("67", "Z32:Z88,Z40:Z74")]
    assert stored[SUBSTITUTE].quality == "67"
    assert {(r.location_id, r.obis, r.unit, r.pruefidentifikator, r.message_id) for r in stored} == {
        (malo, "1-1:1.29.0", "KWH", "13025", message_id)
    }
    assert len(aperaks(only_reply(engine, settings, message_id, "APERAK"))) == 1


# ---------------------------------------------------------------- a process waiting for readings


class WaitInput(BaseModel):
    location_id: str


@workflow.defn(sandboxed=False)
class WaitForReadings:
    """Stands for a process (e.g. Messdateninkasso) that waits for the readings of one location."""

    def __init__(self) -> None:
        self.arrived: list[ReadingsArrived] = []

    @workflow.signal
    def meter_readings(self, readings: ReadingsArrived) -> None:
        self.arrived.append(readings)

    @workflow.run
    async def run(self, wait: WaitInput) -> ReadingsArrived:
        await workflow.wait_condition(lambda: bool(self.arrived), timeout=timedelta(minutes=5))
        return self.arrived[0]


@pytest.mark.parametrize(
    "substitute",
    [
        pytest.param(False, id="series"),
        pytest.param(True, id="rows"),
    ],
)
async def test_a_process_waiting_for_readings_is_told(
    engine: Engine, client: Client, settings: Settings, world: World, substitute: bool
) -> None:
    """The span covers the values' periods, [first period start, last period end), whichever way they are stored."""
    malo, _, _ = supplied_location(engine, world)
    workflow_id = f"reading-wait/{world.tenant.id}/{malo}/{uuid.uuid4().hex[:6]}"
    with Session(engine) as session:
        session.add(ReadingWait(tenant_id=world.tenant.id, location_id=malo, workflow_id=workflow_id))
        session.commit()
    raw = mscons(partner_id("99"), world.tenant.market_partner_id, "13025", [load_profile(malo, substitute=substitute)])
    both = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[*worker.WORKFLOWS, WaitForReadings],
        activities=worker.activities(engine, settings),
        activity_executor=ThreadPoolExecutor(worker.MAX_CONCURRENT_ACTIVITIES),
        max_concurrent_activities=worker.MAX_CONCURRENT_ACTIVITIES,
    )
    async with both:
        handle = await client.start_workflow(
            WaitForReadings.run, WaitInput(location_id=malo), id=workflow_id, task_queue=settings.task_queue
        )
        message_id = await received_ok(engine, client, settings, world, raw)
        arrived = await asyncio.wait_for(handle.result(), timeout=30)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.PROCESSED

    start = day_start(PROFILE_DAY, "strom")
    assert isinstance(arrived, ReadingsArrived)
    assert (arrived.message_id, arrived.location_id, arrived.pruefidentifikator) == (message_id, malo, "13025")
    assert arrived.count == 96 and values_of(engine, world.tenant.id) == 96
    assert (arrived.first_at, arrived.last_at) == (start, start + timedelta(days=1))


# ---------------------------------------------------------------- content errors: negative APERAK


@pytest.mark.parametrize("kind", ["meter-readings", "load-profile"])
async def test_readings_for_a_location_we_do_not_supply_are_refused(
    engine: Engine, client: Client, settings: Settings, world: World, kind: str
) -> None:
    malo, melo, meter = supplied_location(engine, world)
    msb = partner_id("99")
    if kind == "meter-readings":  # one location of ours, one not: the whole message is refused
        stranger, known = melo_id(), melo
        raw = mscons(
            msb,
            world.tenant.market_partner_id,
            "13017",
            [meter_readings(melo, meter), meter_readings(stranger, "1ESYFREMD")],
        )
    else:
        stranger, known = malo_id(), malo
        raw = mscons(msb, world.tenant.market_partner_id, "13025", [load_profile(stranger)])
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.REJECTED

    row = message_row(engine, message_id)
    assert row.state == MessageState.REJECTED and stranger in (row.error or "") and "Z10" in (row.error or "")
    assert known not in (row.error or "")
    assert readings(engine, message_id) == [] and profiles(engine, message_id) == []
    assert values_of(engine, world.tenant.id) == 0
    assert open_task(engine, inbound_workflow_id(world.tenant.id, message_id)) is None
    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert aperak.category == "313" and aperak.receiver == msb
    assert aperak.referenced_interchange == parse_interchange(raw).reference
    [error] = aperak.errors
    assert error.code == "Z10" and stranger in (error.text or "")
    assert error.references["AGO"] == row.document_number
    assert error.references["ACW"] == parse_interchange(raw).messages[0].reference


async def test_each_message_of_an_interchange_gets_its_own_aperak(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    """Strom: one APERAK per message, 312 for the accepted one and 313 for the refused one, in one interchange."""
    _, melo, meter = supplied_location(engine, world)
    msb, stranger = partner_id("99"), melo_id()

    def message(location: MsconsLocation) -> MsconsMessage:
        return MsconsMessage(
            association="2.4c",
            pruefidentifikator="13017",
            message_reference=reference(),
            category="7",
            document_number=f"MS{reference()}",
            document_date=now(),
            sender=msb,
            receiver=world.tenant.market_partner_id,
            locations=[location],
        )

    accepted, refused = message(meter_readings(melo, meter)), message(meter_readings(stranger, "1ESYFREMD"))
    raw = serialize_interchange(
        mscons_interchange(
            [accepted, refused],
            sender=strom(msb),
            receiver=strom(world.tenant.market_partner_id),
            reference=reference(),
            prepared_at=now(),
        )
    )
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        await settled(client, world.tenant.id, message_id)

    assert [r.location_id for r in readings(engine, message_id)] == [melo, melo]
    row = message_row(engine, message_id)
    assert row.message_count == 2 and refused.message_reference in (row.error or "")
    assert accepted.message_reference not in (row.error or "")
    answers = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert [(a.category, a.references.get("AGO")) for a in answers if a.positive] == [("312", accepted.document_number)]
    [negative] = [a for a in answers if not a.positive]
    assert [(e.code, e.references["ACW"], e.references["AGO"]) for e in negative.errors] == [
        ("Z10", refused.message_reference, refused.document_number)
    ]
    assert {a.referenced_interchange for a in answers} == {row.interchange_ref}


async def test_utilmd_a_supplier_does_not_process_is_refused_with_z31(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    raw = utilmd(world, "55001")
    transaction = parse_interchange(raw).messages[0]
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.REJECTED

    row = message_row(engine, message_id)
    assert row.state == MessageState.REJECTED and row.pruefidentifikator == "55001" and "Z31" in (row.error or "")
    assert open_task(engine, inbound_workflow_id(world.tenant.id, message_id)) is None
    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert aperak.category == "313" and aperak.receiver == world.grid_operator.id
    [error] = aperak.errors
    assert error.code == "Z31" and "55001" in (error.text or "")
    assert error.references["ACW"] == transaction.reference and error.references["TN"] == row.transaction_id


async def test_answer_to_no_request_of_ours_is_refused_with_z33_and_cleared(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    stray = uuid.uuid4().hex.upper()
    raw = utilmd(world, "55002", reference_transaction=stray, answer_code="A51", answer_code_list="E_0623")
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        task = await clearing_task(engine, world.tenant.id, message_id)
        await eventually(lambda: message_row(engine, message_id).state == MessageState.CLEARING, what="clearing")

    assert task.queue == "market-communication" and task.tenant_id == world.tenant.id
    assert stray in task.description and task.data["message_id"] == message_id
    row = message_row(engine, message_id)
    assert row.reference_transaction == stray and row.workflow_id is None and row.in_reply_to_id is None
    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert aperak.category == "313"
    [error] = aperak.errors
    assert error.code == "Z33" and stray in (error.text or "")


# ---------------------------------------------------------------- syntax errors: CONTRL


def _truncated(raw: str) -> str:
    return raw[: raw.index("UNS+D'")]


def _wrong_unt_count(raw: str) -> str:
    return re.sub(r"UNT\+([0-9]+)\+", lambda m: f"UNT+{int(m.group(1)) - 1}+", raw)


def _bad_release(raw: str) -> str:
    return raw.replace("RFF+MG:1ESYRELEASE'", "RFF+MG:1ESY?RELEASE'")


@pytest.mark.parametrize(
    ("damage", "code", "segment"),
    [(_truncated, "13", "UNT"), (_wrong_unt_count, "29", "UNT"), (_bad_release, "22", "RFF")],
    ids=["truncated", "wrong-unt-count", "bad-release-character"],
)
async def test_syntax_error_is_answered_with_contrl(
    engine: Engine, client: Client, settings: Settings, world: World, damage: Any, code: str, segment: str
) -> None:
    _, melo, _ = supplied_location(engine, world)
    msb = partner_id("99")
    good = mscons(msb, world.tenant.market_partner_id, "13017", [meter_readings(melo, "1ESYRELEASE")])
    raw = damage(good.decode()).encode()
    assert raw != good
    async with build_worker(client, engine, settings):
        received = await deliver(engine, client, settings.task_queue, world.tenant, raw)
        assert received.state == MessageState.REJECTED and received.error, received
        assert (await settled(client, world.tenant.id, received.message_id)).state == MessageState.REJECTED

    row = message_row(engine, received.message_id)
    assert row.raw == raw and row.state == MessageState.REJECTED and row.error == received.error
    assert f"{segment} at segment " in received.error
    assert row.sender == msb and row.interchange_ref == parse_interchange(good).reference
    assert readings(engine, received.message_id) == []
    assert open_task(engine, inbound_workflow_id(world.tenant.id, received.message_id)) is None
    interchange = only_reply(engine, settings, received.message_id, "CONTRL")
    assert interchange.sender == strom(world.tenant.market_partner_id) and interchange.receiver == strom(msb)
    report = contrl(interchange)
    assert report.rejected and report.action == "4"
    assert report.interchange_reference == row.interchange_ref
    assert report.interchange_sender == strom(msb)
    assert report.error_code == code


def big_interchange(sender: str, receiver: str, malo: str, reference: str, size: int) -> str:
    """13025 profiles of one day each, one message per day, until ``size`` bytes (written directly: it is large)."""
    lines = [f"UNA:+.? '\nUNB+UNOC:3+{sender}:500+{receiver}:500+251007:0600+{reference}'\n"]
    length, day = len(lines[0]), 0
    while length < size:
        start = day_start(PROFILE_DAY, "strom") + timedelta(days=day)
        message = [
            f"UNH+{day + 1}+MSCONS:D:04B:UN:2.4c'",
            f"BGM+Z48+BIG{day + 1}+9'",
            "DTM+137:202510070600?+00:303'",
            "RFF+Z13:13025'",
            f"NAD+MS+{sender}::293'",
            f"NAD+MR+{receiver}::293'",
            "UNS+D'",
            "NAD+DP'",
            f"LOC+172+{malo}'",
            "LIN+1'",
            "PIA+5+1-1?:1.29.0:SRW'",
        ]
        for i in range(96):
            begin, end = start + i * QUARTER, start + (i + 1) * QUARTER
            message += [f"QTY+220:{i}.5'", f"DTM+163:{begin:%Y%m%d%H%M}?+00:303'", f"DTM+164:{end:%Y%m%d%H%M}?+00:303'"]
        message.append(f"UNT+{len(message) + 1}+{day + 1}'")
        text = "\n".join(message) + "\n"
        lines.append(text)
        length += len(text)
        day += 1
    lines.append(f"UNZ+{day}+{reference}'\n")
    return "".join(lines)


async def test_syntax_error_at_the_end_of_a_large_interchange_undoes_everything(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    """Over 5 MB the check runs while processing: what was stored before the error must not stay stored.

    The interchange holds more profiles than one storage batch, so some are written before the error shows.
    """
    malo, _, _ = supplied_location(engine, world)
    msb, ref = partner_id("99"), reference()
    good = big_interchange(msb, world.tenant.market_partner_id, malo, ref, 5_200_000)
    raw = good[: good.rindex("UNZ+")].encode()  # the UNZ is missing
    assert len(raw) > 5_000_000 and len(parse_interchange(good.encode()).messages) > READING_BATCH // 100
    async with build_worker(client, engine, settings):
        received = await deliver(engine, client, settings.task_queue, world.tenant, raw)
        assert received.state == MessageState.RECEIVED  # too large to be checked on receipt
        assert (await settled(client, world.tenant.id, received.message_id)).state == MessageState.REJECTED

    row = message_row(engine, received.message_id)
    assert row.state == MessageState.REJECTED and "UNZ at segment" in (row.error or "")
    assert values_of(engine, world.tenant.id) == 0 and profiles(engine, received.message_id) == []
    report = contrl(only_reply(engine, settings, received.message_id, "CONTRL"))
    assert report.rejected and report.interchange_reference == ref and report.interchange_sender == strom(msb)


async def test_binary_garbage_is_kept_and_cleared_without_contrl(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    garbage = bytes(range(256)) + uuid.uuid4().bytes
    async with build_worker(client, engine, settings):
        received = await deliver(engine, client, settings.task_queue, world.tenant, garbage)
        assert received.state == MessageState.REJECTED and received.error
        task = await clearing_task(engine, world.tenant.id, received.message_id)
        await eventually(
            lambda: message_row(engine, received.message_id).state == MessageState.CLEARING, what="clearing"
        )

    row = message_row(engine, received.message_id)
    assert row.raw == garbage and row.sender is None and row.interchange_ref is None
    assert "not an EDIFACT interchange" in (row.error or "") and "no CONTRL" in task.description
    assert replies(engine, received.message_id) == []
    assert not (settings.outbox_path / world.tenant.id).exists()


# ---------------------------------------------------------------- gas: CONTRL acknowledgement, no APERAK


async def test_gas_interchange_is_acknowledged_with_contrl(engine: Engine, client: Client, settings: Settings) -> None:
    case = await Case.begin(engine, client, settings, division="gas")
    world = case.world
    async with build_worker(client, engine, settings):
        cancellation = await case.sent("44016")
        raw = market.answer(cancellation, "44017", answer_code="E15", answer_code_list="G_0006", end=case.start)
        received = await case.deliver(raw)
        assert (await settled(client, world.tenant.id, received.message_id)).state == MessageState.PROCESSED

    original = parse_interchange(raw)
    assert original.sender.qualifier == "502"
    row = message_row(engine, received.message_id)
    assert row.state == MessageState.PROCESSED and row.workflow_id == case.wf and row.in_reply_to_id == cancellation.id
    interchange = only_reply(engine, settings, received.message_id, "CONTRL")
    gas_us, gas_them = Party(id=world.tenant.gas_market_partner_id or "", qualifier="502"), original.sender
    assert interchange.sender == gas_us and interchange.receiver == gas_them
    ack = contrl(interchange)
    assert ack.action == "7" and not ack.rejected and ack.interchange_reference == original.reference
    assert ack.interchange_sender == gas_them and ack.interchange_receiver == gas_us
    assert not ack.message_reports and ack.error_code is None


# ---------------------------------------------------------------- partners refusing what we sent


async def test_partner_aperak_on_our_interchange_goes_to_clearing(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        ours = await case.sent("55016")
        assert ours.interchange_ref
        request = market.request_of(ours)
        refusal = negative_aperak(
            request,
            [AperakError(code="Z10", text="MaLo-ID unbekannt")],
            interchange_reference=ours.interchange_ref,
            interchange_date=parse_interchange(ours.raw).prepared_at,
            at=now(),
            reference=reference(),
        )
        raw = serialize_interchange(aperak_interchange([refusal], reference=reference(), prepared_at=now()))
        received = await case.deliver(raw)
        task = await clearing_task(engine, case.world.tenant.id, received.message_id)

    assert ours.interchange_ref in task.description and "Z10" in task.description
    rejected = message_row(engine, ours.id or 0)
    assert (rejected.error or "").startswith("APERAK Z10") and "MaLo-ID unbekannt" in (rejected.error or "")
    inbound = message_row(engine, received.message_id)
    assert inbound.message_type == "APERAK" and inbound.in_reply_to_id == ours.id
    assert replies(engine, received.message_id) == []  # never an APERAK on an APERAK


async def test_partner_contrl_rejecting_our_interchange_goes_to_clearing(
    engine: Engine, client: Client, settings: Settings
) -> None:
    case = await Case.begin(engine, client, settings)
    async with build_worker(client, engine, settings):
        ours = await case.sent("55016")
        assert ours.interchange_ref and ours.sender and ours.receiver
        request = parse_interchange(ours.raw).messages[0]
        refusal = ContrlMessage(
            message_reference=reference(),
            sender=ours.receiver,
            receiver=ours.sender,
            interchange_reference=ours.interchange_ref,
            interchange_sender=strom(ours.sender),
            interchange_receiver=strom(ours.receiver),
            action="4",
            message_reports=[
                ContrlMessageReport(
                    message_reference=request.reference,
                    message_type="UTILMD",
                    version="D",
                    release="11A",
                    agency="UN",
                    association="S2.1",
                    action="4",
                    error="29",
                    error_segment="UNT",
                )
            ],
        )
        raw = serialize_interchange(contrl_interchange([refusal], reference=reference(), prepared_at=now()))
        received = await case.deliver(raw)
        task = await clearing_task(engine, case.world.tenant.id, received.message_id)

    assert ours.interchange_ref in task.description and "(29)" in task.description
    assert (message_row(engine, ours.id or 0).error or "").startswith("CONTRL: our interchange")
    assert message_row(engine, received.message_id).in_reply_to_id == ours.id
    assert replies(engine, received.message_id) == []  # never a CONTRL or APERAK on a CONTRL


# ---------------------------------------------------------------- invoices: stored, acknowledged, cleared


@pytest.mark.parametrize(
    ("fixture", "message_type", "pruefidentifikator", "document_number"),
    [("remadv/33001_zahlungsavis.edi", "REMADV", "33001", "AV-2025-000123")],
    ids=["remadv"],
)
async def test_remadv_is_acknowledged_and_waits_for_a_clerk(
    engine: Engine,
    client: Client,
    settings: Settings,
    world: World,
    fixture: str,
    message_type: str,
    pruefidentifikator: str,
    document_number: str,
) -> None:
    raw, interchange_ref = addressed(FIXTURES / fixture, world.grid_operator.id, world.tenant.market_partner_id)
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        task = await clearing_task(engine, world.tenant.id, message_id)
        await eventually(lambda: message_row(engine, message_id).state == MessageState.CLEARING, what="clearing")

    assert f"{message_type} {document_number}: no process handles it yet" in task.description
    row = message_row(engine, message_id)
    assert row.raw == raw and row.interchange_ref == interchange_ref
    assert (row.message_type, row.pruefidentifikator, row.document_number) == (
        message_type,
        pruefidentifikator,
        document_number,
    )
    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    assert aperak.category == "312" and aperak.receiver == world.grid_operator.id
    assert aperak.referenced_interchange == interchange_ref and aperak.references["AGO"] == document_number


async def test_unpublished_pruefidentifikator_is_refused_with_z39(
    engine: Engine, client: Client, settings: Settings, world: World
) -> None:
    raw = utilmd(world, "55999")
    async with build_worker(client, engine, settings):
        message_id = await received_ok(engine, client, settings, world, raw)
        assert (await settled(client, world.tenant.id, message_id)).state == MessageState.REJECTED

    row = message_row(engine, message_id)
    assert row.state == MessageState.REJECTED and "55999" in (row.error or "")
    [aperak] = aperaks(only_reply(engine, settings, message_id, "APERAK"))
    [error] = aperak.errors
    assert aperak.category == "313" and error.code == "Z39" and "55999" in (error.text or "")
