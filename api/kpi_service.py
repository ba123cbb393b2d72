"""KPIs, their CSV and chart, live counts and stored reports, for the API and the console.

Each function takes the app's context and returns plain data (or the CSV / SVG text), so a
console page can call the same ones the JSON routes do.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fastapi import HTTPException, status
from starlette.concurrency import run_in_threadpool

from adapters.reports import source, weekly
from adapters.reports.chart import kpi_chart
from adapters.storage.tables import ReportRow
from api.deps import AppContext, check_day, unprocessable
from domain import kpi
from domain.targets import MET_WHEN

MAX_DAYS = 366  # one request reads at most a year of cases
log = logging.getLogger("aftersales.api")


async def period_of(ctx: AppContext, start: date | None, end: date | None) -> kpi.Period:
    """Local days ``start`` to ``end``, both included; by default the last seven full days
    before today on the context's clock. A day outside 2000-01-01..2100-12-31, a reversed or
    a too long period is the caller's mistake: 422 naming it."""
    zone = ctx.settings.zone
    check_day("from", start)
    check_day("to", end)
    today = (await ctx.clock()).astimezone(zone).date()
    end = end or today - timedelta(days=1)
    start = start or end - timedelta(days=6)
    if end < start:
        raise unprocessable(("query", "to"), f"'to' ({end}) is before 'from' ({start})")
    if (end - start).days + 1 > MAX_DAYS:
        raise unprocessable(("query", "from"), f"a period is at most {MAX_DAYS} days")
    return kpi.Period(
        datetime.combine(start, time(0), tzinfo=zone), datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    )


@dataclass
class KpiReport:
    period: kpi.Period
    by: kpi.GroupBy
    as_of: datetime
    rows: list[kpi.KpiRow]
    problems: list[kpi.ProblemCount]


async def kpi_report(ctx: AppContext, period: kpi.Period, by: kpi.GroupBy) -> KpiReport:
    as_of = await ctx.clock()

    def read() -> list[kpi.CaseRecord]:
        with ctx.db.session() as session:
            return source.case_records(session, period)

    records = await run_in_threadpool(read)
    top = ctx.policy.kpi.weekly_report.top_problems
    return KpiReport(period, by, as_of, kpi.kpi_table(records, period, by, as_of), kpi.top_problems(records, period, top))


def as_json(report: KpiReport, ctx: AppContext) -> dict:
    targets = ctx.policy.kpi.targets
    return {
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
        "by": report.by,
        "as_of": report.as_of.isoformat(),
        "targets": {name: targets.of(name) for name in kpi.ALL if targets.of(name) is not None},
        "met_when": dict(MET_WHEN),  # "≥": at least the target; ">": above it
        "rows": [
            {
                "group": row.group,
                "kpis": {
                    **{n: {"value": row.value(n), "hits": r.hits, "total": r.total, "met": targets.met(n, row.value(n))}
                       for n, r in row.rates.items()},
                    kpi.COMPLAINT_RATE: {"value": row.complaint_rate, "hits": row.complaints, "total": row.jobs},
                },
            }
            for row in report.rows
        ],
        "problems": [p.__dict__ | {"case_nos": list(p.case_nos)} for p in report.problems],
    }


def as_csv(report: KpiReport) -> str:
    """One line per group: each KPI's rate (0–1, empty without observations), hits and total."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", *[f"{n}{suffix}" for n in kpi.ALL for suffix in ("", "_hits", "_total")]])
    for row in report.rows:
        cells = [_csv_text(row.group)]
        for name in kpi.ALL:
            value = row.value(name)
            hits, total = (row.complaints, row.jobs) if name == kpi.COMPLAINT_RATE else (row.rates[name].hits, row.rates[name].total)
            cells += ["" if value is None else f"{value:.4f}", hits, total]
        writer.writerow(cells)
    return out.getvalue()


def _csv_text(text: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def as_svg(report: KpiReport, ctx: AppContext) -> str:
    locale = ctx.policy.notify.staff_locale
    zone = ctx.settings.zone
    last = (report.period.end - timedelta(seconds=1)).astimezone(zone)
    title = f"KPI {report.period.start.astimezone(zone):%Y-%m-%d} – {last:%Y-%m-%d} · {report.by}"
    return kpi_chart(report.rows, ctx.policy.kpi.targets, locale, title)


async def live_counts(ctx: AppContext) -> list[dict]:
    """Each live count from the case file, next to the same question asked of Temporal's
    search attributes (None when Temporal cannot answer within 3 s)."""

    def read() -> dict[str, int]:
        with ctx.db.session() as session:
            return source.live_counts(session)

    counts = await run_in_threadpool(read)
    temporal: dict[str, int | None] = {c.name: None for c in source.LIVE_COUNTS}
    try:
        client = await ctx.temporal.client()
        for c in source.LIVE_COUNTS:
            answer = await asyncio.wait_for(client.count_workflows(c.temporal_query), timeout=3)
            temporal[c.name] = answer.count
    except Exception as exc:  # the case file's numbers stand on their own
        log.warning("live counts: Temporal did not answer (%s)", type(exc).__name__)
    return [
        {"name": c.name, "label": c.label, "case_file": counts[c.name], "temporal": temporal[c.name],
         "temporal_query": c.temporal_query}
        for c in source.LIVE_COUNTS
    ]


async def reports(ctx: AppContext, *, page: int, page_size: int) -> list[dict]:
    def read() -> list[dict]:
        with ctx.db.session() as session:
            return [_meta(row) for row in weekly.listing(session, limit=page_size, offset=(page - 1) * page_size)]

    return await run_in_threadpool(read)


async def report(ctx: AppContext, report_id: int) -> ReportRow:
    def read() -> ReportRow | None:
        with ctx.db.session() as session:
            return session.get(ReportRow, report_id)

    row = await run_in_threadpool(read)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report {report_id}")
    return row


def _meta(row: ReportRow) -> dict:
    return {
        "id": row.id, "key": row.key, "kind": row.kind, "title": row.title, "period_start": row.period_start.isoformat(),
        "period_end": row.period_end.isoformat(), "created_at": row.created_at.isoformat(),
    }


def report_json(row: ReportRow) -> dict:
    return _meta(row) | {"report": row.document}
