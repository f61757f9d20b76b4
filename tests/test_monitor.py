"""The market-communication monitor on the real servers: GET /v1/market-messages and ``bpo inbox monitor``.

One tenant gets a supply start (55016 answered, 55001 waiting) and inbound messages that end processed,
duplicate, rejected (answered with APERAK) and in clearing; then the answer deadline of the 55001 is moved
into the past in the database, as if time had passed.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col
from temporalio.client import Client
from typer.testing import CliRunner

from api.app import create_app
from api.auth import issue_key
from cli.main import app
from core.db import get_engine
from core.settings import Settings, get_settings
from models.messages import MarketMessage
from models.tenancy import Role
from rules.calendar import day_start
from services.inbox import inbound_workflow_id
from services.monitor import MonitorState
from tests import market
from tests.cases import Case, message_row
from tests.factories import World, partner_id
from tests.flow import eventually, open_task, today
from tests.test_inbound_pipeline import FIXTURES, addressed, melo_id, meter_readings, mscons, replies, settled
from worker import build_worker

runner = CliRunner()


@dataclass
class Scenario:
    """The messages of one tenant by what the monitor must call them."""

    world: World
    kuendigung: int
    """55016 to the previous supplier, answered by the 55017 (sent)."""
    anmeldung: int
    """55001 to the grid operator, not answered: awaiting, then overdue."""
    confirmation: int
    """55017 routed to the process (processed)."""
    repeat: int
    """the same 55017 again (duplicate)."""
    readings: int
    """MSCONS for a location the tenant does not supply (rejected: answered with APERAK Z10)."""
    invoice: int
    """A REMADV, which no process handles (clearing)."""
    msb: str
    replies: dict[int, int]
    """our APERAK per inbound message."""

    @property
    def all(self) -> set[int]:
        fixed = {self.kuendigung, self.anmeldung, self.confirmation, self.repeat, self.readings, self.invoice}
        return fixed | set(self.replies.values())


async def build_scenario(engine: Engine, client: Client, settings: Settings) -> Scenario:
    case = await Case.begin(engine, client, settings)
    world = case.world
    msb = partner_id("99")
    async with build_worker(client, engine, settings):
        kuendigung = await case.sent("55016")
        answer = market.answer(kuendigung, "55017", answer_code="A09", answer_code_list="E_0614", end=case.start)
        confirmation = await case.deliver(answer)
        await settled(client, world.tenant.id, confirmation.message_id)
        repeat = await case.deliver(answer)
        assert repeat.duplicate_of == confirmation.message_id
        anmeldung = await case.sent("55001")

        unknown = mscons(msb, world.tenant.market_partner_id, "13017", [meter_readings(melo_id(), "X1")])
        readings = await case.deliver(unknown)
        await settled(client, world.tenant.id, readings.message_id)

        invoic, _ = addressed(
            FIXTURES / "remadv" / "33001_zahlungsavis.edi", world.grid_operator.id, world.tenant.market_partner_id
        )
        invoice = await case.deliver(invoic)
        workflow_id = inbound_workflow_id(world.tenant.id, invoice.message_id)
        await eventually(lambda: open_task(engine, workflow_id, "inbound_message_clearing"), what="clearing task")
        await eventually(lambda: message_row(engine, invoice.message_id).state == "clearing", what="clearing")

    inbound = (confirmation.message_id, readings.message_id, invoice.message_id)
    answers = {message_id: replies(engine, message_id) for message_id in inbound}
    assert all(len(rows) == 1 and rows[0].message_type == "APERAK" for rows in answers.values()), answers
    assert kuendigung.id is not None and anmeldung.id is not None
    return Scenario(
        world=world,
        kuendigung=kuendigung.id,
        anmeldung=anmeldung.id,
        confirmation=confirmation.message_id,
        repeat=repeat.message_id,
        readings=readings.message_id,
        invoice=invoice.message_id,
        msb=msb,
        replies={message_id: rows[0].id or 0 for message_id, rows in answers.items()},
    )


def set_columns(engine: Engine, message_id: int, **values: Any) -> None:
    """Time passes: a deadline or a receipt moved in the database."""
    with Session(engine) as session:
        session.execute(update(MarketMessage).where(col(MarketMessage.id) == message_id).values(**values))
        session.commit()


@pytest.fixture
async def scenario(engine: Engine, client: Client, settings: Settings) -> Scenario:
    return await build_scenario(engine, client, settings)


class Api:
    def __init__(self, http: httpx.AsyncClient, engine: Engine) -> None:
        self.http = http
        self.engine = engine

    def key(self, tenant_id: str, role: Role = Role.CLIENT) -> dict[str, str]:
        with Session(self.engine) as session:
            return {"Authorization": f"Bearer {issue_key(session, tenant_id, role, label=f'monitor-{role}')}"}

    async def rows(self, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
        response = await self.http.get("/v1/market-messages", params=params, headers=headers)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows

    async def ids(self, headers: dict[str, str], **params: str) -> set[int]:
        return {row["id"] for row in await self.rows(headers, **params)}


@pytest.fixture
async def api(engine: Engine, client: Client, settings: Settings) -> AsyncIterator[Api]:
    application = create_app(settings, engine, client)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Api(http, engine)


# ---------------------------------------------------------------- the API


async def test_states_through_the_api(api: Api, scenario: Scenario, engine: Engine) -> None:
    s = scenario
    headers = api.key(s.world.tenant.id)
    rows = await api.rows(headers)
    assert {row["id"] for row in rows} == s.all
    created = [datetime.fromisoformat(row["created_at"]) for row in rows]
    assert created == sorted(created, reverse=True)
    kuendigung = message_row(engine, s.kuendigung)
    assert kuendigung.answer_due_at is not None and kuendigung.answered_at is not None

    async def by_state() -> dict[str, set[int]]:
        return {state.value: await api.ids(headers, state=state.value) for state in MonitorState}

    expected = {state.value: set[int]() for state in MonitorState}
    expected |= {
        "processed": {s.confirmation},
        "answered": {s.readings},
        "awaiting_answer": {s.anmeldung},
        "clearing": {s.invoice},
        "duplicate": {s.repeat},
        "sent": {s.kuendigung, *s.replies.values()},
    }
    assert await by_state() == expected
    waiting = next(row for row in rows if row["id"] == s.anmeldung)
    assert waiting["monitor_state"] == "awaiting_answer" and waiting["overdue"] is False
    assert waiting["partner"] == s.world.grid_operator.id and waiting["pruefidentifikator"] == "55001"
    assert datetime.fromisoformat(waiting["answer_due_at"]) > datetime.now(UTC)

    set_columns(engine, s.anmeldung, answer_due_at=datetime.now(UTC) - timedelta(minutes=1))
    expected |= {"awaiting_answer": set(), "answer_overdue": {s.anmeldung}}
    assert await by_state() == expected
    [overdue] = await api.rows(headers, state="answer_overdue")
    assert overdue["monitor_state"] == "answer_overdue" and overdue["overdue"] is True

    set_columns(engine, s.anmeldung, answered_at=datetime.now(UTC))
    expected |= {"answer_overdue": set(), "sent": {s.kuendigung, s.anmeldung, *s.replies.values()}}
    assert await by_state() == expected

    by_id = {row["id"]: row for row in rows}
    assert by_id[s.readings]["monitor_state"] == "answered" and "Z10" in (by_id[s.readings]["error"] or "")
    assert by_id[s.invoice]["monitor_state"] == "clearing" and by_id[s.invoice]["message_type"] == "REMADV"
    assert by_id[s.repeat]["monitor_state"] == "duplicate" and by_id[s.repeat]["state"] == "duplicate"


async def test_filters_narrow_the_list(api: Api, scenario: Scenario, engine: Engine) -> None:
    s = scenario
    world = s.world
    headers = api.key(world.tenant.id)
    reply = s.replies

    assert await api.ids(headers, partner=world.previous_supplier.id) == {
        s.kuendigung,
        s.confirmation,
        s.repeat,
        reply[s.confirmation],
    }
    assert await api.ids(headers, partner=world.grid_operator.id) == {s.anmeldung, s.invoice, reply[s.invoice]}
    assert await api.ids(headers, partner=s.msb) == {s.readings, reply[s.readings]}
    assert await api.ids(headers, partner=partner_id("99")) == set()

    # A duplicate is described as its original was found to be, so the filters find it too.
    assert await api.ids(headers, type="UTILMD") == {s.kuendigung, s.anmeldung, s.confirmation, s.repeat}
    assert await api.ids(headers, type="aperak") == set(reply.values())
    assert await api.ids(headers, type="MSCONS") == {s.readings}
    assert await api.ids(headers, type="INVOIC") == set()
    assert await api.ids(headers, pruefidentifikator="55016") == {s.kuendigung}
    assert await api.ids(headers, pruefidentifikator="33001") == {s.invoice}
    assert await api.ids(headers, pruefidentifikator="13017") == {s.readings}

    assert await api.ids(headers, state="sent", partner=world.previous_supplier.id) == {
        s.kuendigung,
        reply[s.confirmation],
    }
    assert await api.ids(headers, state="sent", type="UTILMD") == {s.kuendigung}
    assert await api.ids(headers, state="clearing", pruefidentifikator="55016") == set()

    # The invoice arrived ten days ago (noon in Berlin); everything else today.
    day = today()
    old = day - timedelta(days=10)
    set_columns(engine, s.invoice, created_at=day_start(old, "strom") + timedelta(hours=12))
    assert await api.ids(headers, **{"from": day.isoformat()}) == s.all - {s.invoice}
    assert await api.ids(headers, to=(day - timedelta(days=1)).isoformat()) == {s.invoice}
    assert await api.ids(headers, **{"from": old.isoformat(), "to": old.isoformat()}) == {s.invoice}
    assert await api.ids(headers, **{"from": (old + timedelta(days=1)).isoformat()}) == s.all - {s.invoice}
    assert await api.ids(headers, **{"from": day.isoformat(), "to": day.isoformat()}) == s.all - {s.invoice}
    assert await api.ids(headers, **{"from": (day + timedelta(days=1)).isoformat()}) == set()
    assert len(await api.rows(headers, limit="2")) == 2


@pytest.mark.parametrize(
    "params",
    [{"state": "lost"}, {"partner": "12345"}, {"type": "UTIL"}, {"pruefidentifikator": "5501"}, {"from": "gestern"}],
    ids=["state", "partner", "type", "pruefidentifikator", "from"],
)
async def test_bad_filters_are_refused(api: Api, world: World, params: dict[str, str]) -> None:
    response = await api.http.get("/v1/market-messages", params=params, headers=api.key(world.tenant.id))
    assert response.status_code == 422, response.text


async def test_another_tenant_sees_none_of_it(api: Api, scenario: Scenario, world: World) -> None:
    other = api.key(world.tenant.id)
    assert await api.rows(other) == []
    for state in MonitorState:
        assert await api.rows(other, state=state.value) == []
    assert await api.rows(other, partner=scenario.world.grid_operator.id) == []
    for message_id in scenario.all:
        assert (await api.http.get(f"/v1/market-messages/{message_id}", headers=other)).status_code == 404
    own = await api.http.get(f"/v1/market-messages/{scenario.invoice}", headers=api.key(scenario.world.tenant.id))
    assert own.status_code == 200 and own.json()["message_type"] == "REMADV"
    assert (await api.http.get("/v1/market-messages")).status_code == 401


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine, expire_on_commit=False) as session:
        return World(session)


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, client: Client, settings: Settings) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("BPO_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("BPO_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("COLUMNS", "220")  # one table row per line
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def monitor(*args: str) -> tuple[dict[str, int], dict[int, list[str]]]:
    """Run ``bpo inbox monitor``; the counts per state and the listed rows (id -> cells)."""
    result = runner.invoke(app, ["inbox", "monitor", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    table_lines = [line.replace("┃", "│") for line in result.output.splitlines() if "│" in line or "┃" in line]
    lines = [[cell.strip() for cell in line.split("│")[1:-1]] for line in table_lines]
    header = next(cells for cells in lines if "answer overdue" in cells)
    numbers = lines[lines.index(header) + 1]
    counts = dict(zip((name.replace(" ", "_") for name in header), map(int, numbers), strict=True))
    rows = {int(cells[0]): cells for cells in lines if cells and cells[0].isdigit() and cells[1] in ("in", "out")}
    return counts, rows


async def test_monitor_command_lists_overdue_answers(
    cli_env: None, scenario: Scenario, engine: Engine, world: World
) -> None:
    s = scenario
    tenant = s.world.tenant.id
    set_columns(engine, s.anmeldung, answer_due_at=datetime.now(UTC) - timedelta(hours=2))

    counts, rows = monitor("--tenant", tenant, "--state", "answer_overdue")
    assert counts == {
        "received": 0,
        "processed": 1,
        "answered": 1,
        "awaiting_answer": 0,
        "answer_overdue": 1,
        "clearing": 1,
        "duplicate": 1,
        "sent": 4,
    }
    assert list(rows) == [s.anmeldung]
    cells = rows[s.anmeldung]
    assert cells[1:3] == ["out", "answer_overdue"] and "55001" in cells and s.world.grid_operator.id in cells

    _, rows = monitor("--tenant", tenant, "--state", "clearing")
    assert list(rows) == [s.invoice] and rows[s.invoice][2:5] == ["clearing", "REMADV", "33001"]
    _, rows = monitor("--tenant", tenant, "--state", "answered", "--type", "MSCONS")
    assert list(rows) == [s.readings]
    _, rows = monitor("--tenant", tenant, "--state", "answer_overdue", "--partner", s.msb)
    assert rows == {}

    counts, rows = monitor("--tenant", world.tenant.id, "--state", "answer_overdue")
    assert rows == {} and set(counts.values()) == {0}

    bad = runner.invoke(app, ["inbox", "monitor", "--tenant", tenant, "--state", "lost"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


async def test_monitor_command_lists_every_state(cli_env: None, scenario: Scenario) -> None:
    s = scenario
    tenant = s.world.tenant.id
    _, rows = monitor("--tenant", tenant)
    assert set(rows) == s.all
    assert rows[s.readings][2] == "answered" and rows[s.invoice][2] == "clearing"
    assert rows[s.repeat][2] == "duplicate" and rows[s.confirmation][2] == "processed"
    assert rows[s.anmeldung][2] == "awaiting_answer" and rows[s.kuendigung][2] == "sent"
    _, rows = monitor("--tenant", tenant, "--state", "sent", "--partner", s.world.previous_supplier.id)
    assert set(rows) == {s.kuendigung, s.replies[s.confirmation]}
    _, rows = monitor("--tenant", tenant, "--type", "REMADV", "--pid", "33001")
    assert set(rows) == {s.invoice}
