"""Benchmark: a large MSCONS load-profile file through the whole inbound pipeline into PostgreSQL.

Reports MB/s and peak memory of the pipeline (store raw, stream it back, parse, readings COPY, APERAK) next to
pydifact's bare parse of the same file, each measured in a process of its own. The pipeline receives the file
by path, as ``bpo inbox import`` does.

    .venv/bin/python -m bench.mscons_ingest --mb 50
"""

import argparse
import gc
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.profile_file import write_profile_file
from tests.factories import malo_id, partner_id

BYTES_PER_MALO_DAY = 7_650
"""Size of one MaLo's day of quarter hours in the generated file."""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_pydifact(path: Path) -> dict[str, Any]:
    from pydifact.segmentcollection import Interchange

    text = path.read_text(encoding="utf-8")
    baseline = peak_rss_mb()
    started = time.perf_counter()
    interchange = Interchange.from_str(text)
    segments = sum(1 for _ in interchange.segments)
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
        "segments": segments,
    }


def child_pipeline(path: Path, database_url: str, tenant_id: str, outbox: Path) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlmodel import Session

    from activities.inbox import InboxActivities
    from activities.market import DropFolderTransport
    from core.db import make_engine
    from models.process import InboundInput
    from models.tenancy import Tenant
    from services.inbox import receive_interchange

    engine = make_engine(database_url, pool_size=2)
    gc.freeze()  # as the worker does after start-up: long-lived objects leave the collector's generations
    baseline = peak_rss_mb()
    started = time.perf_counter()
    with Session(engine) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        received = receive_interchange(session, tenant, path)
    stored_at = time.perf_counter()
    result = InboxActivities(engine, DropFolderTransport(outbox)).process_inbound(
        InboundInput(tenant_id=tenant_id, message_id=received.message_id)
    )
    finished = time.perf_counter()
    with engine.connect() as conn:
        values = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM meter_reading WHERE message_id = :id)"
                " + (SELECT coalesce(sum(cardinality(values)), 0) FROM load_profile WHERE message_id = :id)"
            ),
            {"id": received.message_id},
        ).scalar_one()
    engine.dispose()
    return {
        "seconds": finished - started,
        "receive_seconds": stored_at - started,
        "process_seconds": finished - stored_at,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
        "values_stored": values,
        "state": result.state,
        "problems": result.problems[:3],
    }


def run_child(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.mscons_ingest", "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def prepare_database() -> tuple[str, str, str, str, list[str]]:
    """A fresh database with the schema, a tenant, its grid operator and the MaLos the file reports on."""
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlmodel import Session

    from core import migrate
    from core.db import database_url, make_engine
    from models.contracts import MarketLocation
    from models.parties import MarketPartner
    from models.tenancy import Tenant

    server = make_url(database_url())
    name = f"bpo_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        server.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    tenant_id, supplier, metering = "bench", partner_id(), partner_id()
    malos = [malo_id() for _ in range(100)]
    engine = make_engine(url, pool_size=1)
    with Session(engine) as session:
        session.add(Tenant(id=tenant_id, name="Bench Stadtwerke", market_partner_id=supplier))
        session.add(MarketPartner(id=metering, name="Bench MSB", role="metering_operator"))
        session.flush()
        session.add_all(
            MarketLocation(tenant_id=tenant_id, malo_id=m, division="strom", grid_operator_id=metering) for m in malos
        )
        session.commit()
    engine.dispose()
    return url, tenant_id, supplier, metering, malos


def drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    bench = make_url(url).set(drivername="postgresql")
    server = bench.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench.database}" WITH (FORCE)')


def measure(size_mb: float, work: Path, database: tuple[str, str, str, str, list[str]], bare: bool) -> list[Any]:
    """Write a file of about ``size_mb`` MB and run the pipeline and (unless ``bare`` is False) pydifact on it."""
    url, tenant_id, supplier, metering, malos = database
    days = max(1, math.ceil(size_mb * 1_000_000 / BYTES_PER_MALO_DAY / len(malos)))
    path = work / f"profile-{size_mb:.0f}mb.edi"
    start = date(2026, 1, 1)
    values = write_profile_file(
        path, sender=metering, receiver=supplier, malos=malos, days=[start + timedelta(days=i) for i in range(days)]
    )
    megabytes = path.stat().st_size / 1_000_000
    print(f"file {path.name}: {megabytes:.1f} MB, {values} values", flush=True)
    pipeline = run_child("pipeline", str(path), url, tenant_id, str(work / "outbox"))
    print(f"  pipeline: {pipeline}", flush=True)
    assert pipeline["values_stored"] == values, "the pipeline did not store every value"
    pydifact = run_child("pydifact", str(path)) if bare else None
    if pydifact:
        print(f"  pydifact: {pydifact}", flush=True)
    path.unlink()
    return [megabytes, values, pipeline, pydifact]


def print_table(results: list[list[Any]]) -> None:
    print(
        "\n| file | values | pipeline MB/s | receive + process | pipeline peak RSS "
        "| pydifact MB/s | pydifact peak RSS | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for megabytes, values, pipeline, bare in results:
        speed = megabytes / pipeline["seconds"]
        cells = [
            f"{megabytes:.1f} MB",
            str(values),
            f"{speed:.2f}",
            f"{pipeline['receive_seconds']:.2f} s + {pipeline['process_seconds']:.2f} s",
            f"{pipeline['peak_mb']:.0f} MB (base {pipeline['baseline_mb']:.0f})",
        ]
        if bare:
            bare_speed = megabytes / bare["seconds"]
            cells += [f"{bare_speed:.2f}", f"{bare['peak_mb']:.0f} MB", f"{speed / bare_speed:.1f}x"]
        else:
            cells += ["-", "-", "-"]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50, help="size of the large file in MB (default 50)")
    parser.add_argument("--skip-pydifact", action="store_true", help="leave out pydifact's bare parse")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = (
            child_pydifact(Path(rest[0]))
            if kind == "pydifact"
            else child_pipeline(Path(rest[0]), rest[1], rest[2], Path(rest[3]))
        )
        print(json.dumps(result))
        return

    database = prepare_database()
    work = Path(tempfile.mkdtemp(prefix="bpo-bench-"))
    try:
        results = [measure(size_mb, work, database, not args.skip_pydifact) for size_mb in (args.mb / 5, args.mb)]
    finally:
        drop_database(database[0])
        shutil.rmtree(work)
    print_table(results)


if __name__ == "__main__":
    main()
