"""Benchmark: a year's SLP billing run through the real run path, next to a bare SQL pass over the same rows.

Each step runs in a process of its own and reports wall time, its own CPU time, the CPU time of the PostgreSQL
backends serving the benchmark database, and peak RSS:

- setup: a tenant with the default chart of accounts (``services.chart.ensure_chart``), a Strom tariff whose
  price changes on 2025-07-01 (every bill is prorated over two price versions), and ``--contracts`` supplied
  SLP contracts from 2025-01-01 with customer, contract account, SEPA mandate, market location (valid MaLo-ID)
  and meter, two register readings each (2025-01-01 and one between 2025-12-20 and 2026-01-01, QTY 220), the
  budget plan made at supply start, its twelve instalment requests booked two weeks before they fall due (on
  the 15th), each paid on its due date and cleared, except November's and December's of every tenth
  contract (``--arrears-every``; the run opens dunning cases for those). Bulk COPY; the first contract's
  plan, requests and payments are made through the services
  (``ContractActivities.create_budget_plan``, ``services.instalments.request_due_instalments``,
  ``services.chart.book``, ``services.ledger.allocate``) and checked to be exactly what the COPY writes for
  the others. Timed, but not the measured figure.
- bare: one process reads the same inputs with plain SQL (contracts, readings, prices, instalments with what is
  paid of them) a page of ``--chunk-size`` at a time and writes the same rows (bills, posting documents and
  lines, clearings, run items, renewed budget plans and their instalments, the bill number range,
  ``contract.billed_until``) by COPY and one UPDATE per table and page, with integer arithmetic instead of
  ``rules.billing``: the I/O floor. All in one transaction that is rolled back (the ledger is append-only),
  then VACUUM ANALYZE, so that the real run starts from the same state.
- profile (``--profile``): one chunk of ``--chunk-size`` contracts through ``bill_contracts`` in batches of
  ``activities.billing.BATCH`` as ``bill_chunk`` does, rolled back; once with a timer on its parts, once under
  cProfile (top functions by cumulative time).
- real: the Temporal dev server (``temporal_binary``, as the tests start it), ``--workers`` worker processes
  (``worker.build_worker``, as ``bpo worker`` runs them) and ``BillingRunWorkflow`` with ``deliver=False``,
  ``--chunk-size`` and ``--parallel``; wall time from start to result, then the totals are checked (all billed,
  none held or failed, the bills' gross equals the ledger's bill documents, numbers gapless 1..N, every debtor's
  ledger balance equals its bill's balance).
- pdfs: ``--pdfs`` of the booked bills rendered and archived by ``services.bill_document.render_bill``.

    .venv/bin/python -m bench.billing --contracts 100000
"""

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import psycopg
from dateutil.relativedelta import relativedelta
from psycopg.rows import dict_row, namedtuple_row, tuple_row
from sqlalchemy import text
from sqlmodel import Session

import models.tables  # noqa: F401  (registers every table, so the ORM resolves foreign keys)
from bench.harness import batched, create_database, drop_database, execute, libpq, peak_rss_mb, timed
from core.db import make_engine
from rules.budget import first_instalment_due
from rules.calendar import BERLIN
from rules.ids import malo_check_digit, market_partner_check_digit
from services.billing import PAYMENT_TERM, REFUND_TERM
from services.instalments import LEAD

T = TypeVar("T")
Figures = dict[str, Any]

TENANT = "bench"
DIVISION = "strom"
RUN_DATE = date(2026, 1, 5)
SUPPLY_START = date(2025, 1, 1)
PRICES = (
    (date(2020, 1, 1), Decimal("0.3245"), Decimal("120.00")),
    (date(2025, 7, 1), Decimal("0.3390"), Decimal("138.00")),
)
"""(valid from, working price EUR/kWh, base price EUR/year): the change on 2025-07-01 splits every bill."""
ENERGY_TAX = Decimal("0.0205")
GRID_OPERATOR_BASE = "990000000001"
SUPPLIER_BASE = "990000000002"
SETUP_BATCH = 2_000
"""Contracts per COPY transaction in the setup."""
SAMPLE = 0
ARREARS_EVERY = 10
"""Every tenth contract has not paid November's and December's instalments (``--arrears-every``)."""
"""The contract whose ledger rows are booked through the services and compared with the bulk rows."""
FIRST_NAMES = ("Erika", "Max", "Anna", "Paul", "Lena", "Jonas", "Marie", "Felix", "Sophie", "Lukas")
LAST_NAMES = ("Mustermann", "Schmidt", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
CENT = Decimal("0.01")


# --- measuring -------------------------------------------------------------------------------------------------


def proc_cpu(pid: int, comm: str | None = None) -> float | None:
    """CPU seconds (user + system) of a process on this machine; None if there is none (with that name)."""
    proc = Path(f"/proc/{pid}")
    try:
        if comm is not None and proc.joinpath("comm").read_text().strip() != comm:
            return None
        fields = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(parent: int, comm: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.joinpath("comm").read_text().strip() != comm:
                continue
            if int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def peak_rss_of(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    total = sum(values[:8])
    return (total - values[3] - values[4]) / ticks, total / ticks


class Meter:
    """Wall time, CPU of this process, of the PostgreSQL backends of the database (when the server runs on this
    machine) and of the whole machine, and peak RSS, from its creation on."""

    def __init__(self, url: str) -> None:
        self.monitor = psycopg.connect(libpq(url), autocommit=True)
        self.backends = self._backends()
        self.machine = machine_busy()
        self.baseline_mb = peak_rss_mb()
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def _backends(self) -> dict[int, float]:
        """CPU seconds of every backend of this database except the monitor's own."""
        rows = self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {pid: cpu for (pid,) in rows if (cpu := proc_cpu(pid, "postgres")) is not None}

    def figures(self, **extra: Any) -> Figures:
        seconds, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        now = self._backends()
        busy, total = machine_busy()
        self.monitor.close()
        server = sum(max(0.0, value - self.backends.get(pid, 0.0)) for pid, value in now.items())
        return {
            "seconds": seconds,
            "client_cpu": cpu,
            "server_cpu": server if now or self.backends else None,
            "machine_busy": busy - self.machine[0],
            "machine_cores": (total - self.machine[1]) / seconds if seconds else 0.0,
            "peak_mb": peak_rss_mb(),
            "baseline_mb": self.baseline_mb,
            **extra,
        }


def cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def reserve(conn: psycopg.Connection[Any], table: str, count: int) -> int:
    """The first of ``count`` consecutive ids taken from the table's sequence."""
    if count == 0:
        return 0
    row = conn.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s)",
        (table, table, count - 1),
    ).fetchone()
    assert row is not None
    return int(row[0]) - count + 1


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: str, rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``columns`` (comma-separated) of ``table``; returns how many."""
    count = 0
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# --- the generated portfolio -----------------------------------------------------------------------------------


class Spec(NamedTuple):
    """One contract of the portfolio, derived from its index."""

    contract_number: str
    customer_number: str
    """Also the contract account number, as intake makes it, and so the debtor account number."""
    first_name: str
    last_name: str
    malo_id: str
    meter_number: str
    annual_kwh: int
    start_value: int
    end_day: date
    end_value: int
    unpaid: tuple[int, ...]
    """Months whose instalment is not paid: November's and December's of every ``ARREARS_EVERY``-th contract."""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def spec(i: int) -> Spec:
    base = str(5_100_000_000 + i)
    annual = 1_500 + i * 7_919 % 4_501
    end_day = date(2025, 12, 20) + timedelta(days=i % 13)
    days = (end_day - SUPPLY_START).days
    consumption = annual * days * (85 + i * 37 % 31) // (365 * 100)  # 85 % to 115 % of the forecast: plausible
    start_value = 1_000 + i * 104_729 % 90_000
    return Spec(
        contract_number=f"V{i + 1:08d}",
        customer_number=f"K{i + 1:08d}",
        first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
        last_name=LAST_NAMES[i // len(FIRST_NAMES) % len(LAST_NAMES)],
        malo_id=base + str(malo_check_digit(base)),
        meter_number=f"1ESY{11_000_000 + i}",
        annual_kwh=annual,
        start_value=start_value,
        end_day=end_day,
        end_value=start_value + consumption,
        unpaid=(11, 12) if ARREARS_EVERY and i % ARREARS_EVERY == 3 % ARREARS_EVERY else (),
    )


@cache
def budget_plan(annual_kwh: int) -> Any:
    """The plan ``ContractActivities.create_budget_plan`` makes at supply start (``rules.budget``)."""
    from rules import budget

    valid_from, working, base = PRICES[0]
    price = budget.PriceVersion(valid_from=valid_from, working_price=working, base_price_per_year=base)
    return budget.budget_plan(Decimal(annual_kwh), price, budget.first_instalment_due(SUPPLY_START), DIVISION)


def partner_id(base: str) -> str:
    return base + str(market_partner_check_digit(base))


def grid_operator_id() -> str:
    return partner_id(GRID_OPERATOR_BASE)


def berlin_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN)


class Doc(NamedTuple):
    key: str
    doc_type: str
    day: date
    lines: list[tuple[int, Decimal, Decimal, date | None]]
    """(account, debit, credit, due date) in booking order."""
    origin: str = ""
    text: str = ""
    instalment: tuple[int, int, date] | None = None
    """(budget instalment id, plan id, due date) of an instalment request."""


class Clear(NamedTuple):
    item: tuple[int, int]
    """(document index, line index) of the open item."""
    by: tuple[int, int]
    amount: Decimal
    on: date


def instalment_documents(
    s: Spec, debtor: int, gl: dict[str, int], plan_id: int, first_instalment: int
) -> tuple[list[Doc], list[Clear]]:
    """The year's instalment requests and payments of a contract and their clearings, as the services make them:
    ``services.instalments.request_due_instalments`` on the day the instalment falls due within ``LEAD`` (the
    daily billing run), a payment on the due date (``services.chart.book``) settling it (``services.ledger.
    allocate``)."""
    zero = Decimal("0.00")
    docs: list[Doc] = []
    clearings: list[Clear] = []
    for k, item in enumerate(budget_plan(s.annual_kwh).instalments):
        due, amount, instalment_id = item.due_date, item.amount, first_instalment + k
        docs.append(
            Doc(
                f"instalment:{instalment_id}",
                "instalment_request",
                due - LEAD,
                [(debtor, amount, zero, due), (gl["instalments"], zero, amount, None)],
                f"budget-instalment:{instalment_id}",
                f"Abschlag fällig am {due:%d.%m.%Y}",
                (instalment_id, plan_id, due),
            )
        )
        if due.month not in s.unpaid:
            docs.append(
                Doc(
                    f"payment:{s.contract_number}:{due}",
                    "payment",
                    due,
                    [(gl["bank"], amount, zero, None), (debtor, zero, amount, None)],
                )
            )
            clearings.append(Clear((len(docs) - 2, 0), (len(docs) - 1, 1), amount, due))
    return docs, clearings


def gl_accounts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT gl_role, id FROM ledger_account WHERE tenant_id = %s AND division = %s AND kind = 'gl'",
        (TENANT, DIVISION),
    ).fetchall()
    return {role: id_ for role, id_ in rows}


# --- setup -----------------------------------------------------------------------------------------------------


def master_data(session: Session) -> None:
    """Tenant, grid operator, tariff with two price versions and the chart of accounts, through the ORM."""
    from models.contracts import Tariff, TariffPrice
    from models.parties import MarketPartner, PartnerCommunication
    from models.tenancy import Tenant
    from services.chart import ensure_chart

    session.add(
        Tenant(
            id=TENANT,
            name="Stadtwerke Benchhausen GmbH",
            market_partner_id=partner_id(SUPPLIER_BASE),
            street="Am Markt 1",
            postcode="12345",
            city="Benchhausen",
            phone="0800 1234567",
            email="service@sw-benchhausen.de",
            commercial_register="Amtsgericht Benchhausen HRB 4711",
            vat_id="DE123456789",
        )
    )
    session.add(MarketPartner(id=grid_operator_id(), name="Netz Benchhausen GmbH", role="grid_operator"))
    session.flush()
    session.add(
        PartnerCommunication(
            partner_id=grid_operator_id(), valid_from=date(2020, 1, 1), channel="drop", address="outbox"
        )
    )
    session.flush()
    tariff = Tariff(tenant_id=TENANT, code="STROM-BASIS", name="Strom Basis", division=DIVISION)
    session.add(tariff)
    session.flush()
    assert tariff.id is not None
    for valid_from, working, base in PRICES:
        session.add(
            TariffPrice(tariff_id=tariff.id, valid_from=valid_from, working_price=working, base_price_per_year=base)
        )
    ensure_chart(session, TENANT, DIVISION)
    session.commit()


CUSTOMER_COLUMNS = (
    "id, tenant_id, customer_number, first_name, last_name, company, street, house_number, postcode, city,"
    " email, phone, created_at"
)
ACCOUNT_COLUMNS = "id, tenant_id, account_number, customer_id, created_at"
MANDATE_COLUMNS = "id, tenant_id, account_id, reference, iban, bic, account_holder, signed_on, state, created_at"
LOCATION_COLUMNS = (
    "id, tenant_id, malo_id, division, grid_operator_id, street, house_number, postcode, city, created_at"
)
METER_COLUMNS = "tenant_id, location_id, meter_number, melo_id, created_at"
CONTRACT_COLUMNS = (
    "id, tenant_id, contract_number, customer_id, account_id, location_id, tariff_id, mandate_id, division, state,"
    " transaction_reason, wished_start, supply_start, annual_consumption_kwh, cancel_previous, workflow_id,"
    " created_at, updated_at, billing_cycle_months, notice_period_days"
)
LEDGER_ACCOUNT_COLUMNS = "id, tenant_id, division, kind, number, name, created_at"
READING_COLUMNS = (
    "tenant_id, location_id, meter_number, obis, value, quality, unit, at, period_start, statuses,"
    " pruefidentifikator, message_id, source, entered_by, created_at"
)
PLAN_COLUMNS = (
    "id, tenant_id, contract_id, business_key, valid_from, annual_net, annual_vat, annual_gross, instalment,"
    " ended_on, created_at"
)
INSTALMENT_COLUMNS = "id, plan_id, due_date, amount, posting_document_id"
DOCUMENT_COLUMNS = (
    "id, tenant_id, division, doc_type, posting_date, value_date, period, idempotency_key, origin, text,"
    " reversal_of_id, quantity_kwh, created_at"
)
LINE_COLUMNS = "id, document_id, tenant_id, account_id, posting_date, debit, credit, due_date, control_account_id, text"
CLEARING_COLUMNS = "tenant_id, item_line_id, by_line_id, amount, cleared_on, created_at"
IBAN = "DE89370400440532013000"


def copy_contracts(conn: psycopg.Connection[Any], indexes: list[int], tariff: int, gl: dict[str, int]) -> Figures:
    """Master data, readings, budget plans and (except for the sample) the instalments' ledger by COPY."""
    now = datetime.now(UTC)
    specs = [spec(i) for i in indexes]
    n = len(specs)
    tables = ("customer", "contract_account", "sepa_mandate", "market_location", "contract")
    customers, accounts, mandates, locations, contracts = (range(reserve(conn, t, n), 1 << 62) for t in tables)
    rows = list(zip(indexes, specs, customers, accounts, mandates, locations, contracts, strict=False))
    grid = grid_operator_id()

    def address(i: int) -> tuple[str, str, str, str]:
        return "Lindenweg", str(i % 200 + 1), f"{10_000 + i % 89_999:05d}", "Benchhausen"

    copy_rows(
        conn,
        "customer",
        CUSTOMER_COLUMNS,
        (
            (cu, TENANT, s.customer_number, s.first_name, s.last_name, "", *address(i), "", "", now)
            for i, s, cu, *_ in rows
        ),
    )
    copy_rows(
        conn, "contract_account", ACCOUNT_COLUMNS, ((a, TENANT, s.customer_number, cu, now) for _, s, cu, a, *_ in rows)
    )
    reference = f"{TENANT[:8].upper()}-{{}}"
    copy_rows(
        conn,
        "sepa_mandate",
        MANDATE_COLUMNS,
        (
            (
                m,
                TENANT,
                a,
                reference.format(s.contract_number)[:35],
                IBAN,
                None,
                s.name,
                date(2024, 11, 1),
                "active",
                now,
            )
            for _, s, _, a, m, *_ in rows
        ),
    )
    copy_rows(
        conn,
        "market_location",
        LOCATION_COLUMNS,
        ((loc, TENANT, s.malo_id, DIVISION, grid, *address(i), now) for i, s, _, _, _, loc, _ in rows),
    )
    copy_rows(conn, "meter", METER_COLUMNS, ((TENANT, loc, s.meter_number, None, now) for _, s, *_, loc, _ in rows))
    copy_rows(
        conn,
        "contract",
        CONTRACT_COLUMNS,
        (
            (
                k,
                TENANT,
                s.contract_number,
                cu,
                a,
                loc,
                tariff,
                m,
                DIVISION,
                "active",
                "E03",
                SUPPLY_START,
                SUPPLY_START,
                Decimal(s.annual_kwh),
                False,
                f"supply-start/{TENANT}/{s.contract_number}",
                now,
                now,
                12,
                28,
            )
            for _, s, cu, a, m, loc, k in rows
        ),
    )
    readings = copy_rows(
        conn,
        "meter_reading",
        READING_COLUMNS,
        (
            (
                TENANT,
                s.malo_id,
                s.meter_number,
                "1-1:1.8.0",
                Decimal(value),
                "220",
                "KWH",
                berlin_midnight(day),
                None,
                "",
                "13002",
                None,
                "mscons",
                "",
                now,
            )
            for _, s, *_ in rows
            for day, value in ((SUPPLY_START, s.start_value), (s.end_day, s.end_value))
        ),
    )
    bulk = [(s, k) for i, s, *_, k in rows if i != SAMPLE]
    debtors, plans, instalments = (
        range(reserve(conn, table, count), 1 << 62)
        for table, count in (
            ("ledger_account", len(bulk)),
            ("budget_plan", len(bulk)),
            ("budget_instalment", 12 * len(bulk)),
        )
    )
    copy_rows(
        conn,
        "ledger_account",
        LEDGER_ACCOUNT_COLUMNS,
        (
            (d, TENANT, DIVISION, "debtor", s.customer_number, s.name, now)
            for (s, _), d in zip(bulk, debtors, strict=False)
        ),
    )
    copy_rows(
        conn,
        "budget_plan",
        PLAN_COLUMNS,
        (
            (
                p,
                TENANT,
                k,
                f"budget-plan:{k}:{SUPPLY_START}",
                SUPPLY_START,
                plan.annual.net,
                plan.annual.vat,
                plan.annual.gross,
                plan.instalment,
                None,
                now,
            )
            for (s, k), p in zip(bulk, plans, strict=False)
            if (plan := budget_plan(s.annual_kwh))
        ),
    )
    documents: list[Doc] = []
    clearings: list[Clear] = []
    for (s, _), debtor, plan_id, first in zip(bulk, debtors, plans, instalments[::12], strict=False):
        docs, clears = instalment_documents(s, debtor, gl, plan_id, first)
        base = len(documents)
        documents += docs
        clearings += [c._replace(item=(c.item[0] + base, c.item[1]), by=(c.by[0] + base, c.by[1])) for c in clears]
    lines = written_ledger(conn, documents, clearings, now)
    return {"readings": readings, "documents": len(documents), "lines": lines, "clearings": len(clearings)}


def written_ledger(conn: psycopg.Connection[Any], documents: list[Doc], clearings: list[Clear], now: datetime) -> int:
    """COPY documents, lines, clearings and the requested budget instalments with ids taken beforehand; returns
    the number of lines."""
    if not documents:
        return 0
    first_doc = reserve(conn, "posting_document", len(documents))
    line_count = sum(len(d.lines) for d in documents)
    next_line = reserve(conn, "posting_line", line_count)
    line_ids: list[list[int]] = []
    for doc in documents:
        line_ids.append(list(range(next_line, next_line + len(doc.lines))))
        next_line += len(doc.lines)
    copy_rows(
        conn,
        "posting_document",
        DOCUMENT_COLUMNS,
        (
            (
                first_doc + k,
                TENANT,
                DIVISION,
                d.doc_type,
                d.day,
                d.day,
                f"{d.day:%Y-%m}",
                d.key,
                d.origin,
                d.text,
                None,
                None,
                now,
            )
            for k, d in enumerate(documents)
        ),
    )
    copy_rows(
        conn,
        "posting_line",
        LINE_COLUMNS,
        (
            (line_ids[k][j], first_doc + k, TENANT, account, d.day, debit, credit, due, None, "")
            for k, d in enumerate(documents)
            for j, (account, debit, credit, due) in enumerate(d.lines)
        ),
    )
    copy_rows(
        conn,
        "clearing",
        CLEARING_COLUMNS,
        ((TENANT, line_ids[c.item[0]][c.item[1]], line_ids[c.by[0]][c.by[1]], c.amount, c.on, now) for c in clearings),
    )
    copy_rows(
        conn,
        "budget_instalment",
        INSTALMENT_COLUMNS,
        (
            (d.instalment[0], d.instalment[1], d.instalment[2], d.lines[0][1], first_doc + k)
            for k, d in enumerate(documents)
            if d.instalment
        ),
    )
    return line_count


def book_sample(url: str, contract_id: int) -> int:
    """The sample contract's budget plan, instalment requests and payments through the services, in the order
    the days bring them; returns its debtor account."""
    from activities.contracts import ContractActivities
    from models.process import ContractRef
    from services.chart import book
    from services.instalments import request_due_instalments
    from services.ledger import allocate

    s = spec(SAMPLE)
    engine = make_engine(url, pool_size=1)
    ContractActivities(engine).create_budget_plan(ContractRef(contract_id=contract_id))
    with Session(engine) as session:
        for item in budget_plan(s.annual_kwh).instalments:
            due = item.due_date
            assert request_due_instalments(session, TENANT, due - LEAD) == 1
            debtor = session.execute(
                text("SELECT id FROM ledger_account WHERE tenant_id = :t AND kind = 'debtor' AND number = :n"),
                {"t": TENANT, "n": s.customer_number},
            ).scalar_one()
            if due.month not in s.unpaid:
                payment = book(
                    session,
                    tenant_id=TENANT,
                    division=DIVISION,
                    doc_type="payment",
                    key=f"payment:{s.contract_number}:{due}",
                    posting_date=due,
                    amounts={"amount": item.amount},
                    party_account_id=debtor,
                )
                line = session.execute(
                    text("SELECT id FROM posting_line WHERE document_id = :d AND account_id = :a"),
                    {"d": payment, "a": debtor},
                ).scalar_one()
                allocate(session, line, due)
            session.commit()
    engine.dispose()
    return int(debtor)


SAMPLE_LEDGER_SQL = """
SELECT d.idempotency_key, d.tenant_id, d.division, d.doc_type, d.posting_date, d.value_date, d.period, d.origin,
       d.text, d.reversal_of_id, d.quantity_kwh,
       array_agg(ARRAY[l.account_id::text, l.tenant_id, l.posting_date::text, l.debit::text, l.credit::text,
                       coalesce(l.due_date::text, '-'), coalesce(l.control_account_id::text, '-'), l.text]
                 ORDER BY l.id)
FROM posting_document d JOIN posting_line l ON l.document_id = d.id
WHERE l.document_id IN (SELECT document_id FROM posting_line WHERE account_id = %(debtor)s)
GROUP BY d.id ORDER BY d.id
"""
SAMPLE_CLEARINGS_SQL = """
SELECT di.idempotency_key, li.account_id, db.idempotency_key, lb.account_id, c.amount, c.cleared_on, c.tenant_id
FROM clearing c
JOIN posting_line li ON li.id = c.item_line_id JOIN posting_document di ON di.id = li.document_id
JOIN posting_line lb ON lb.id = c.by_line_id JOIN posting_document db ON db.id = lb.document_id
WHERE li.account_id = %(debtor)s ORDER BY c.id
"""
SAMPLE_PLAN_SQL = """
SELECT p.id, p.tenant_id, p.business_key, p.valid_from, p.annual_net, p.annual_vat, p.annual_gross, p.instalment,
       p.ended_on, array_agg(ARRAY[i.due_date::text, i.amount::text, d.idempotency_key] ORDER BY i.due_date)
FROM budget_plan p JOIN budget_instalment i ON i.plan_id = p.id
LEFT JOIN posting_document d ON d.id = i.posting_document_id
WHERE p.contract_id = %(contract)s GROUP BY p.id
"""


def check_sample(conn: psycopg.Connection[Any], contract_id: int, debtor: int, gl: dict[str, int]) -> dict[str, bool]:
    """The sample's rows as the services wrote them against the rows the bulk COPY writes for a contract."""
    s = spec(SAMPLE)
    params = {"debtor": debtor, "contract": contract_id}
    plan_row = conn.execute(SAMPLE_PLAN_SQL, params).fetchone()
    assert plan_row is not None
    plan_id = plan_row[0]
    first_instalment = conn.execute("SELECT min(id) FROM budget_instalment WHERE plan_id = %s", (plan_id,)).fetchone()[
        0
    ]  # type: ignore[index]
    docs, clears = instalment_documents(s, debtor, gl, plan_id, first_instalment)
    plan = budget_plan(s.annual_kwh)
    expected_plan = (
        plan_id,
        TENANT,
        f"budget-plan:{contract_id}:{SUPPLY_START}",
        SUPPLY_START,
        plan.annual.net,
        plan.annual.vat,
        plan.annual.gross,
        plan.instalment,
        None,
        [[str(d.instalment[2]), str(d.lines[0][1]), d.key] for d in docs if d.instalment],
    )
    stored = [tuple(row) for row in conn.execute(SAMPLE_LEDGER_SQL, params).fetchall()]
    expected = [
        (
            d.key,
            TENANT,
            DIVISION,
            d.doc_type,
            d.day,
            d.day,
            f"{d.day:%Y-%m}",
            d.origin,
            d.text,
            None,
            None,
            [
                [str(a), TENANT, str(d.day), str(debit), str(credit), str(due) if due else "-", "-", ""]
                for a, debit, credit, due in d.lines
            ],
        )
        for d in docs
    ]
    stored_clearings = [tuple(row) for row in conn.execute(SAMPLE_CLEARINGS_SQL, params).fetchall()]
    expected_clearings = [
        (docs[c.item[0]].key, debtor, docs[c.by[0]].key, debtor, c.amount, c.on, TENANT) for c in clears
    ]
    account = conn.execute(
        "SELECT tenant_id, division, kind, number, name, gl_role, contract_account_id, partner_id"
        " FROM ledger_account WHERE id = %s",
        (debtor,),
    ).fetchone()
    return {
        "budget_plan": tuple(plan_row) == expected_plan,
        "documents_and_lines": stored == expected,
        "clearings": stored_clearings == expected_clearings,
        "debtor_account": account == (TENANT, DIVISION, "debtor", s.customer_number, s.name, None, None, None),
    }


def child_setup(url: str, contracts: int, arrears_every: int) -> Figures:
    global ARREARS_EVERY
    ARREARS_EVERY = arrears_every
    engine = make_engine(url, pool_size=1)
    meter = Meter(url)
    with Session(engine) as session:
        master_data(session)
    engine.dispose()
    totals: dict[str, int] = defaultdict(int)
    with psycopg.connect(libpq(url)) as conn:
        gl = gl_accounts(conn)
        row = conn.execute("SELECT id FROM tariff WHERE tenant_id = %s", (TENANT,)).fetchone()
        assert row is not None
        for indexes in batched(range(contracts), SETUP_BATCH):
            for key, value in copy_contracts(conn, indexes, row[0], gl).items():
                totals[key] += value
            conn.commit()
        found = conn.execute(
            "SELECT id FROM contract WHERE tenant_id = %s AND contract_number = %s",
            (TENANT, spec(SAMPLE).contract_number),
        ).fetchone()
        assert found is not None
    sample = int(found[0])
    debtor = book_sample(url, sample)
    with psycopg.connect(libpq(url)) as conn:
        checked = check_sample(conn, sample, debtor, gl)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM posting_document), (SELECT count(*) FROM posting_line),"
            " (SELECT count(*) FROM clearing), (SELECT count(*) FROM meter_reading)"
        ).fetchone()
    assert counts is not None
    return meter.figures(
        contracts=contracts,
        readings=counts[3],
        documents=counts[0],
        lines=counts[1],
        clearings=counts[2],
        sample_as_services=checked,
    )


# --- the bare pass ---------------------------------------------------------------------------------------------

BARE_CONTRACTS_SQL = """
SELECT c.id, c.contract_number, a.account_number, d.id AS debtor, c.tariff_id, c.supply_start, c.billed_until,
       l.malo_id, m.meter_number
FROM contract c
JOIN contract_account a ON a.id = c.account_id
JOIN market_location l ON l.id = c.location_id
LEFT JOIN meter m ON m.location_id = l.id
JOIN ledger_account d ON d.tenant_id = c.tenant_id AND d.division = c.division AND d.number = a.account_number
WHERE c.tenant_id = %s AND c.id > %s AND c.supply_start IS NOT NULL
ORDER BY c.id LIMIT %s
"""
BARE_READINGS_SQL = """
SELECT location_id, at, value FROM meter_reading
WHERE tenant_id = %s AND location_id = ANY(%s) AND period_start IS NULL ORDER BY at, id
"""
BARE_INSTALMENTS_SQL = """
SELECT l.id, l.account_id, l.due_date, l.debit,
       coalesce((SELECT sum(c.amount) FROM clearing c WHERE c.item_line_id = l.id), 0) AS paid
FROM posting_line l JOIN posting_document d ON d.id = l.document_id
WHERE l.account_id = ANY(%s) AND l.due_date IS NOT NULL AND d.doc_type = 'instalment_request'
ORDER BY l.due_date, l.id
"""
BILL_COLUMNS = (
    "id, tenant_id, number, kind, state, contract_id, division, period_start, period_end, consumption_kwh,"
    " net, energy_tax, vat, gross, instalments_paid, balance, next_instalment, due_date, estimated,"
    " hold_reasons, details, posting_document_id, run_id, released_by, booked_at, created_at"
)
RUN_ITEM_COLUMNS = "tenant_id, run_id, contract_id, outcome, reason, bill_id, created_at"


class BareBill(NamedTuple):
    contract_id: int
    start: date
    end: date
    kwh: int
    net: int
    tax: int
    vat: int
    requested: int
    paid: int
    details: str
    """cents, except kwh"""

    @property
    def gross(self) -> int:
        return self.net + self.vat

    @property
    def next_instalment(self) -> int:
        """Whole euros a month."""
        return self.gross * 365 // (self.end - self.start).days // 1_200 + 1


def bare_bill(contract_id: int, start: date, end: date, kwh: int, instalments: list[Any], meter: str) -> BareBill:
    """The amounts with integer arithmetic: kWh split over the two price versions by days, each line to cents."""
    days = (end - start).days
    change, (_, wp1, base1), (_, wp2, base2) = PRICES[1][0], PRICES[0], PRICES[1]
    d1 = max(0, min(days, (change - start).days))
    k1 = kwh * d1 // days
    lines = []
    for seg_start, seg_end, k, d, wp, base in (
        (start, change, k1, d1, wp1, base1),
        (change, end, kwh - k1, days - d1, wp2, base2),
    ):
        if d:
            work = (k * int(wp * 10_000) + 50) // 100
            basic = (int(base * 100) * d * 2 + 365) // 730
            tax = (k * 205 + 50) // 100
            lines.append((seg_start, seg_end, k, d, wp, base, work, basic, tax))
    net = sum(w + b + t for *_, w, b, t in lines)
    tax = sum(t for *_, t in lines)
    vat = (net * 19 + 50) // 100
    requested = sum(int(r.debit * 100) for r in instalments if r.due_date < end)
    paid = sum(int(r.paid * 100) for r in instalments if r.due_date < end)
    reading = {"on": str(end), "value": str(kwh), "status": "actual"}
    details = {
        "meter_number": meter,
        "unit": "kWh",
        "gas": None,
        "previous_bill_number": None,
        "tariff_name": "Strom Basis",
        "comparison_kwh": "3750",
        "computation": {
            "division": DIVISION,
            "start": str(start),
            "end": str(end),
            "consumption_kwh": str(kwh),
            "peak_kw": None,
            "readings": [{"on": str(start), "value": "0", "status": "actual"}, reading],
            "lines": [
                {
                    "kind": kind,
                    "start": str(a),
                    "end": str(b),
                    "quantity": str(q),
                    "unit_price": str(p),
                    "vat_rate": "0.19",
                    "amount": str(cents(amount)),
                }
                for a, b, k, d, wp, base, w, bp, t in lines
                for kind, q, p, amount in (
                    ("working_price", k, wp, w),
                    ("base_price", d, base, bp),
                    ("energy_tax", k, ENERGY_TAX, t),
                )
            ],
            "vat_groups": [{"rate": "0.19", "net": str(cents(net)), "vat": str(cents(vat))}],
            "net": str(cents(net)),
            "vat": str(cents(vat)),
            "gross": str(cents(net + vat)),
        },
        "settlement": {
            "gross": str(cents(net + vat)),
            "paid": str(cents(paid)),
            "balance": str(cents(net + vat - paid)),
            "annual_kwh": str(kwh * 365 // days),
            "annual_gross": str(cents((net + vat) * 365 // days)),
            "next_instalment": str((net + vat) * 365 // days // 1_200 + 1),  # as BareBill.next_instalment
        },
        "previous_year_kwh": None,
        "end_reading": reading,
        "instalments_requested": str(cents(requested)),
    }
    return BareBill(contract_id, start, end, kwh, net, tax, vat, requested, paid, json.dumps(details))


def bare_page(
    conn: psycopg.Connection[Any], contracts: list[Any], gl: dict[str, int], run_id: str, now: datetime
) -> dict[str, int]:
    """Read the page's readings and instalments, write its bills and their bookings; returns rows written."""
    readings: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(BARE_READINGS_SQL, (TENANT, [c.malo_id for c in contracts])):
        readings[row[0]].append(row)
    instalments: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(BARE_INSTALMENTS_SQL, ([c.debtor for c in contracts],)):
        instalments[row.account_id].append(row)
    bills = []
    for c in contracts:
        start = c.billed_until or c.supply_start
        first, last = readings[c.malo_id][0], readings[c.malo_id][-1]
        end = last.at.astimezone(BERLIN).date()
        kwh = int(last.value - first.value)
        bills.append(bare_bill(c.id, start, end, kwh, instalments[c.debtor], c.meter_number))
    n = len(bills)
    row = conn.execute(
        "INSERT INTO bill_number_range AS r (tenant_id, year, last_number) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, year) DO UPDATE SET last_number = r.last_number + excluded.last_number"
        " RETURNING last_number",
        (TENANT, RUN_DATE.year, n),
    ).fetchone()
    assert row is not None
    numbers = [f"{RUN_DATE.year}-{k:07d}" for k in range(row[0] - n + 1, row[0] + 1)]
    first_bill, first_doc, first_line = (
        reserve(conn, "bill", n),
        reserve(conn, "posting_document", 2 * n),
        reserve(conn, "posting_line", 6 * n),
    )
    zero = Decimal("0.00")
    docs: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    clearings: list[tuple[Any, ...]] = []
    bill_rows: list[tuple[Any, ...]] = []
    for k, (c, b, number) in enumerate(zip(contracts, bills, numbers, strict=True)):
        bill_id, bill_doc, settle_doc, line = (
            first_bill + k,
            first_doc + 2 * k,
            first_doc + 2 * k + 1,
            first_line + 6 * k,
        )
        gross, balance = b.gross, b.gross - b.paid
        due = RUN_DATE + (PAYMENT_TERM if balance >= 0 else REFUND_TERM)
        bill_rows.append(
            (
                bill_id,
                TENANT,
                number,
                "periodic",
                "booked",
                c.id,
                DIVISION,
                b.start,
                b.end,
                Decimal(b.kwh),
                cents(b.net),
                cents(b.tax),
                cents(b.vat),
                cents(gross),
                cents(b.paid),
                cents(balance),
                Decimal(b.next_instalment),
                due,
                False,
                "",
                b.details,
                bill_doc,
                run_id,
                "",
                now,
                now,
            )
        )
        docs.append(
            (
                bill_doc,
                TENANT,
                DIVISION,
                "bill",
                RUN_DATE,
                RUN_DATE,
                f"{RUN_DATE:%Y-%m}",
                f"bill:{bill_id}",
                f"bill:{number}",
                f"Rechnung {number} {b.start:%d.%m.%Y}-{b.end:%d.%m.%Y}",
                None,
                Decimal(b.kwh),
                now,
            )
        )
        docs.append(
            (
                settle_doc,
                TENANT,
                DIVISION,
                "instalment_settlement",
                RUN_DATE,
                RUN_DATE,
                f"{RUN_DATE:%Y-%m}",
                f"bill:{bill_id}:instalments",
                f"bill:{number}",
                f"Abschläge verrechnet mit Rechnung {number}",
                None,
                None,
                now,
            )
        )
        for offset, doc, account, debit, credit, line_due in (
            (0, bill_doc, c.debtor, cents(gross), zero, due),
            (1, bill_doc, gl["revenue"], zero, cents(b.net - b.tax), None),
            (2, bill_doc, gl["electricity_tax"], zero, cents(b.tax), None),
            (3, bill_doc, gl["vat"], zero, cents(b.vat), None),
            (4, settle_doc, gl["instalments"], cents(b.requested), zero, None),
            (5, settle_doc, c.debtor, zero, cents(b.requested), RUN_DATE),
        ):
            lines.append((line + offset, doc, TENANT, account, RUN_DATE, debit, credit, line_due, None, ""))
        # net_open_items: the settlement's credit clears the unpaid requests, oldest first, then the bill
        left = b.requested
        open_debits = [(r.id, int(r.debit * 100) - int(r.paid * 100)) for r in instalments[c.debtor]]
        for item, amount in [(i, a) for i, a in open_debits if a > 0] + [(line, gross)]:
            cleared = min(left, amount)
            if cleared > 0:
                clearings.append((TENANT, item, line + 5, cents(cleared), RUN_DATE, now))
                left -= cleared
    written = {
        "posting_document": copy_rows(conn, "posting_document", DOCUMENT_COLUMNS, docs),
        "posting_line": copy_rows(conn, "posting_line", LINE_COLUMNS, lines),
        "bill": copy_rows(conn, "bill", BILL_COLUMNS, bill_rows),
        "clearing": copy_rows(conn, "clearing", CLEARING_COLUMNS, clearings),
        "billing_run_item": copy_rows(
            conn,
            "billing_run_item",
            RUN_ITEM_COLUMNS,
            ((TENANT, run_id, c.id, "billed", "", first_bill + k, now) for k, c in enumerate(contracts)),
        ),
    }
    # renew_plans: the old plan ends where the new one (the bill's proposed instalment, 12 months) starts
    first_due = [first_instalment_due(b.end, issued_on=RUN_DATE) for b in bills]
    ended = conn.execute(
        "UPDATE budget_plan p SET ended_on = n.first_due"
        " FROM unnest(%s::int[], %s::date[]) AS n(contract_id, first_due)"
        " WHERE p.contract_id = n.contract_id AND p.ended_on IS NULL",
        ([b.contract_id for b in bills], first_due),
    )
    first_plan = reserve(conn, "budget_plan", n)
    plans: list[tuple[Any, ...]] = []
    plan_instalments: list[tuple[Any, ...]] = []
    for k, (b, due) in enumerate(zip(bills, first_due, strict=True)):
        amount = b.next_instalment * 100
        net = (amount * 12 * 100 + 59) // 119
        plans.append((first_plan + k, TENANT, b.contract_id, f"bill:{first_bill + k}", b.end, cents(net)))
        plans[-1] += (cents(amount * 12 - net), cents(amount * 12), cents(amount), None, now)
        plan_instalments += [(first_plan + k, due + relativedelta(months=m), cents(amount)) for m in range(12)]
    written["budget_plan"] = copy_rows(conn, "budget_plan", PLAN_COLUMNS, plans)
    written["budget_instalment"] = copy_rows(conn, "budget_instalment", "plan_id, due_date, amount", plan_instalments)
    written["budget_plan (ended)"] = ended.rowcount
    updated = conn.execute(
        "UPDATE contract SET billed_until = u.period_end FROM unnest(%s::int[], %s::date[]) AS u(id, period_end)"
        " WHERE contract.id = u.id",
        ([b.contract_id for b in bills], [b.end for b in bills]),
    )
    written["contract"] = updated.rowcount
    return written


def child_bare(url: str, page: int) -> Figures:
    """Read and write what the run does, page by page, in one transaction that is rolled back."""
    written: dict[str, int] = defaultdict(int)
    details = 0
    with psycopg.connect(libpq(url), row_factory=namedtuple_row) as conn:
        meter = Meter(url)
        now = datetime.now(UTC)
        gl = gl_accounts(conn)
        conn.execute("SELECT valid_from, working_price, base_price_per_year FROM tariff_price").fetchall()
        after = 0
        while contracts := conn.execute(BARE_CONTRACTS_SQL, (TENANT, after, page)).fetchall():
            for table, count in bare_page(conn, contracts, gl, "bare", now).items():
                written[table] += count
            after = contracts[-1][0]  # the contract id
        row = conn.execute("SELECT avg(length(details::text)) FROM bill WHERE run_id = 'bare'").fetchone()
        details = int(row[0] or 0) if row else 0
        figures = meter.figures(written=dict(written), details_chars=details)
        conn.rollback()
    return figures


# --- the real run ----------------------------------------------------------------------------------------------


def run_id() -> str:
    return f"billing-run/{TENANT}/{RUN_DATE.isoformat()}"


def child_worker(url: str, target: str, task_queue: str) -> Figures:
    """A worker as ``bpo worker`` runs it, until SIGTERM; reports its CPU time and peak RSS."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from core.logging import configure_logging
    from core.settings import Settings
    from worker import MAX_CONCURRENT_ACTIVITIES, build_worker

    async def run() -> Figures:
        configure_logging("WARNING", json=True)
        engine = make_engine(url, pool_size=MAX_CONCURRENT_ACTIVITIES)
        client = await Client.connect(target, data_converter=pydantic_data_converter)
        with tempfile.TemporaryDirectory() as var:
            settings = Settings(BPO_VAR_DIR=Path(var), BPO_TASK_QUEUE=task_queue)
            the_worker = build_worker(client, engine, settings, task_queue=task_queue)
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            gc.freeze()  # as ``bpo worker`` does after start-up
            baseline, cpu = peak_rss_mb(), time.process_time()
            async with the_worker:
                print("ready", flush=True)
                await stop.wait()
            figures = {"cpu": time.process_time() - cpu, "peak_mb": peak_rss_mb(), "baseline_mb": baseline}
        engine.dispose()
        return figures

    return asyncio.run(run())


VERIFY_SQL = """
SELECT count(*) AS bills, count(DISTINCT number) AS numbers, min(number) AS first, max(number) AS last,
       count(*) FILTER (WHERE state <> 'booked') AS not_booked, coalesce(sum(gross), 0) AS gross,
       (SELECT coalesce(sum(l.debit), 0) FROM posting_document d JOIN posting_line l ON l.document_id = d.id
        WHERE d.tenant_id = %(tenant)s AND d.doc_type = 'bill') AS ledger_bills,
       (SELECT coalesce(sum(l.credit), 0) FROM posting_document d JOIN posting_line l ON l.document_id = d.id
        WHERE d.tenant_id = %(tenant)s AND d.doc_type = 'bill') AS ledger_bills_credit,
       (SELECT last_number FROM bill_number_range WHERE tenant_id = %(tenant)s AND year = %(year)s) AS last_number,
       (SELECT count(*) FROM contract WHERE tenant_id = %(tenant)s AND billed_until IS NULL) AS unbilled,
       (SELECT count(*) FROM billing_run_item WHERE run_id = %(run)s AND outcome = 'billed') AS run_items,
       avg(length(details::text)) AS details_chars
FROM bill WHERE tenant_id = %(tenant)s AND run_id = %(run)s
"""
BALANCES_SQL = """
WITH balances AS (
    SELECT account_id, sum(debit - credit) AS balance FROM posting_line GROUP BY account_id
)
SELECT count(*) FILTER (WHERE x.balance = b.balance) AS equal, count(*) AS bills
FROM bill b
JOIN contract c ON c.id = b.contract_id
JOIN contract_account a ON a.id = c.account_id
JOIN ledger_account d ON d.tenant_id = b.tenant_id AND d.division = b.division AND d.number = a.account_number
JOIN balances x ON x.account_id = d.id
WHERE b.run_id = %(run)s
"""
"""One pass over the lines (hash join), not one lookup per bill: fast also without fresh statistics."""


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows of every table of the database."""
    with conn.cursor(row_factory=tuple_row) as cursor:
        tables = [r[0] for r in cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        counts = {}
        for table in sorted(tables):
            row = cursor.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # type: ignore[arg-type]
            assert row is not None
            counts[table] = int(row[0])
    return counts


async def activity_times(client: Any, workflow_id: str, run_id: str | None) -> dict[str, dict[str, float]]:
    """Per activity type: how many ran and their summed execution time (started to completed), over the run
    and the runs it continued as new into, from the workflow history."""
    times: dict[str, dict[str, float]] = defaultdict(lambda: {"count": 0, "seconds": 0.0})
    while run_id:
        types: dict[int, str] = {}
        started: dict[int, datetime] = {}
        next_run = None
        async for event in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events():
            if event.HasField("activity_task_scheduled_event_attributes"):
                types[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
            elif event.HasField("activity_task_started_event_attributes"):
                started[event.event_id] = event.event_time.ToDatetime()
            elif event.HasField("activity_task_completed_event_attributes"):
                done = event.activity_task_completed_event_attributes
                entry = times[types[done.scheduled_event_id]]
                entry["count"] += 1
                entry["seconds"] += (event.event_time.ToDatetime() - started[done.started_event_id]).total_seconds()
            elif event.HasField("workflow_execution_continued_as_new_event_attributes"):
                next_run = event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        run_id = next_run
    return dict(times)


def child_real(url: str, contracts: int, chunk_size: int, parallel: int, workers: int) -> Figures:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from core.embedded import temporal_binary
    from models.process import BillingRunInput
    from workflows import search
    from workflows.billing_run import BillingRunWorkflow

    async def run() -> Figures:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            search_attributes=search.ALL,
            data_converter=pydantic_data_converter,
            dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"],
        )
        [server] = children(os.getpid(), "temporal")
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        target = env.client.service_client.config.target_host
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.billing", "--child", "worker", url, target, task_queue],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        outputs: list[list[str]] = [[] for _ in processes]
        drains = []
        try:
            for process, lines in zip(processes, outputs, strict=True):
                assert process.stdout is not None
                if process.stdout.readline().strip() != "ready":
                    raise RuntimeError("worker did not start")
                # keep reading: a worker blocks when the pipe of its stdout is full
                drains.append(threading.Thread(target=lines.extend, args=(process.stdout,), daemon=True))
                drains[-1].start()
            with psycopg.connect(libpq(url)) as conn:
                before = row_counts(conn)
            temporal_cpu = proc_cpu(server) or 0.0
            meter = Meter(url)
            handle = await env.client.start_workflow(
                BillingRunWorkflow.run,
                BillingRunInput(tenant_id=TENANT, on=RUN_DATE, chunk_size=chunk_size, parallel=parallel, deliver=False),
                id=run_id(),
                task_queue=task_queue,
            )
            totals = await handle.result()
            figures = meter.figures(
                activities=await activity_times(env.client, run_id(), handle.first_execution_run_id),
                totals=totals.model_dump(),
                temporal_cpu=(proc_cpu(server) or 0.0) - temporal_cpu,
                temporal_peak_mb=peak_rss_of(server),
            )
        finally:
            reports = []
            for process in processes:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for drain, lines in zip(drains, outputs, strict=False):
                drain.join(timeout=10)
                with suppress(ValueError, IndexError):
                    reports.append(json.loads(lines[-1]) | {"other_output": [line[:200] for line in lines[:-1][:5]]})
            await env.shutdown()
        figures["workers"] = reports
        figures["client_cpu"] = sum(r["cpu"] for r in reports)
        figures["peak_mb"] = max(r["peak_mb"] for r in reports)
        figures["baseline_mb"] = max(r["baseline_mb"] for r in reports)
        execute(url, "ANALYZE")  # the checks join freshly written tables: plan them with statistics
        with psycopg.connect(libpq(url), row_factory=dict_row) as conn:
            params = {"tenant": TENANT, "run": run_id(), "year": RUN_DATE.year}
            found = conn.execute(VERIFY_SQL, params).fetchone()
            balances = conn.execute(BALANCES_SQL, params).fetchone()
            after = row_counts(conn)
        assert found is not None and balances is not None
        t = figures["totals"]
        checks = {
            "all billed": t["due"] == t["billed"] == contracts and t["held"] == t["failed"] == 0,
            "bills booked": found["bills"] == contracts and found["not_booked"] == 0,
            "gross = ledger bill documents": found["gross"] == found["ledger_bills"] == found["ledger_bills_credit"],
            "numbers gapless 1..N": found["numbers"] == contracts
            and found["first"] == f"{RUN_DATE.year}-{1:07d}"
            and found["last"] == f"{RUN_DATE.year}-{contracts:07d}"
            and found["last_number"] == contracts,
            "billed_until set": found["unbilled"] == 0,
            "run items": found["run_items"] == contracts,
            "debtor balances = bill balances": balances["equal"] == balances["bills"] == contracts,
        }
        return figures | {
            "checks": checks,
            "gross": str(found["gross"]),
            "details_chars": int(found["details_chars"] or 0),
            "written": {table: after[table] - before[table] for table in after if after[table] != before[table]},
        }

    return asyncio.run(run())


# --- profile ---------------------------------------------------------------------------------------------------

TIMED = (
    "_results_of_run",
    "load_facts",
    "draft_bill",
    "_store_drafts",
    "book_bills",
    "take_bill_numbers",
    "debtor_accounts",
    "_debtor_accounts",
    "ensure_chart",
    "post_many",
    "net_open_items",
    "_record_run",
)


def bill_rolled_back(url: str, ids: list[int], session_hook: Callable[[Session], None] | None = None) -> float:
    """``bill_chunk`` on these contracts, each batch rolled back instead of committed; returns the seconds."""
    from activities.billing import BATCH
    from services.billing import bill_contracts

    engine = make_engine(url, pool_size=1)
    started = time.perf_counter()
    for batch in batched(ids, BATCH):
        with Session(engine) as session:
            if session_hook:
                session_hook(session)
            results = bill_contracts(session, TENANT, batch, RUN_DATE, "profile")
            assert all(r.outcome == "billed" for r in results), results[:3]
            session.flush()
            session.rollback()
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def child_profile(url: str, chunk: int) -> Figures:
    import services.billing as billing

    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute("SELECT id FROM contract WHERE tenant_id = %s ORDER BY id LIMIT %s", (TENANT, chunk))
        ids = [row[0] for row in rows]
    bill_rolled_back(url, ids[:10])  # warm-up: imports, first queries
    spent: dict[str, float] = {}
    originals = {name: getattr(billing, name) for name in TIMED if hasattr(billing, name)}
    for name in originals:
        timed(billing, name, spent)

    statements: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def hook(session: Session) -> None:
        timed(session, "execute", spent)
        timed(session, "flush", spent)
        execute = session.execute

        def by_statement(statement: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(statement, *args, **kwargs)
            finally:
                entry = statements[" ".join(str(statement).split())[:90]]
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        session.execute = by_statement  # type: ignore[method-assign]

    seconds = bill_rolled_back(url, ids, hook)
    for name, function in originals.items():
        setattr(billing, name, function)
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = bill_rolled_back(url, ids)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    top = sorted(entries.items(), key=lambda item: item[1][3], reverse=True)
    root = Path(__file__).resolve().parent.parent
    functions = []
    for (file, line, function), (_, calls, own, cumulative, _) in top[:40]:
        where = file.replace(str(root) + "/", "").replace(sys.prefix, "<venv>") if file != "~" else ""
        functions.append(
            {"function": f"{where}:{line}({function})", "calls": calls, "own": own, "cumulative": cumulative}
        )
    slowest = sorted(statements.items(), key=lambda item: item[1][1], reverse=True)[:8]
    return {
        "statements": [{"sql": sql, "calls": calls, "seconds": spent_on} for sql, (calls, spent_on) in slowest],
        "contracts": len(ids),
        "seconds": seconds,
        "spent": spent,
        "profiled_seconds": profiled,
        "top": functions,
    }


# --- PDFs ------------------------------------------------------------------------------------------------------


def child_pdfs(url: str, count: int) -> Figures:
    from core.logging import configure_logging
    from models.documents import Document
    from services.bill_document import render_bill

    configure_logging("WARNING", json=True)
    engine = make_engine(url, pool_size=1)
    with psycopg.connect(libpq(url)) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM bill WHERE state = 'booked' ORDER BY id").fetchall()]
    step = max(1, len(ids) // max(count, 1))
    chosen = ids[::step][:count]
    meter = Meter(url)
    sizes, first = [], 0.0
    for k, bill_id in enumerate(chosen):
        started = time.perf_counter()
        with Session(engine) as session:
            document_id = render_bill(session, bill_id)
            session.commit()
            document = session.get(Document, document_id)
            assert document is not None
            sizes.append(len(document.content))
        if k == 0:
            first = time.perf_counter() - started
    figures = meter.figures(pdfs=len(chosen), first_seconds=first, avg_kb=sum(sizes) / max(len(sizes), 1) / 1024)
    engine.dispose()
    return figures


# --- driver ----------------------------------------------------------------------------------------------------


def run_child(step: str, *args: str) -> Any:
    output = subprocess.run(
        [sys.executable, "-m", "bench.billing", "--child", step, *args], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    print(f"{step}: {json.dumps(result, default=str)[:2000]}", flush=True)
    return result


def vacuum(url: str) -> None:
    execute(url, "VACUUM (ANALYZE)")


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    n, chunk = str(args.contracts), str(args.chunk_size)
    results = {"setup": run_child("setup", url, n, str(args.arrears_every))}
    vacuum(url)
    results["bare"] = run_child("bare", url, chunk)
    vacuum(url)
    if args.profile:
        results["profile"] = run_child("profile", url, chunk)
        vacuum(url)
    results["real"] = run_child("real", url, n, chunk, str(args.parallel), str(args.workers))
    if args.pdfs:
        results["pdfs"] = run_child("pdfs", url, str(args.pdfs))
    return results


def row(name: str, volume: str, figures: Figures, rate: str = "-", detail: str = "") -> str:
    server = "-" if figures.get("server_cpu") is None else f"{figures['server_cpu']:.1f} s"
    cells = [
        name,
        volume,
        f"{figures['seconds']:.1f} s",
        rate,
        f"{figures['client_cpu']:.1f} s",
        server,
        f"{figures['peak_mb']:.0f} MB (base {figures['baseline_mb']:.0f})",
        detail,
    ]
    return "| " + " | ".join(cells) + " |"


def others(figures: Figures, own: float) -> str:
    """CPU the rest of the machine used meanwhile (other processes on the 2 cores disturb the figures)."""
    busy = figures["machine_busy"]
    return f"machine busy {busy:.0f} CPU-s, of it other processes ≈ {max(0.0, busy - own):.0f}"


def print_tables(args: argparse.Namespace, results: dict[str, Any]) -> None:
    n = args.contracts
    setup, bare, real = results["setup"], results["bare"], results["real"]
    bare_rate, real_rate = n / bare["seconds"], n / real["seconds"]
    print("\n| step | volume | time | rate | client CPU | server CPU | peak RSS | detail |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        row(
            "setup (bulk COPY, not measured)",
            f"{n:,} contracts, {setup['readings']:,} readings",
            setup,
            detail=f"ledger {setup['documents']:,} documents, {setup['lines']:,} lines, "
            f"{setup['clearings']:,} clearings; sample booked by the services = bulk rows: "
            f"{all(setup['sample_as_services'].values())}",
        )
    )
    written = ", ".join(f"{table} {count:,}" for table, count in bare["written"].items())
    print(
        row(
            "bare SQL pass (1 transaction, rolled back)",
            f"{n:,} bills",
            bare,
            f"{bare_rate:,.0f} bills/s",
            f"rows: {written}; details {bare['details_chars']:,} chars/bill; "
            + others(bare, bare["client_cpu"] + (bare["server_cpu"] or 0)),
        )
    )
    totals = real["totals"]
    workers = len(real["workers"])
    ok = all(real["checks"].values())
    real_written = ", ".join(f"{table} {count:,}" for table, count in real["written"].items())
    phases = ", ".join(f"{name} {a['count']:.0f}× {a['seconds']:.1f} s" for name, a in real["activities"].items())
    print(
        row(
            f"real run (workflow, chunks of {args.chunk_size} × {args.parallel}, {workers} worker process"
            f"{'es' if workers > 1 else ''})",
            f"{totals['billed']:,} billed, {totals['held']} held, {totals['failed']} failed",
            real,
            f"**{real_rate:,.0f} bills/s** = {real_rate / bare_rate:.0%} of bare",
            f"checks {'all passed' if ok else real['checks']}; activities (summed): {phases}; rows: {real_written}; "
            f"details {real['details_chars']:,} chars/bill; Temporal server {real['temporal_cpu']:.0f} CPU-s, "
            f"peak {real['temporal_peak_mb'] or 0:.0f} MB; "
            + others(real, real["client_cpu"] + (real["server_cpu"] or 0) + real["temporal_cpu"]),
        )
    )
    if "pdfs" in results:
        pdfs = results["pdfs"]
        print(
            row(
                "PDFs (render_bill, archived)",
                f"{pdfs['pdfs']:,} bills",
                pdfs,
                f"{pdfs['pdfs'] / pdfs['seconds']:.1f} PDFs/s",
                f"first PDF {pdfs['first_seconds']:.1f} s, {pdfs['avg_kb']:.0f} KB each; "
                + others(pdfs, pdfs["client_cpu"] + (pdfs["server_cpu"] or 0)),
            )
        )
    print(
        f"\nreal/bare: {real['seconds'] / bare['seconds']:.1f}× the time"
        f" ({real_rate:,.0f} vs {bare_rate:,.0f} bills/s);"
        f" target 100 bills/s: {'met' if real_rate >= 100 else 'NOT met'}."
    )
    if n < 100_000:
        print(
            "extrapolated to 100,000 contracts (linearly, not measured; holds only if the cost per bill does not grow"
            f" with the portfolio): real run {100_000 / real_rate / 60:.1f} min,"
            f" bare pass {100_000 / bare_rate / 60:.1f} min"
            + (f", PDFs {100_000 * pdfs['seconds'] / pdfs['pdfs'] / 3600:.1f} h" if "pdfs" in results else "")
        )
    elif "pdfs" in results:
        print(f"PDFs for all {n:,} bills at this rate: {n * pdfs['seconds'] / pdfs['pdfs'] / 3600:.1f} h (one process)")
    if "profile" in results:
        print_profile(results["profile"])


def print_profile(profile: Figures) -> None:
    spent, seconds = profile["spent"], profile["seconds"]
    print(
        f"\nbill_contracts on {profile['contracts']} contracts in batches as bill_chunk ({seconds:.2f} s,"
        f" {profile['contracts'] / seconds:.0f} bills/s in one thread;"
        f" under cProfile {profile['profiled_seconds']:.2f} s):"
    )
    print("\n| part | seconds | share |\n|---|---|---|")
    for name in (*TIMED, "execute", "flush"):
        if name in spent:
            print(f"| {name} | {spent[name]:.2f} | {spent[name] / seconds:.0%} |")
    print("\n| statement (session.execute) | calls | seconds |\n|---|---|---|")
    for entry in profile["statements"]:
        print(f"| `{entry['sql']}` | {entry['calls']:,} | {entry['seconds']:.2f} |")
    print("\n| function (cProfile, by cumulative time) | calls | own s | cumulative s |\n|---|---|---|---|")
    for entry in profile["top"][:30]:
        print(f"| `{entry['function']}` | {entry['calls']:,} | {entry['own']:.2f} | {entry['cumulative']:.2f} |")


def run_step(step: str, url: str, *args: str) -> Any:
    if step == "worker":
        return child_worker(url, *args)
    numbers = [int(a) for a in args]
    children_: dict[str, Callable[..., Any]] = {
        "setup": child_setup,
        "bare": child_bare,
        "profile": child_profile,
        "real": child_real,
        "pdfs": child_pdfs,
    }
    return children_[step](url, *numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000, help="SLP contracts to bill (default 100,000)")
    parser.add_argument("--chunk-size", type=int, default=500, help="contracts per chunk activity (default 500)")
    parser.add_argument("--parallel", type=int, default=2, help="chunk activities at once (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--pdfs", type=int, default=200, help="bills rendered to PDF (default 200)")
    parser.add_argument(
        "--arrears-every",
        type=int,
        default=ARREARS_EVERY,
        help="every n-th contract owes two instalments, in arrears at the run (default 10; 0: all paid)",
    )
    parser.add_argument("--profile", action="store_true", help="profile bill_contracts on one chunk first")
    parser.add_argument("--results", type=Path, help="also write the figures of every step to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_step(*args.child), default=str))
        return
    if args.contracts < 2:
        parser.error("at least 2 contracts")
    url = create_database("bpo_bench_billing")
    try:
        results = measure(url, args)
    finally:
        if args.keep:
            print(f"database kept: {url}")
        else:
            drop_database(url)
    if args.results:
        args.results.write_text(json.dumps(results, indent=1, default=str))
    print_tables(args, results)


if __name__ == "__main__":
    main()
