"""The FastAPI app: ``uvicorn --factory api.app:create_app``. Docs at /docs, the API under /api/v1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from temporalio.client import Client

from adapters.storage.db import Database
from api import console, repair
from api.deps import AppContext, TemporalGateway
from api.schemas import ERRORS
from api.middleware import install as install_middleware
from api.routers import cases, field_team, health, notifications, technicians
from api.routers import kpis
from api.routers import projects
from domain.calendar import WorkingCalendar
from domain.policy import load_policy
from settings import Settings, get_settings

log = logging.getLogger("aftersales.api")


def build_context(settings: Settings, client: Client | None = None) -> AppContext:
    policy = load_policy(settings.policy)  # a bad policy stops the start, naming the key
    return AppContext(
        settings=settings,
        db=Database(settings.database_url),
        policy=policy,
        # For reading working days in the API; each case carries its own calendar.
        calendar=WorkingCalendar.for_zone(
            policy.working_time, settings.zone, datetime.now(UTC), years=3, years_before=1
        ),
        temporal=TemporalGateway(settings, client),
        tokens=settings.tokens(),
    )


async def _repair_loop(ctx: AppContext) -> None:
    while True:
        try:
            if (report := await repair.repair_once(ctx)) is not None:
                ctx.repair = report
        except Exception as exc:  # keep trying; Temporal or the database may be back next time
            log.warning("repair pass failed: %s", type(exc).__name__)
        await asyncio.sleep(repair.EVERY_SECONDS)


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    ctx = build_context(settings or get_settings(), client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resumer = asyncio.create_task(_repair_loop(ctx))
        yield
        resumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resumer
        ctx.db.dispose()

    app = FastAPI(
        title="aftersales",
        summary="The after-sales service desk: cases, their SLA clocks and escalations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.ctx = ctx

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # A lost database is the system's fault, not the caller's, and nothing was written:
        # every write runs in one transaction.
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        return JSONResponse({"detail": "the case file is unavailable; nothing was recorded, retry later"}, status_code=503)

    app.include_router(cases.router, prefix="/api/v1", responses=ERRORS)
    app.include_router(notifications.router, prefix="/api/v1", responses=ERRORS)
    app.include_router(technicians.router, prefix="/api/v1", responses=ERRORS)
    app.include_router(field_team.router, prefix="/api/v1", responses=ERRORS)
    app.include_router(kpis.router, prefix="/api/v1", responses=ERRORS)
    app.include_router(projects.router, prefix="/api/v1", responses=ERRORS)
    app.include_router(health.router, prefix="/api/v1")
    console.install(app)  # the web console under /console, on the same services
    install_middleware(app, ctx.settings)  # body limit, security headers, SQL errors without their text
    return app

