"""``bpo status``: is everything reachable, is the schema current, are workers polling?"""

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from core import migrate
from core.db import make_engine
from core.settings import Settings


def _database_url(settings: Settings) -> str | None:
    if settings.database_url:
        from core.db import database_url

        return database_url(settings)
    if not (settings.var_dir / "pg" / "postmaster.pid").exists():
        return None
    from core.embedded import embedded_postgres_url

    return embedded_postgres_url(settings.var_dir)


def _check_database(settings: Settings) -> list[tuple[str, bool, str]]:
    url = _database_url(settings)
    if url is None:
        return [("PostgreSQL", False, "embedded server not running (start it with: make up)")]
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        current, head = migrate.current_revision(engine), migrate.head_revision()
        return [
            ("PostgreSQL", True, url.split("@", 1)[-1]),
            ("migrations", current == head, f"at {current}, head {head}"),
        ]
    except Exception as error:
        return [("PostgreSQL", False, str(error).splitlines()[0])]
    finally:
        engine.dispose()


async def _check_temporal(settings: Settings) -> list[tuple[str, bool, str]]:
    from core.temporal import connect

    try:
        client = await connect(settings)
    except RuntimeError as error:
        reason = "connection refused" if "refused" in str(error).lower() else str(error).splitlines()[0][:120]
        return [("Temporal", False, f"{settings.temporal_target}: {reason}")]
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    pollers = len(response.pollers)
    return [
        ("Temporal", True, f"{settings.temporal_target} namespace {settings.temporal_namespace}"),
        ("workers", pollers > 0, f"{pollers} polling task queue {settings.task_queue}"),
    ]


def _check_api(settings: Settings) -> tuple[str, bool, str]:
    url = f"http://{settings.api_host}:{settings.api_port}/v1/health"
    try:
        ok = httpx.get(url, timeout=3).status_code == 200
        return ("API", ok, url)
    except httpx.HTTPError as error:
        return ("API", False, f"{url}: {error}")


async def report(settings: Settings) -> bool:
    checks = [*_check_database(settings), *(await _check_temporal(settings)), _check_api(settings)]
    table = Table(title="energy-bpo status")
    for column in ("check", "ok", "detail"):
        table.add_column(column)
    for name, ok, detail in checks:
        table.add_row(name, "[green]yes[/green]" if ok else "[red]no[/red]", detail)
    Console().print(table)
    return all(ok for _, ok, _ in checks)
