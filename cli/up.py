"""``bpo up``: database, Temporal with UI, migrations, one worker and the API; Ctrl-C stops them all."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from core import migrate
from core.db import database_url
from core.embedded import port_open, start_temporal_dev_server, stop_embedded_postgres, wait_for_port
from core.settings import Settings

console = Console()


class Services:
    """The child processes started by ``bpo up``, stopped in reverse order."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.on_stop: list[Callable[[], None]] = []

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, env=env, start_new_session=True)
        self.children.append((name, process))
        return process

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                console.print(f"stopping {name} ...")
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        for stop in reversed(self.on_stop):
            stop()

    def watch(self) -> None:
        """Block until Ctrl-C or a child dies."""
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    console.print(f"[red]{name} exited with code {process.returncode}[/red]")
                    return
            time.sleep(0.5)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def bring_up(settings: Settings, after_start: Callable[[], None] | None = None) -> None:
    services = Services()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    env = dict(os.environ)
    try:
        with console.status("starting PostgreSQL ..."):
            url = database_url(settings)
            if settings.embedded_database:
                services.on_stop.append(lambda: stop_embedded_postgres(settings.var_dir))
            env["DATABASE_URL"] = url
        with console.status("applying migrations ..."):
            migrate.upgrade(url)
        if settings.embedded_temporal:
            if port_open("127.0.0.1", settings.temporal_port):
                console.print(f"Temporal already listens on port {settings.temporal_port}; using it")
            else:
                with console.status("starting the Temporal dev server ..."):
                    temporal = start_temporal_dev_server(settings)
                services.children.append(("Temporal", temporal))
            env["TEMPORAL_ADDRESS"] = settings.temporal_target
        services.spawn("worker", [sys.executable, "-m", "cli", "worker"], env)
        services.spawn(
            "API",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                settings.api_host,
                "--port",
                str(settings.api_port),
                "--log-level",
                "warning",
            ],
            env,
        )
        with console.status("waiting for the API ..."):
            wait_for_port(settings.api_host, settings.api_port, timeout=60, process=services.children[-1][1])
        print_endpoints(settings, url)
        if after_start is not None:
            after_start()
        console.print("[bold]Running.[/bold] Ctrl-C stops everything.")
        services.watch()
    except KeyboardInterrupt:
        console.print("\nshutting down ...")
    finally:
        services.stop()
        console.print("stopped")


def print_endpoints(settings: Settings, url: str) -> None:
    table = Table(title="energy-bpo is up", show_header=True)
    table.add_column("service")
    table.add_column("where")
    table.add_row("PostgreSQL", url.split("@", 1)[-1])
    table.add_row("Temporal", settings.temporal_target + f"  (namespace {settings.temporal_namespace})")
    if settings.embedded_temporal:
        table.add_row("Temporal UI", f"http://localhost:{settings.temporal_ui_port}")
    table.add_row("API", f"http://{settings.api_host}:{settings.api_port}  (docs: /docs)")
    table.add_row("worker", f"task queue {settings.task_queue}")
    console.print(table)
    console.print(
        "API key: [bold].venv/bin/bpo key add --tenant demo --role operator[/bold] (tenants: .venv/bin/bpo tenant list)"
    )
