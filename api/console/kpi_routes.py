"""The managers' pages: KPIs (table, chart, CSV), live counts and the weekly reports, from
``api.kpi_service``, the same functions the API's routes call. Supervisors, managers, admins.

The period is in the query string (dates and a grouping: no personal data), so a KPI page
can be bookmarked and shared.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api import kpi_service
from api.console.errors import allow, call
from api.console.i18n import Translator
from api.console.pages import render
from api.console.session import Session, require
from api.deps import SUPERVISORS, get_context
from domain import kpi

router = APIRouter(prefix="/console", include_in_schema=False)
Signed = Annotated[Session, Depends(require)]
GROUPINGS = ("company", "agent", "technician")


def _period(request: Request) -> tuple[date | None, date | None, str, str | None]:
    """``from``, ``to`` and ``by`` from the query; a malformed date is reported, not a 500."""
    q = request.query_params
    by = q.get("by") if q.get("by") in GROUPINGS else "company"
    try:
        start = date.fromisoformat(q["from"]) if q.get("from") else None
        end = date.fromisoformat(q["to"]) if q.get("to") else None
    except ValueError:
        return None, None, by, "error.date"
    return start, end, by, None


async def _report(request: Request, s: Session):
    ctx = get_context(request)
    start, end, by, problem = _period(request)
    if problem:
        return None, start, end, by, Translator(s.locale)(problem)
    try:
        period = await kpi_service.period_of(ctx, start, end)
    except HTTPException as exc:
        return None, start, end, by, str(exc.detail)
    return await kpi_service.kpi_report(ctx, period, by), start, end, by, None


@router.get("/kpis")
async def kpis(request: Request, s: Signed) -> Response:
    allow(s, SUPERVISORS)
    ctx = get_context(request)
    report, start, end, by, problem = await _report(request, s)
    counts = await kpi_service.live_counts(ctx)
    data = kpi_service.as_json(report, ctx) if report else None
    query = request.url.query
    return render(request, "kpis.html", s, status_code=422 if problem else 200, data=data, problem=problem,
                  start=start, end=end, by=by, groupings=GROUPINGS, names=kpi.ALL, counts=counts,
                  kpi_labels=kpi.LABELS.get(s.locale, kpi.LABELS["en"]),  # the report's own words for them
                  query=f"?{query}" if query else "")


@router.get("/kpis.svg")
async def kpis_svg(request: Request, s: Signed) -> Response:
    allow(s, SUPERVISORS)
    report, *_, problem = await _report(request, s)
    if report is None:
        return Response(problem, status_code=422, media_type="text/plain; charset=utf-8")
    return Response(kpi_service.as_svg(report, get_context(request)), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


@router.get("/kpis.csv")
async def kpis_csv(request: Request, s: Signed) -> Response:
    allow(s, SUPERVISORS)
    report, start, *_, problem = await _report(request, s)
    if report is None:
        return Response(problem, status_code=422, media_type="text/plain; charset=utf-8")
    name = f"kpis-{report.by}-{start or report.period.start.date()}.csv"
    return Response(kpi_service.as_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/reports")
async def reports(request: Request, s: Signed) -> Response:
    allow(s, SUPERVISORS)
    listing = await kpi_service.reports(get_context(request), page=1, page_size=100)
    return render(request, "reports.html", s, reports=listing)


@router.get("/reports/{report_id}")
async def report(report_id: int, request: Request, s: Signed) -> Response:
    """The report as the managers received it: the page stored when it was compiled."""
    allow(s, SUPERVISORS)
    row = await call(s, kpi_service.report(get_context(request), report_id))
    return HTMLResponse(row.html, headers={"Cache-Control": "no-store"})
