"""/api/v1: KPIs (JSON, CSV, SVG chart), live counts, and the stored weekly reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api import kpi_service
from api.deps import Context, Page, PathNumber, SupervisorRole
from domain.kpi import GroupBy

router = APIRouter(tags=["kpis and reports"])

From = Annotated[date | None, Query(alias="from", description="first local day (default: 7 days before yesterday)")]
To = Annotated[date | None, Query(alias="to", description="last local day, included (default: yesterday)")]
By = Annotated[GroupBy, Query(description="company, agent (the case's owner) or technician")]


async def _report(ctx, start, end, by) -> kpi_service.KpiReport:
    return await kpi_service.kpi_report(ctx, await kpi_service.period_of(ctx, start, end), by)


@router.get("/kpis")
async def kpis(ctx: Context, role: SupervisorRole, start: From = None, end: To = None, by: By = "company") -> JSONResponse:
    """Every KPI for the period with its hits and observations, per the company, agent or
    technician, and the most frequent problems; the formulas are in ``domain/kpi.py``."""
    return JSONResponse(kpi_service.as_json(await _report(ctx, start, end, by), ctx))


@router.get("/kpis.csv", response_class=Response)
async def kpis_csv(ctx: Context, role: SupervisorRole, start: From = None, end: To = None, by: By = "company") -> Response:
    report = await _report(ctx, start, end, by)
    name = f"kpis-{report.by}-{start or report.period.start.date()}.csv"
    return Response(
        kpi_service.as_csv(report), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/kpis.svg", response_class=Response)
async def kpis_svg(ctx: Context, role: SupervisorRole, start: From = None, end: To = None, by: By = "company") -> Response:
    """The KPI rates as bars with the policy's targets as dashed lines (hand-written SVG)."""
    return Response(kpi_service.as_svg(await _report(ctx, start, end, by), ctx), media_type="image/svg+xml")


@router.get("/live-counts")
async def live_counts(ctx: Context, role: SupervisorRole) -> list[dict]:
    """Open work at a glance, from the case file, next to Temporal's answer to the same
    question (the ready-made Temporal UI queries of the README)."""
    return await kpi_service.live_counts(ctx)


@router.get("/reports")
async def reports(
    ctx: Context,
    role: SupervisorRole,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict]:
    """Every weekly report sent, newest week first."""
    return await kpi_service.reports(ctx, page=page, page_size=page_size)


@router.get("/reports/{report_id}.html", response_class=HTMLResponse)
async def report_html(report_id: PathNumber, ctx: Context, role: SupervisorRole) -> HTMLResponse:
    return HTMLResponse((await kpi_service.report(ctx, report_id)).html)


@router.get("/reports/{report_id}")
async def report(report_id: PathNumber, ctx: Context, role: SupervisorRole) -> dict:
    return kpi_service.report_json(await kpi_service.report(ctx, report_id))
