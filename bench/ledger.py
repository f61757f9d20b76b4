"""Benchmark: a month of posting lines booked into the subledger, against a bare COPY, then the month close.

Each step runs in a process of its own and reports wall time, its own CPU time, the CPU time of its PostgreSQL
backend (when the server runs on this machine) and its peak RSS:

- accounts: a tenant with ``--accounts`` debtor accounts and revenue, VAT and bank accounts (bulk insert);
- copy: the month's documents and lines written by bare COPY into the ledger tables, which are then emptied,
  so that the booking starts from the same empty tables;
- book: the same documents (bills of 3 lines, payments of 2) through ``services.ledger.post_many``,
  ``--batch`` documents per call, committed per call;
- clear: the payments of ``--sample`` accounts allocated by ``services.ledger.allocate``, those of most other
  accounts cleared oldest item first by one INSERT that makes the clearings ``allocate`` makes (checked on the
  sample); every fifth account keeps its payments unallocated;
- close: ``services.month_close.close_month`` over all accounts and lines (after VACUUM ANALYZE, as
  autovacuum would have run by month end).

    .venv/bin/python -m bench.ledger --lines 1000000 --accounts 100000
"""

import argparse
import json
import os
import subprocess
import sys
import time
from calendar import monthrange
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import psycopg
from sqlalchemy import insert, text
from sqlmodel import Session

import models.tables  # noqa: F401  (registers every table, so the ORM resolves foreign keys)
from bench.harness import batched, create_database, drop_database, execute, libpq, peak_rss_mb, timed
from core.db import make_engine
from models.documents import Document
from models.ledger import LedgerAccount
from models.tenancy import Tenant
from services import month_close
from services.ledger import Line, PostingRequest, allocate, post_many

T = TypeVar("T")
Figures = dict[str, Any]

PERIOD = "2026-03"
TENANT = "bench"
DIVISION = "strom"
PATTERN = ("bill", "bill", "payment", "bill", "payment")
"""Three bills (3 lines each) and two payments (2 lines each) in every five documents."""
VAT_RATE = Decimal("0.19")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PARTIAL_EVERY = 4
"""Every fourth payment pays half its bill; the others pay it in full."""
UNALLOCATED_EVERY = 5
"""Every fifth debtor account keeps its payments unallocated (open credits next to open bills)."""
DOCUMENT_COPY = (
    "COPY posting_document (id, tenant_id, division, doc_type, posting_date, value_date, period, idempotency_key,"
    " origin, text, created_at) FROM STDIN"
)
LINE_COPY = (
    "COPY posting_line (document_id, tenant_id, account_id, posting_date, debit, credit, due_date, text) FROM STDIN"
)

FIFO_SQL = """
WITH bills AS (
    SELECT id, account_id, posting_date, debit AS amount,
           sum(debit) OVER (PARTITION BY account_id ORDER BY due_date, id) AS upto
    FROM posting_line WHERE account_id = ANY(:accounts) AND debit > 0 AND due_date IS NOT NULL
), payments AS (
    SELECT id, account_id, posting_date, credit AS amount,
           sum(credit) OVER (PARTITION BY account_id ORDER BY posting_date, id) AS upto
    FROM posting_line WHERE account_id = ANY(:accounts) AND credit > 0
)
SELECT b.id AS item_line_id, p.id AS by_line_id,
       least(b.upto, p.upto) - greatest(b.upto - b.amount, p.upto - p.amount) AS amount,
       greatest(b.posting_date, p.posting_date) AS cleared_on
FROM bills b JOIN payments p ON p.account_id = b.account_id
WHERE least(b.upto, p.upto) > greatest(b.upto - b.amount, p.upto - p.amount)
"""
"""Payments (by date) settle the bills of their account (by due date) oldest first, as ``allocate`` does:
a clearing is the overlap of a bill's and a payment's stretch of the account's running totals."""


class Entry(NamedTuple):
    account_id: int
    debit: Decimal
    credit: Decimal
    due_date: date | None


class Doc(NamedTuple):
    key: str
    doc_type: str
    posting_date: date
    entries: list[Entry]


class Chart(NamedTuple):
    debtors: list[int]
    revenue: int
    vat: int
    bank: int


def backend_cpu(pid: int) -> float | None:
    """CPU seconds of a PostgreSQL backend on this machine; None if there is none with that id here."""
    proc = Path(f"/proc/{pid}")
    try:
        if proc.joinpath("comm").read_text().strip() != "postgres":
            return None
        fields = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall time, CPU time of this process and of one PostgreSQL backend, and peak RSS, from its creation on."""

    def __init__(self, backend_pid: int) -> None:
        self.backend_pid = backend_pid
        self.baseline_mb = peak_rss_mb()
        self.server = backend_cpu(backend_pid)
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def figures(self, **extra: Any) -> Figures:
        seconds, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        server = backend_cpu(self.backend_pid)
        return {
            "seconds": seconds,
            "client_cpu": cpu,
            "server_cpu": None if server is None or self.server is None else server - self.server,
            "peak_mb": peak_rss_mb(),
            "baseline_mb": self.baseline_mb,
            **extra,
        }


def cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def bill_amounts(i: int) -> tuple[Decimal, Decimal]:
    """Net and VAT of the ``i``-th bill."""
    net = cents(4_000 + i * 7_919 % 25_000)
    return net, (net * VAT_RATE).quantize(CENT)


def bill(chart: Chart, prefix: str, i: int, day: date) -> Doc:
    net, vat = bill_amounts(i)
    debtor = chart.debtors[i % len(chart.debtors)]
    return Doc(
        f"{prefix}:bill:{i}",
        "bill",
        day,
        [
            Entry(debtor, net + vat, ZERO, day + timedelta(days=14)),
            Entry(chart.revenue, ZERO, net, None),
            Entry(chart.vat, ZERO, vat, None),
        ],
    )


def payment(chart: Chart, prefix: str, i: int, day: date) -> Doc:
    """The ``i``-th payment, for the ``i``-th bill (same account, booked earlier): in full, or half of it."""
    gross = sum(bill_amounts(i), ZERO)
    amount = gross if i % PARTIAL_EVERY else (gross / 2).quantize(CENT)
    debtor = chart.debtors[i % len(chart.debtors)]
    return Doc(
        f"{prefix}:payment:{i}",
        "payment",
        day,
        [Entry(chart.bank, amount, ZERO, None), Entry(debtor, ZERO, amount, None)],
    )


def documents(chart: Chart, prefix: str, lines: int) -> Iterator[Doc]:
    """Bills and payments with exactly ``lines`` lines, dated evenly over the month; debtors taken in turn."""
    first = date(int(PERIOD[:4]), int(PERIOD[5:]), 1)
    days = monthrange(first.year, first.month)[1]
    written = bills = payments = 0
    while written < lines:
        left = lines - written
        kind = "payment" if left in (2, 4) else "bill" if left == 3 else PATTERN[(bills + payments) % len(PATTERN)]
        day = first + timedelta(days=written * days // lines)
        if kind == "bill":
            doc, bills = bill(chart, prefix, bills, day), bills + 1
        else:
            doc, payments = payment(chart, prefix, payments, day), payments + 1
        written += len(doc.entries)
        yield doc


def load_chart(url: str) -> Chart:
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            "SELECT id, kind, gl_role FROM ledger_account WHERE tenant_id = %s ORDER BY id", (TENANT,)
        ).fetchall()
    roles = {role: id_ for id_, kind, role in rows if kind == "gl"}
    return Chart([id_ for id_, kind, _ in rows if kind == "debtor"], roles["revenue"], roles["vat"], roles["bank"])


def session_backend(session: Session) -> int:
    """The backend id of the session's connection (a pool of one keeps it across commits)."""
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw.info.backend_pid


def child_accounts(url: str, accounts: int) -> Figures:
    """The tenant, its GL accounts and ``accounts`` debtor accounts in one bulk insert."""
    engine = make_engine(url, pool_size=1)
    with Session(engine) as session:
        meter = Meter(session_backend(session))
        rows = [
            {"tenant_id": TENANT, "division": DIVISION, "kind": "gl", "number": n, "name": role, "gl_role": role}
            for n, role in (("8000", "revenue"), ("1776", "vat"), ("1200", "bank"), ("1400", "debtor_control"))
        ] + [
            {"tenant_id": TENANT, "division": DIVISION, "kind": "debtor", "number": f"{10**8 + i}", "name": f"D{i}"}
            for i in range(accounts)
        ]
        session.add(Tenant(id=TENANT, name="Bench Stadtwerke", market_partner_id="9900000000003"))
        session.flush()
        session.execute(insert(LedgerAccount), rows)
        session.commit()
        figures = meter.figures(accounts=len(rows))
    engine.dispose()
    return figures


def child_copy(url: str, lines: int, batch: int) -> Figures:
    """The month's documents and lines by bare COPY, ``batch`` documents per transaction."""
    chart = load_chart(url)
    count = 0
    with psycopg.connect(libpq(url)) as conn:
        meter = Meter(conn.info.backend_pid)
        for docs in batched(documents(chart, "copy", lines), batch):
            reserved = conn.execute(
                "SELECT setval('posting_document_id_seq', nextval('posting_document_id_seq') + %s)", (len(docs) - 1,)
            ).fetchone()
            assert reserved is not None
            first_id, now = reserved[0] - len(docs) + 1, datetime.now(UTC)
            with conn.cursor() as cursor:
                with cursor.copy(DOCUMENT_COPY) as copy:
                    for document_id, doc in enumerate(docs, start=first_id):
                        day = doc.posting_date
                        copy.write_row(
                            (document_id, TENANT, DIVISION, doc.doc_type, day, day, PERIOD, doc.key, "", "", now)
                        )
                with cursor.copy(LINE_COPY) as copy:
                    for document_id, doc in enumerate(docs, start=first_id):
                        day = doc.posting_date
                        for e in doc.entries:
                            copy.write_row((document_id, TENANT, e.account_id, day, e.debit, e.credit, e.due_date, ""))
            conn.commit()
            count += len(docs)
        return meter.figures(documents=count)


def posting_request(doc: Doc) -> PostingRequest:
    return PostingRequest(
        tenant_id=TENANT,
        division=DIVISION,
        doc_type=doc.doc_type,
        posting_date=doc.posting_date,
        idempotency_key=doc.key,
        lines=[Line(account_id=a, debit=d, credit=c, due_date=due) for a, d, c, due in doc.entries],
    )


def child_book(url: str, lines: int, batch: int) -> Figures:
    """The same month through ``post_many``, ``batch`` documents per call, committed per call."""
    chart = load_chart(url)
    engine = make_engine(url, pool_size=1)
    count, posting, committing = 0, 0.0, 0.0
    with Session(engine) as session:
        meter = Meter(session_backend(session))
        for docs in batched(documents(chart, "book", lines), batch):
            requests = [posting_request(doc) for doc in docs]
            before_post = time.perf_counter()
            post_many(session, requests)
            before_commit = time.perf_counter()
            session.commit()
            posting += before_commit - before_post
            committing += time.perf_counter() - before_commit
            count += len(docs)
        assert session_backend(session) == meter.backend_pid
        figures = meter.figures(documents=count, post_many_seconds=posting, commit_seconds=committing)
    engine.dispose()
    return figures


def child_clear(url: str, sample: int) -> list[Figures]:
    """Allocate the payments of ``sample`` accounts with ``allocate``, then clear most others by one INSERT."""
    chart = load_chart(url)
    engine = make_engine(url, pool_size=1)
    sampled = chart.debtors[:sample]
    bulk = [a for i, a in enumerate(chart.debtors[sample:], sample) if i % UNALLOCATED_EVERY != UNALLOCATED_EVERY - 1]
    with Session(engine) as session:
        meter = Meter(session_backend(session))
        payments = session.execute(
            text("SELECT id, posting_date FROM posting_line WHERE account_id = ANY(:a) AND credit > 0 ORDER BY 2, 1"),
            {"a": sampled},
        ).all()
        for line_id, day in payments:
            allocate(session, line_id, day)
        session.commit()
        by_allocate = meter.figures(accounts=len(sampled), payments=len(payments))
        made = set(
            session.execute(
                text(
                    "SELECT c.item_line_id, c.by_line_id, c.amount, c.cleared_on FROM clearing c"
                    " JOIN posting_line l ON l.id = c.item_line_id WHERE l.account_id = ANY(:a)"
                ),
                {"a": sampled},
            ).all()
        )
        expected = set(session.execute(text(FIFO_SQL), {"accounts": sampled}).all())
        by_allocate |= {"clearings": len(made), "as_insert": made == expected}
        meter = Meter(meter.backend_pid)
        inserted = session.execute(
            text(
                "INSERT INTO clearing (tenant_id, item_line_id, by_line_id, amount, cleared_on, created_at)"
                f" SELECT :tenant, item_line_id, by_line_id, amount, cleared_on, now() FROM ({FIFO_SQL}) fifo"
            ),
            {"tenant": TENANT, "accounts": bulk},
        )
        session.commit()
        by_insert = meter.figures(accounts=len(bulk), clearings=inserted.rowcount)  # type: ignore[attr-defined]
    engine.dispose()
    return [by_allocate, by_insert]


def child_close(url: str) -> Figures:
    """``close_month`` over the tenant's month, with the time spent in SQL, CSV and XLSX."""
    engine = make_engine(url, pool_size=1)
    spent: dict[str, float] = {}
    with Session(engine) as session:
        meter = Meter(session_backend(session))
        for owner, name in ((session, "execute"), (month_close, "_csv"), (month_close, "_workbook")):
            timed(owner, name, spent)
        result = month_close.close_month(session, TENANT, PERIOD)
        session.commit()
        figures = meter.figures(
            sql_seconds=spent["execute"],
            csv_seconds=spent["_csv"],
            xlsx_seconds=spent["_workbook"],
            divisions=[d.model_dump(mode="json") | {"consistent": d.consistent} for d in result.divisions],
            sizes={name: len(session.get_one(Document, id_).content) for name, id_ in result.documents.items()},
        )
    engine.dispose()
    return figures


def run_child(step: str, *args: str) -> Any:
    output = subprocess.run(
        [sys.executable, "-m", "bench.ledger", "--child", step, *args], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    print(f"{step}: {result}", flush=True)
    return result


def measure(url: str, lines: int, accounts: int, batch: int, sample: int) -> dict[str, Any]:
    """Run the steps in order, each in a child process."""
    results = {"accounts": run_child("accounts", url, str(accounts))}
    results["copy"] = run_child("copy", url, str(lines), str(batch))
    execute(
        url, "TRUNCATE clearing, posting_line, posting_document RESTART IDENTITY CASCADE"
    )  # and what refers to them
    results["book"] = run_child("book", url, str(lines), str(batch))
    results["allocate"], results["insert"] = run_child("clear", url, str(sample))
    execute(url, "VACUUM (ANALYZE) ledger_account, posting_document, posting_line, clearing")
    results["close"] = run_child("close", url)
    return results


def row(name: str, volume: str, figures: Figures, rate: str = "-", detail: str = "") -> str:
    server = "-" if figures["server_cpu"] is None else f"{figures['server_cpu']:.1f} s"
    cells = [
        name,
        volume,
        f"{figures['seconds']:.2f} s",
        rate,
        f"{figures['client_cpu']:.1f} s",
        server,
        f"{figures['peak_mb']:.0f} MB (base {figures['baseline_mb']:.0f})",
        detail,
    ]
    return "| " + " | ".join(cells) + " |"


def print_tables(lines: int, results: dict[str, Any]) -> None:
    accounts, copy, book, allocated, inserted, close = (
        results[k] for k in ("accounts", "copy", "book", "allocate", "insert", "close")
    )
    copy_rate, book_rate = lines / copy["seconds"], lines / book["seconds"]
    requests = book["seconds"] - book["post_many_seconds"] - book["commit_seconds"]
    print("\n| step | volume | time | rate | client CPU | server CPU | peak RSS | detail |")
    print("|---|---|---|---|---|---|---|---|")
    print(row("accounts (bulk insert)", f"{accounts['accounts']:,} accounts", accounts))
    volume = f"{copy['documents']:,} documents, {lines:,} lines"
    print(row("bare COPY", volume, copy, f"{copy_rate:,.0f} lines/s"))
    print(
        row(
            "booking (post_many)",
            volume,
            book,
            f"{book_rate:,.0f} lines/s = {book_rate / copy_rate:.0%} of COPY",
            f"requests {requests:.1f} s, post_many {book['post_many_seconds']:.1f} s, "
            f"commit {book['commit_seconds']:.1f} s",
        )
    )
    print(
        row(
            "clearing (allocate)",
            f"{allocated['payments']:,} payments of {allocated['accounts']:,} accounts",
            allocated,
            f"{allocated['payments'] / allocated['seconds']:,.0f} payments/s",
            f"{allocated['clearings']:,} clearings, the same as the INSERT makes: {allocated['as_insert']}",
        )
    )
    print(
        row(
            "clearing (one INSERT, oldest first)",
            f"{inserted['clearings']:,} clearings on {inserted['accounts']:,} accounts",
            inserted,
            f"{inserted['clearings'] / inserted['seconds']:,.0f} clearings/s",
        )
    )
    print(
        row(
            f"month close {PERIOD}",
            f"{accounts['accounts']:,} accounts, {lines:,} lines",
            close,
            detail=f"SQL {close['sql_seconds']:.1f} s, CSV {close['csv_seconds']:.1f} s, "
            f"XLSX {close['xlsx_seconds']:.1f} s",
        )
    )
    print("\n| division | debtor open items | debtor balance | trial balance | accounts with open items | reconciled |")
    print("|---|---|---|---|---|---|")
    for d in close["divisions"]:
        print(
            f"| {d['division']} | {Decimal(d['debtor_open_items']):,} | {Decimal(d['debtor_balance']):,} "
            f"| {Decimal(d['trial_balance']):,} | {d['accounts_with_open_items']:,} | {d['consistent']} |"
        )
    print("\nexports: " + ", ".join(f"{name} {size / 1_000_000:.1f} MB" for name, size in close["sizes"].items()))


def run_step(step: str, url: str, *args: str) -> Any:
    numbers = [int(a) for a in args]
    children: dict[str, Callable[..., Any]] = {
        "accounts": child_accounts,
        "copy": child_copy,
        "book": child_book,
        "clear": child_clear,
        "close": child_close,
    }
    return children[step](url, *numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="posting lines to book (default 1,000,000)")
    parser.add_argument("--accounts", type=int, default=100_000, help="debtor accounts (default 100,000)")
    parser.add_argument("--batch", type=int, default=5_000, help="documents per post_many call (default 5,000)")
    parser.add_argument("--sample", type=int, default=1_000, help="accounts cleared by allocate (default 1,000)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_step(*args.child), default=str))
        return
    if args.lines < 2 or args.accounts < 1:
        parser.error("at least 2 lines and 1 account")
    url = create_database("bpo_bench")
    try:
        results = measure(url, args.lines, args.accounts, args.batch, args.sample)
    finally:
        drop_database(url)
    print_tables(args.lines, results)


if __name__ == "__main__":
    main()
