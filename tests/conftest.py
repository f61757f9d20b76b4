"""Real servers for the tests: an embedded PostgreSQL (or DATABASE_URL) and Temporal (dev and time-skipping)."""

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core import migrate
from core.db import make_engine
from core.embedded import embedded_postgres_url, stop_embedded_postgres, temporal_binary
from core.settings import Settings
from workflows import search

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "domain" / "edifact-samples"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database with the schema built by ``alembic upgrade head``; dropped afterwards."""
    embedded_dir: Path | None = None
    server_url = os.environ.get("DATABASE_URL") or ""
    if not server_url:
        embedded_dir = tmp_path_factory.mktemp("pg")
        server_url = embedded_postgres_url(embedded_dir)
    if server_url.startswith("postgresql://"):
        server_url = "postgresql+psycopg://" + server_url.split("://", 1)[1]
    name = f"bpo_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if embedded_dir is not None:
        stop_embedded_postgres(embedded_dir)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=20)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        BPO_VAR_DIR=tmp_path,
        BPO_OUTBOX_DIR=tmp_path / "outbox",
        BPO_TASK_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (full fidelity, search attributes registered)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search.ALL,
        data_converter=pydantic_data_converter,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of its own (time is global per environment)."""
    path = shutil.which("temporal-test-server") or str(Path(temporal_binary()).parent / "temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in search.ALL},
        )
    )
    yield env
    await env.shutdown()


def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared EDIFACT samples not found at {SAMPLES}")
    return SAMPLES
