"""Database engine and sessions (PostgreSQL only)."""

from functools import lru_cache

from sqlalchemy import Engine
from sqlmodel import create_engine

from core.embedded import embedded_postgres_url
from core.settings import Settings, get_settings


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return embedded_postgres_url(settings.var_dir)


def make_engine(url: str, pool_size: int = 10) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    return make_engine(database_url())
