"""/api/v1/healthz: is the database there, is Temporal there, what the repair pass could not repair."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.deps import Context

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "the database or Temporal does not answer (named)"}})
async def healthz(ctx: Context) -> JSONResponse:
    checks: dict[str, str] = {}

    def ping_db() -> None:
        with ctx.db.session() as session:
            session.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping_db)
        checks["database"] = "ok"
    except Exception as exc:  # any failure is an answer here, not an error
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        client = await ctx.temporal.client()
        await asyncio.wait_for(client.service_client.check_health(), timeout=5)
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"unreachable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body: dict = {"status": "ok" if healthy else "degraded", **checks}
    if ctx.repair is not None and ctx.repair.failed:
        # What this replica's last repair pass could not start (api.repair): someone must look.
        body["unrepaired"] = ctx.repair.failed
    return JSONResponse(body, status_code=200 if healthy else 503)
