"""What the benchmarks share: database set-up and tear-down, timing, memory, batching."""

import resource
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import make_url

from core import migrate
from core.db import database_url

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def create_database(prefix: str) -> str:
    """A fresh database with the schema, named ``{prefix}_{random}``; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    execute(database_url(), f'CREATE DATABASE "{name}"')
    url = make_url(database_url()).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    execute(server, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def execute(url: str, statement: str) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(owner: Any, name: str, spent: dict[str, float]) -> None:
    """Replace ``owner.name`` by a wrapper that adds its running time to ``spent[name]``."""
    function: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)
