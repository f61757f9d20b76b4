"""Benchmark: the price adjustment run's work per customer (a new budget plan and the notice as PDF).

Creates a tenant with ``--contracts`` customers on one tariff, announces new prices and runs the chunk step the
workflow runs (``ProductActivities.notify_chunk``), in chunks of 200, once with the letters and once more to show
that a repeated run does nothing again. Reports customers per second, the share of the PDF, and the time
100,000 customers would take on one worker process.

    .venv/bin/python -m bench.price_adjustment --contracts 1000
"""

import argparse
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import Engine
from sqlmodel import Session

import models.tables  # noqa: F401  (registers every table)
from activities.documents import DocumentActivities
from activities.products import ProductActivities
from bench.harness import create_database, drop_database, peak_rss_mb, timed
from core.db import make_engine
from models.base import utcnow
from models.contracts import ContractState, PriceAdjustment
from models.orders import ContractOrder
from rules.calendar import BERLIN
from rules.price_changes import earliest_change
from services import price_changes, products
from services.intake import intake
from tests.factories import World

CHUNK = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=1000, help="customers on the tariff (default 1,000)")
    args = parser.parse_args()
    url = create_database("bpo_bench_prices")
    engine = make_engine(url, pool_size=4)
    try:
        with Session(engine, expire_on_commit=False) as session:
            world = World(session)
            started = time.perf_counter()
            for _ in range(args.contracts):
                order = ContractOrder.model_validate(world.order(date(2025, 1, 1)))
                contract, _ = intake(session, world.tenant, order, date(2024, 11, 1))
                contract.state, contract.supply_start = ContractState.ACTIVE, date(2025, 1, 1)
                session.add(contract)
            session.commit()
            setup = time.perf_counter() - started
            today = utcnow().astimezone(BERLIN).date()
            adjustment = price_changes.announce(
                session,
                world.tenant.id,
                "STROM-BASIS",
                earliest_change(today, False) + timedelta(days=7),
                Decimal("0.3500"),
                Decimal("130.00"),
                reason="Benchmark",
                announced_by="bench",
                today=today,
            )
            session.commit()
            assert adjustment.id is not None
        with TemporaryDirectory() as outbox:
            letters = DocumentActivities(engine, Path(outbox))
            work = ProductActivities(engine, letters)
            spent: dict[str, float] = {}
            timed(letters, "tariff_letter", spent)
            timed(products, "replan", spent)
            baseline = peak_rss_mb()
            started = time.perf_counter()
            done = _run(engine, work, adjustment.id)
            seconds = time.perf_counter() - started
            again_started = time.perf_counter()
            repeated = _run(engine, work, adjustment.id, limit=CHUNK)
            again = time.perf_counter() - again_started
        rate = done / seconds
        print(f"customers: {done} (set-up by intake {setup:.1f} s, not measured)")
        print(
            f"run: {seconds:.1f} s = {rate:.1f} customers/s; budget plans {spent.get('replan', 0):.1f} s, "
            f"letters (PDF) {spent.get('tariff_letter', 0):.1f} s ({spent.get('tariff_letter', 0) / seconds:.0%})"
        )
        print(f"100,000 customers on one worker process: {100_000 / rate / 3600:.1f} h")
        print(f"the first chunk again: {repeated} customers in {again:.1f} s (plans and letters found, not redone)")
        print(f"peak RSS {peak_rss_mb():.0f} MB (before the run {baseline:.0f} MB)")
    finally:
        engine.dispose()
        drop_database(url)


def _run(engine: Engine, work: ProductActivities, adjustment_id: int, limit: int | None = None) -> int:
    """The chunk step of the run (without the worker's heartbeats): every customer after the last one done."""
    done, after = 0, 0
    with Session(engine) as session:
        adjustment = session.get(PriceAdjustment, adjustment_id)
        assert adjustment is not None
        while limit is None or done < limit:
            ids = price_changes.affected(session, adjustment, after, CHUNK)
            for contract_id in ids:
                work.notify(session, adjustment, contract_id)
            done, after = done + len(ids), ids[-1] if ids else after
            if len(ids) < CHUNK:
                break
    return done


if __name__ == "__main__":
    main()
