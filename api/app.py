"""The HTTP API: clients trigger processes, clerks decide tasks, the market inbox accepts interchanges."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine
from temporalio.client import Client

from api.routes import (
    accounts,
    bills,
    contacts,
    contracts,
    customers,
    grid_invoices,
    market_messages,
    payments,
    service_levels,
    tariffs,
    tasks,
)
from core.settings import Settings, get_settings


def create_app(settings: Settings | None = None, engine: Engine | None = None, client: Client | None = None) -> FastAPI:
    """Build the app; engine and Temporal client are created in the lifespan unless given (tests)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from core.db import database_url, make_engine
        from core.temporal import connect

        app.state.settings = settings
        app.state.engine = engine or make_engine(database_url(settings))
        app.state.temporal = client or await connect(settings)
        yield
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(
        title="energy-bpo",
        version="0.1.0",
        description="Process engine for the back office of German electricity and gas suppliers.",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        with structlog.contextvars.bound_contextvars(request_id=rid, path=request.url.path):
            response = await call_next(request)
        response.headers["x-request-id"] = rid
        return response

    @app.get("/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(contracts.router)
    app.include_router(tasks.router)
    app.include_router(market_messages.router)
    app.include_router(accounts.router)
    app.include_router(bills.router)
    app.include_router(payments.router)
    app.include_router(contacts.router)
    app.include_router(customers.router)
    app.include_router(service_levels.router)
    app.include_router(grid_invoices.router)
    app.include_router(tariffs.router)
    return app
